"""The ``torchscript`` model family: a wrapper around a saved TorchScript module."""

from pathlib import Path
from typing import Any, Dict, List

from torch import Tensor, nn

from neutone_core import FamilyOption, WaveformToWaveformBase, load_torchscript_source

OPTIONS = {
    "mono": FamilyOption("the module takes and returns one channel", bool, default=False),
    "sample_rate": FamilyOption("native sample rate in Hz (default: any)", int, minimum=1),
    "buffer_size": FamilyOption("native buffer size in samples (default: any)", int, minimum=1),
}


class TorchScriptWrapper(WaveformToWaveformBase):
    """Runs a scripted module on each block. Shape: ``(channels, n) -> (channels, n)``."""

    def __init__(self, module: nn.Module, name: str, mono: bool, sample_rates: List[int], buffer_sizes: List[int]) -> None:
        self.name = name
        self.mono = mono
        self.sample_rates = sample_rates
        self.buffer_sizes = buffer_sizes
        super().__init__(module)

    def get_model_name(self) -> str:
        """The file's stem (``--option model_name=...`` renames it)."""
        return self.name

    def get_model_authors(self) -> List[str]:
        """Unknown authors of a bare TorchScript file."""
        return ["unknown"]

    def get_model_short_description(self) -> str:
        """Where the model came from."""
        return "TorchScript module wrapped by the neutone-torchscript family."

    def is_input_mono(self) -> bool:
        """From the ``mono`` option."""
        return self.mono

    def is_output_mono(self) -> bool:
        """From the ``mono`` option."""
        return self.mono

    def get_native_sample_rates(self) -> List[int]:
        """From the ``sample_rate`` option."""
        return self.sample_rates

    def get_native_buffer_sizes(self) -> List[int]:
        """From the ``buffer_size`` option."""
        return self.buffer_sizes

    def do_forward_pass(self, x: Tensor, params: Dict[str, Tensor]) -> Tensor:
        """Call the module on the block."""
        return self.model(x)


def build(source: str, options: dict[str, Any]) -> TorchScriptWrapper:
    """Build a wrapper from a TorchScript file path and the family's options (named after the file)."""
    return TorchScriptWrapper(
        load_torchscript_source(source),
        name=Path(source).stem[:30],
        mono=options["mono"],
        sample_rates=[options["sample_rate"]] if "sample_rate" in options else [],
        buffer_sizes=[options["buffer_size"]] if "buffer_size" in options else [],
    )
