"""Purpose-built bad model files for the ``neutone validate`` tests: each breaks one rule.

Wrappers export through neutone (every other rule kept); a root that shortens its blocks and a
bare module missing host methods are scripted directly, with the metadata of a good export.
"""

import math
from pathlib import Path
from typing import Any, Dict, List, Optional

import torch
from torch import Tensor, nn

from neutone_core import compose, save_neutone_model
from neutone_core.export import archive_bytes
from neutone_core.model_metadata import ModelMetadata
from neutone_core.root import NeutoneRoot
from neutone_core.scripting import script_module
from neutone_core.testing import PassThroughWrapper
from neutone_core.tools.checks import CHECK_MODULES

NO_EXPORT_CHECKS = {check.NAME for check in CHECK_MODULES} | {"finite_output"}


def export(wrapper: object, folder: Path) -> Path:
    """Export without checks (they would refuse the bad models): the file's path."""
    return save_neutone_model(wrapper, folder, skip_checks=NO_EXPORT_CHECKS).model_path


def write_root(root: nn.Module, metadata: dict, path: Path) -> Path:
    """Script ``root`` and write it with ``metadata`` as its ``metadata.json``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(archive_bytes(script_module(root, type(root).__name__), metadata))
    return path


class NanOnLoudInput(PassThroughWrapper):
    """Returns NaN wherever the input is louder than 0.95 (a model blowing up on loud input)."""

    def do_forward_pass(self, x: Tensor, params: Dict[str, Tensor]) -> Tensor:
        return torch.where(x.abs() > 0.95, torch.full_like(x, math.nan), x)


class UnreportedDelay(PassThroughWrapper):
    """Delays its input by 64 samples and reports no delay."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("memory", torch.zeros(2, 64))

    def reset_model(self) -> bool:
        self.memory.zero_()
        return True

    def do_forward_pass(self, x: Tensor, params: Dict[str, Tensor]) -> Tensor:
        joined = torch.cat([self.memory, x], dim=1)
        self.memory.copy_(joined[:, joined.size(1) - 64 :])
        return joined[:, : x.size(1)]


class KeepsStateOverReset(UnreportedDelay):
    """The same delay, reported, but ``reset_model`` forgets to clear the memory."""

    def calc_model_delay_samples(self) -> int:
        return 64

    def reset_model(self) -> bool:
        return True


class AllocatesPerCall(PassThroughWrapper):
    """Scales its input by 0.5 into a new tensor every call."""

    def do_forward_pass(self, x: Tensor, params: Dict[str, Tensor]) -> Tensor:
        return x * 0.5


class RaisesOnOddBlocks(PassThroughWrapper):
    """Raises on a block of odd length (a model written for even sizes only)."""

    def do_forward_pass(self, x: Tensor, params: Dict[str, Tensor]) -> Tensor:
        if x.size(1) % 2 == 1:
            raise ValueError("odd block lengths are not supported")
        return x


class DependsOnItsAddress(PassThroughWrapper):
    """Scales its output by a number taken from where it lives in memory (as uninitialised memory would)."""

    def do_forward_pass(self, x: Tensor, params: Dict[str, Tensor]) -> Tensor:
        return x * (1.0 + float(id(self) % 1000003) * 1e-9)


class PoisonedByHugeInput(PassThroughWrapper):
    """Follows the input's power in a state that turns infinite on 1e30 input and stays so: NaN forever."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("power", torch.zeros(1))

    def reset_model(self) -> bool:
        self.power.zero_()
        return True

    def do_forward_pass(self, x: Tensor, params: Dict[str, Tensor]) -> Tensor:
        self.power.mul_(0.5).add_((x * x).mean())
        return x * (1.0 - self.power / (self.power + 1.0))


class DividesByItsKnob(PassThroughWrapper):
    """Divides by its knob: infinite output with the knob at 0."""

    def do_forward_pass(self, x: Tensor, params: Dict[str, Tensor]) -> Tensor:
        return x * 0.1 / params["p0"]


class BreaksAfterManyCalls(PassThroughWrapper):
    """Counts its calls over its whole life (no reset clears the count) and returns NaN from the
    80th on: a failure only a long stream on one load reaches."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def do_forward_pass(self, x: Tensor, params: Dict[str, Tensor]) -> Tensor:
        self.calls += 1
        if self.calls >= 80:
            return x * math.nan
        return x


class CrashesOnLoudInput(PassThroughWrapper):
    """Writes far outside its memory when the input is louder than 0.9 (a sparse tensor built
    without index checks, made dense): the process running it dies from SIGSEGV."""

    def do_forward_pass(self, x: Tensor, params: Dict[str, Tensor]) -> Tensor:
        if x.numel() > 0 and bool(x.abs().max() > 0.9):
            index = torch.full([1, 1], 10**12, dtype=torch.long)
            return x + torch.sparse_coo_tensor(index, x[0, :1], [1]).to_dense().sum()
        return x


class ShortensEveryBlock(NeutoneRoot):
    """A root returning one sample fewer than it was given."""

    def forward(self, x: Tensor, params: Optional[Tensor] = None) -> Tensor:
        if x.size(1) > self.ready_block_size:
            out = self.host.forward_long(x, params)
        else:
            out = self.host.forward(x, params)
        return out.narrow(1, 0, max(out.size(1) - 1, 0))


