"""A mono model: tanh overdrive with drive and level knobs, mono in and mono out.

In a stereo host the mixer averages the two channels into the model and duplicates its
output to both channels.
"""

from typing import Dict, List

import torch
from torch import Tensor, nn

from neutone_core import NeutoneParameter, WaveformToWaveformBase


class Overdrive(nn.Module):
    """``tanh(drive * x) * level``; drive 1..51, level 0..1. Shape: ``(1, n) -> (1, n)``."""

    def forward(self, x: Tensor, drive: Tensor, level: Tensor) -> Tensor:
        """Distort ``x`` with knob values ``drive`` and ``level`` in 0..1."""
        return torch.tanh(x * (1.0 + 50.0 * drive)) * level


class MonoOverdriveWrapper(WaveformToWaveformBase):
    """Wraps :class:`Overdrive` for the host as a mono-mono model."""

    def __init__(self, model: nn.Module | None = None) -> None:
        super().__init__(model if model is not None else Overdrive())

    def get_model_name(self) -> str:
        return "mono-overdrive"

    def get_model_authors(self) -> List[str]:
        return ["neutone"]

    def get_model_short_description(self) -> str:
        return "Mono tanh overdrive."

    def get_model_long_description(self) -> str:
        return "Drives a mono signal into a tanh soft clipper; stereo hosts hear the average of both channels."

    def get_tags(self) -> List[str]:
        return ["distortion", "overdrive", "mono"]

    def get_neutone_parameters(self) -> List[NeutoneParameter]:
        return [
            NeutoneParameter("drive", "input drive into the clipper", default_value=0.2),
            NeutoneParameter("level", "output level", default_value=0.8),
        ]

    def is_input_mono(self) -> bool:
        return True

    def is_output_mono(self) -> bool:
        return True

    def do_forward_pass(self, x: Tensor, params: Dict[str, Tensor]) -> Tensor:
        return self.model(x, params["drive"], params["level"])
