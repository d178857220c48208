"""The operator scan: a purpose-made malicious file per denied entry is refused, by validate and
by export, unless allowed by name; ``neutone inspect`` shows the summary."""

import json
from collections.abc import Callable
from pathlib import Path
from typing import Dict, Tuple

import pytest
import torch
import torch.distributed.rpc as rpc
from click.testing import CliRunner
from torch import Tensor, nn

from neutone_core.scripting import torchscript_quietly
from neutone_core.testing import PassThroughWrapper
from neutone_core.tools.cli import cli
from neutone_core.tools.validate import ValidationOptions, operators, read_model_file, validate
from neutone_core.tools.validate.model_file import SETSTATE

from . import validate_models


@torch.jit.script
def remote_add(x: Tensor) -> Tensor:
    return x + 1


class MapsAFile(nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        return x + torch.from_file("/etc/hostname", True, 1, dtype=torch.uint8).float()


class SavesAFile(nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        torch.save(x, "/tmp/stolen.pt")
        return x


class LoadsAStoredTensor(nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        return x + torch.ops.debugprims.load_tensor("t", [1], [1], dtype=torch.float32, device=torch.device("cpu"))


class CallsAsync(nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        rpc.rpc_async("collector", remote_add, (x,))
        return x


class CallsSync(nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        rpc.rpc_sync("collector", remote_add, (x,))
        return x


class CallsRemote(nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        rpc.remote("collector", remote_add, (x,))
        return x


class SendsToAProcessGroup(nn.Module):
    def forward(self, x: Tensor, group: torch.classes.c10d.ProcessGroup) -> Tensor:
        torch.ops.c10d.send([x], group, 1, 0).wait()
        return x


class Broadcasts(nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        return torch.ops._c10d_functional.broadcast(x, 0, "world")


class GathersWithAutograd(nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        return torch.ops._c10d_functional_autograd.all_gather_into_tensor(x, 2, "world")


class ExchangesShards(nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        return torch.ops._dtensor.shard_dim_alltoall(x, 0, 1, "world")


class PutsIntoSharedMemory(nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        torch.ops.symm_mem.nvshmem_put(x, 1)
        return x


@torch.jit.interface
class Source:
    def read(self) -> Tensor:
        pass


@torch.jit.script
class FileSource:
    def __init__(self) -> None:
        self.path = "/etc/hostname"

    def read(self) -> Tensor:
        return torch.from_file(self.path, False, 1, dtype=torch.uint8).float()


def read_any(source: Source) -> Tensor:
    return source.read()


class ReadsThroughAClassInterface(nn.Module):
    """Maps a file inside a script class's method it calls through an interface, which no scan
    of the file's graphs reaches."""

    def __init__(self) -> None:
        super().__init__()
        self.source = FileSource()

    def forward(self, x: Tensor) -> Tensor:
        return x + read_any(self.source)


class ReadsAFileWhileLoading(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.peek = torch.zeros(1)

    def forward(self, x: Tensor) -> Tensor:
        return x

    @torch.jit.export
    def __getstate__(self) -> Tuple[Tensor, bool]:
        return (self.peek, self.training)

    @torch.jit.export
    def __setstate__(self, state: Tuple[Tensor, bool]) -> None:
        self.peek = torch.from_file("/etc/hostname", False, 1, dtype=torch.uint8).float()
        self.training = state[1]


MALICIOUS: Dict[str, Callable[[], nn.Module]] = {
    "aten::from_file": MapsAFile,
    "aten::save": SavesAFile,
    "debugprims::load_tensor": LoadsAStoredTensor,
    "prim::rpc_async": CallsAsync,
    "prim::rpc_sync": CallsSync,
    "prim::rpc_remote": CallsRemote,
    "c10d::*": SendsToAProcessGroup,
    "_c10d_functional::*": Broadcasts,
    "_c10d_functional_autograd::*": GathersWithAutograd,
    "_dtensor::*": ExchangesShards,
    "symm_mem::*": PutsIntoSharedMemory,
    SETSTATE: ReadsAFileWhileLoading,
    operators.CLASS_INTERFACE_CALL: ReadsThroughAClassInterface,
}
"""One purpose-made file per entry of the denylist."""


def write(module: nn.Module, path: Path) -> Path:
    with torchscript_quietly():
        torch.jit.save(torch.jit.script(module), str(path))
    return path


def test_every_denied_entry_has_a_malicious_file() -> None:
    assert set(MALICIOUS) == set(operators.DENIED)


@pytest.mark.parametrize("entry", sorted(MALICIOUS))
def test_a_file_calling_a_denied_operator_fails_and_is_not_run(entry: str, tmp_path: Path) -> None:
    path = write(MALICIOUS[entry](), tmp_path / "model.nm")
    report = validate(path, strictness=1)
    result = report["operators"]
    assert result.status == "fail"
    denied = result.details["denied"]
    assert len(denied) == 1
    (operator, reason), = denied.items()
    assert operator == entry or (entry.endswith("::*") and operator.startswith(entry[:-1])), operator
    assert reason == operators.DENIED[entry]
    assert f"the file calls 1 denied operator: {operator} ({reason})" in result.summary
    assert all(r.status == "skip" for r in report.results if r.name != "operators"), "a refused file is not run"


def test_a_file_defining_setstate_is_not_even_loaded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(ReadsAFileWhileLoading(), tmp_path / "model.nm")
    loads: list[str] = []
    monkeypatch.setattr(torch.jit, "load", lambda *args, **kwargs: loads.append(str(args[0])))
    model = read_model_file(path)
    assert model.pristine is None and loads == []
    scripted_name = f"__torch__.{ReadsAFileWhileLoading.__module__}.ReadsAFileWhileLoading"
    assert model.setstate_classes == [scripted_name]
    assert model.load_problem.startswith(f"its code defines __setstate__ ({scripted_name}), which torch.jit.load runs")
    result = operators.check(model, ValidationOptions(strictness=1))
    assert result.status == "fail" and f"in {scripted_name}" in result.summary
    read_model_file(path, allow_setstate=True)
    assert loads == [str(path)], "allowed by name, the file is loaded"


def test_an_operator_of_another_library_is_refused(tmp_path: Path) -> None:
    library = torch.library.Library("neutone_test_peek", "DEF")
    library.define("peek(Tensor x) -> Tensor")
    library.impl("peek", lambda x: x, "CompositeExplicitAutograd")

    class CallsACustomOperator(nn.Module):
        def forward(self, x: Tensor) -> Tensor:
            return torch.ops.neutone_test_peek.peek(x)

    model = read_model_file(write(CallsACustomOperator(), tmp_path / "model.nm"))
    result = operators.check(model, ValidationOptions(strictness=1))
    assert result.status == "fail"
    assert result.details["denied"] == {"neutone_test_peek::peek": operators.denial("neutone_test_peek::peek")}
    assert "LibTorch does not ship" in result.summary


def test_an_allowed_operator_passes_and_is_named(tmp_path: Path) -> None:
    model = read_model_file(write(MapsAFile(), tmp_path / "model.nm"))
    result = operators.check(model, ValidationOptions(strictness=1, allowed_operators=frozenset({"aten::from_file"})))
    assert result.status == "pass" and result.summary.endswith("; allowed by name: aten::from_file")
    assert result.details["operators"]["aten::from_file"] == 1


def test_the_scan_reaches_functions_class_methods_and_every_submodule(tmp_path: Path) -> None:
    @torch.jit.script
    class Reader:
        def __init__(self, path: str) -> None:
            self.path = path

        def read(self) -> Tensor:
            return torch.from_file(self.path, False, 1, dtype=torch.uint8).float()

    def helper(path: str) -> Tensor:
        return Reader(path).read()

    class Inner(nn.Module):
        def forward(self, x: Tensor) -> Tensor:
            return x

        @torch.jit.export
        def rarely_called(self, x: Tensor) -> Tensor:
            return x + helper("/etc/hostname")

    class Outer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = Inner()

        def forward(self, x: Tensor) -> Tensor:
            return self.inner(x)

    counts = operators.operator_counts(read_model_file(write(Outer(), tmp_path / "model.nm")).pristine)
    assert counts["aten::from_file"] == 1


READER_SOURCE = """
from typing import Dict
import torch
from torch import Tensor
from neutone_core.testing import PassThroughWrapper


class ReadsAFileEachBlock(PassThroughWrapper):
    def do_forward_pass(self, x: Tensor, params: Dict[str, Tensor]) -> Tensor:
        return x + 0.0 * torch.from_file("ZEROS", False, 1, dtype=torch.float32)
"""
"""A wrapper mapping a file (4 zero bytes) into a tensor on every block."""


def test_export_refuses_to_write_such_a_file_unless_allowed_by_name(tmp_path: Path) -> None:
    zeros = tmp_path / "zeros.bin"
    zeros.write_bytes(bytes(4))
    source = tmp_path / "reader.py"
    source.write_text(READER_SOURCE.replace("ZEROS", str(zeros)))
    quick = sum((["--skip-check", name] for name in validate_models.NO_EXPORT_CHECKS - {"operators"}), [])
    args = ["compose", f"{source}:ReadsAFileEachBlock", "-o", str(tmp_path / "out"), *quick]
    refused = CliRunner().invoke(cli, args)
    assert refused.exit_code == 1
    assert "export check 'operators' failed: the file calls 1 denied operator: aten::from_file (maps a file" in refused.output
    assert not (tmp_path / "out" / "model.nm").exists()
    allowed = CliRunner().invoke(cli, [*args, "--allow-operator", "aten::from_file"])
    assert allowed.exit_code == 0, allowed.output
    assert "; allowed by name: aten::from_file" in allowed.output and (tmp_path / "out" / "model.nm").is_file()


def test_inspect_shows_the_operator_summary(tmp_path: Path) -> None:
    path = validate_models.export(PassThroughWrapper(), tmp_path)
    shown = CliRunner().invoke(cli, ["inspect", str(path)])
    assert shown.exit_code == 0, shown.output
    line = next(line for line in shown.output.splitlines() if line.startswith("operators: "))
    assert line.endswith("none touching files, processes or the network") and "distinct operators (aten " in line
    report = json.loads(CliRunner().invoke(cli, ["inspect", str(path), "--json"]).output)
    assert report["operators"]["denied"] == {} and report["operators"]["counts"]["aten::nan_to_num"] >= 1