def shortening_root(path: Path) -> Path:
    """A pass-through whose root shortens every block by one sample."""
    composed = compose(PassThroughWrapper())
    graph = composed.graph
    root = ShortensEveryBlock(graph.host, composed.metadata, composed.wrapper.neutone_default_knobs(), graph.stage_names)
    return write_root(root, composed.metadata, path)


class WithoutBufferedCalls(nn.Module):
    """Answers forward and the metadata getters, but has neither forward_bt nor reset."""

    def forward(self, x: Tensor, params: Optional[Tensor] = None) -> Tensor:
        return x

    @torch.jit.export
    def set_daw_sample_rate_and_buffer_size(
        self, daw_sr: int, daw_bs: int, model_sr: Optional[int] = None, model_bs: Optional[int] = None
    ) -> int:
        return daw_bs

    @torch.jit.export
    def get_native_sample_rates(self) -> List[int]:
        return []


def incomplete_root(path: Path) -> Path:
    """A bare module missing most of the host contract, with a good export's metadata."""
    return write_root(WithoutBufferedCalls(), compose(PassThroughWrapper()).metadata, path)


class HandWrittenRoot(nn.Module):
    """The host contract written by hand, as another exporter would (no ``prepare``, no adapters):
    a pass-through turning non-finite samples into 0 and refusing integer audio."""

    def __init__(self, metadata: dict, defaults: List[float]) -> None:
        super().__init__()
        self.w2w_base = ModelMetadata(metadata, defaults)
        self.block_size = 0

    def forward(self, x: Tensor, params: Optional[Tensor] = None) -> Tensor:
        if not x.is_floating_point():
            raise ValueError("integer audio: the host sends float32")
        return torch.nan_to_num(x.to(torch.float32), 0.0, 0.0, 0.0)

    @torch.jit.export
    def forward_bt(self, x: Tensor, params: Optional[Tensor] = None) -> Optional[Tensor]:
        return self.forward(x, params)

    @torch.jit.export
    def forward_offline(self, x: Tensor, params: Optional[Tensor] = None) -> Tensor:
        return self.forward(x, params)

    @torch.jit.export
    def set_daw_sample_rate_and_buffer_size(
        self, daw_sr: int, daw_bs: int, model_sr: Optional[int] = None, model_bs: Optional[int] = None
    ) -> int:
        self.block_size = daw_bs
        return daw_bs

    @torch.jit.export
    def reset(self) -> None:
        pass

    @torch.jit.export
    def is_resampling(self) -> bool:
        return False

    @torch.jit.export
    def calc_buffering_delay_samples(self) -> int:
        return 0

    @torch.jit.export
    def calc_model_delay_samples(self) -> int:
        return 0

    @torch.jit.export
    def is_input_mono(self) -> bool:
        return self.w2w_base.is_input_mono()

    @torch.jit.export
    def is_output_mono(self) -> bool:
        return self.w2w_base.is_output_mono()

    @torch.jit.export
    def get_native_sample_rates(self) -> List[int]:
        return self.w2w_base.get_native_sample_rates()

    @torch.jit.export
    def get_native_buffer_sizes(self) -> List[int]:
        return self.w2w_base.get_native_buffer_sizes()

    @torch.jit.export
    def get_preserved_attributes(self) -> List[str]:
        return ["w2w_base", "forward_bt", "set_daw_sample_rate_and_buffer_size", "reset"]

    @torch.jit.export
    def to_metadata(self) -> Dict[str, Any]:
        return self.w2w_base.to_metadata()

    @torch.jit.export
    def get_metadata_json(self) -> str:
        return self.w2w_base.get_metadata_json()

    @torch.jit.export
    def get_wet_default_value(self) -> float:
        return self.w2w_base.get_wet_default_value()

    @torch.jit.export
    def get_dry_default_value(self) -> float:
        return self.w2w_base.get_dry_default_value()

    @torch.jit.export
    def get_input_gain_default_value(self) -> float:
        return self.w2w_base.get_input_gain_default_value()

    @torch.jit.export
    def get_output_gain_default_value(self) -> float:
        return self.w2w_base.get_output_gain_default_value()

    @torch.jit.export
    def get_default_param_values(self) -> Tensor:
        return self.w2w_base.get_numerical_params_default_values_0to1()


def hand_written_root(path: Path) -> Path:
    """:class:`HandWrittenRoot` with a good export's metadata."""
    composed = compose(PassThroughWrapper())
    return write_root(HandWrittenRoot(composed.metadata, composed.wrapper.neutone_default_knobs()), composed.metadata, path)


class NeedsContiguousBlocks(HandWrittenRoot):
    """The hand-written pass-through, flattening each block with ``view``: a strided block raises."""

    def forward(self, x: Tensor, params: Optional[Tensor] = None) -> Tensor:
        if not x.is_floating_point():
            raise ValueError("integer audio: the host sends float32")
        flat = torch.nan_to_num(x.to(torch.float32).view(-1), 0.0, 0.0, 0.0)
        return flat.view(x.size(0), x.size(1))


def contiguous_only_root(path: Path) -> Path:
    """:class:`NeedsContiguousBlocks` with a good export's metadata."""
    composed = compose(PassThroughWrapper())
    root = NeedsContiguousBlocks(composed.metadata, composed.wrapper.neutone_default_knobs())
    return write_root(root, composed.metadata, path)
