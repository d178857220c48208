import importlib.util
import sys
import warnings
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from neutone_core import ExportCheckError, FamilyError, ScriptingError, StreamNeeds, load_neutone_model, save_neutone_model
from neutone_core.plugins import get_registry
from neutone_core.stage import host_stream
from neutone_core.testing import PassThroughWrapper, check_adapter, check_family
from neutone_core.tools.cli import cli
from neutone_core.tools.host import stream
from neutone_core.tools.sources import build_wrapper, import_file

MODELS = import_file(Path(__file__).with_name("torchscript_models.py"))
Half, Explodes = MODELS.Half, MODELS.Explodes


def saved(module: torch.nn.Module, path: Path) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.save(torch.jit.script(module), str(path))
    return str(path)


def test_family_wraps_a_torchscript_file_with_its_options(tmp_path: Path) -> None:
    source = saved(Half(), tmp_path / "half.pt")
    options = {"mono": "true", "model_name": "half", "sample_rate": "48000"}
    checked = check_family("torchscript", source, tmp_path / "out", options)
    metadata = checked.export.metadata
    assert (metadata["model_name"], metadata["model_type"], metadata["native_sample_rates"]) == ("half", "mono-mono", [48000])
    native, resampled = checked.hosts
    expected = native.audio.mean(0, keepdim=True).expand_as(native.audio) * 0.5
    torch.testing.assert_close(native.output, expected)
    assert native.measured_delay == native.reported_delay == 0
    assert resampled.measured_delay == resampled.reported_delay > 0


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"mono": "maybe"}, "option mono='maybe' must be true or false"),
        ({"buffer_size": "0"}, "option buffer_size='0' must be >= 1"),
    ],
)
def test_family_refuses_bad_options(tmp_path: Path, options: dict[str, str], message: str) -> None:
    source = saved(Half(), tmp_path / "half.pt")
    with pytest.raises(FamilyError, match=message):
        build_wrapper(get_registry(), source, "torchscript", options)


def test_family_refuses_a_file_that_is_not_torchscript(tmp_path: Path) -> None:
    (tmp_path / "x.pt").write_text("hello")
    with pytest.raises(FamilyError, match="cannot build from .*x.pt.*: the file is not TorchScript"):
        build_wrapper(get_registry(), str(tmp_path / "x.pt"), "torchscript")


def test_left_channel_adapter_feeds_the_left_channel_and_duplicates(tmp_path: Path) -> None:
    wrapper = PassThroughWrapper(input_mono=True, output_mono=True)
    result = save_neutone_model(wrapper, tmp_path, adapters={"channels": "left-channel"}, skip_checks={"sample_sounds"})
    module, _ = load_neutone_model(result.model_path)
    audio = torch.stack([torch.linspace(-1, 1, 1000), torch.ones(1000)])
    out = stream(module, audio, 44100, 100)
    assert torch.equal(out, audio[:1].expand(2, 1000))
    assert module.get_stage_names() == ["left-channel", "model"]


def test_left_channel_adapter_meets_the_stage_contract() -> None:
    def left(audio: torch.Tensor) -> torch.Tensor:
        return audio[:1].expand(audio.size(0), -1)

    reports = check_adapter(
        get_registry().adapters["left-channel"],
        StreamNeeds(1, 1),
        [host_stream(48000, 512, 2, 0, 0), host_stream(44100, 64, 1, 0, 0)],
        block_sequences=[[1, 64, 13]],
        reference=left,
        tolerance=0.0,
    )
    assert [r.delay_samples for r in reports] == [0, 0]


def test_finite_output_check_stops_a_model_that_returns_infinities(tmp_path: Path) -> None:
    wrapper = build_wrapper(get_registry(), saved(Explodes(), tmp_path / "boom.pt"), "torchscript")
    with pytest.raises(ExportCheckError, match="non-finite samples for silence"):
        save_neutone_model(wrapper, tmp_path / "out", skip_checks={"sample_sounds"})
    assert not (tmp_path / "out" / "model.nm").exists()


def test_a_file_scripted_from_a_module_named_with_dashes_is_refused_naming_it(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("my-models.half", Path(__file__).with_name("torchscript_models.py"))
    assert spec is not None and spec.loader is not None
    dashed = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = dashed
    try:
        spec.loader.exec_module(dashed)
        wrapper = build_wrapper(get_registry(), saved(dashed.Half(), tmp_path / "half.pt"), "torchscript")
    finally:
        del sys.modules[spec.name]
    with pytest.raises(ScriptingError, match=r"Half \(module 'my-models.half'\) would be saved under a module name that is not"):
        save_neutone_model(wrapper, tmp_path / "out", skip_checks={"sample_sounds"})
    assert not (tmp_path / "out" / "model.nm").exists()


def test_torchscript_info_command(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["torchscript-info", saved(Half(), tmp_path / "half.pt")])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[1].strip().endswith("Half self, Tensor x) -> Tensor")
