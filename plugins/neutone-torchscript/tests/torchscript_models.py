"""Small modules the torchscript family's tests script and save (imported with
``neutone_core.tools.sources.import_file``: this folder's name has a dash, which TorchScript
archives cannot name)."""

import torch


class Half(torch.nn.Module):
    """Halves the signal."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(channels, samples)`` -> the same, times 0.5."""
        return x * 0.5


class Explodes(torch.nn.Module):
    """Returns infinities (or NaN on silence)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(channels, samples)`` -> the same, divided by zero."""
        return x / 0.0
