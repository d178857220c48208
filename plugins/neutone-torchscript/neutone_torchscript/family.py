"""The ``torchscript`` model family: a wrapper around a saved TorchScript module."""

from pathlib import Path
from typing import Dict, List

import torch
from torch import Tensor, nn

from neutone_core import FamilyError, WaveformToWaveformBase
from neutone_core.scripting import torchscript_quietly

OPTIONS = {
    "name": "model name shown by the host (default: the file's stem)",
    "mono": "true: the module takes and returns one channel (default false)",
    "sample_rate": "native sample rate in Hz (default: any)",
    "buffer_size": "native buffer size in samples (default: any)",
}


def load_scripted(path: str) -> torch.jit.ScriptModule:
    """Load a TorchScript file, turning any failure into a FamilyError naming the file."""
    if not Path(path).is_file():
        raise FamilyError(f"torchscript family: no such file {path}")
    try:
        with torchscript_quietly():
            return torch.jit.load(path, map_location="cpu")
    except Exception as exc:
        raise FamilyError(f"torchscript family: {path} is not a TorchScript file ({exc})") from exc


class TorchScriptWrapper(WaveformToWaveformBase):
    """Runs a scripted module on each block. Shape: ``(channels, n) -> (channels, n)``."""

    def __init__(self, module: nn.Module, name: str, mono: bool, sample_rates: List[int], buffer_sizes: List[int]) -> None:
        self.name = name
        self.mono = mono
        self.sample_rates = sample_rates
        self.buffer_sizes = buffer_sizes
        super().__init__(module)

    def get_model_name(self) -> str:
        """The name given by the ``name`` option."""
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


def _positive_int(options: dict[str, str], key: str) -> List[int]:
    if key not in options:
        return []
    try:
        value = int(options[key])
    except ValueError as exc:
        raise FamilyError(f"torchscript family: option {key}={options[key]!r} is not an integer") from exc
    if value < 1:
        raise FamilyError(f"torchscript family: option {key}={value} must be >= 1")
    return [value]


def build(source: str, options: dict[str, str]) -> TorchScriptWrapper:
    """Build a wrapper from a TorchScript file path and the family's options."""
    mono_text = options.get("mono", "false").lower()
    if mono_text not in ("true", "false"):
        raise FamilyError(f"torchscript family: option mono={options['mono']!r} must be true or false")
    return TorchScriptWrapper(
        load_scripted(source),
        name=options.get("name", Path(source).stem)[:30],
        mono=mono_text == "true",
        sample_rates=_positive_int(options, "sample_rate"),
        buffer_sizes=_positive_int(options, "buffer_size"),
    )
