"""The clipper from the Neutone SDK README: min / max / gain knobs, stereo in and out."""

from typing import Dict, List

import torch
from torch import Tensor, nn

from neutone_core import NeutoneParameter, WaveformToWaveformBase


class ClipperModel(nn.Module):
    """Hard clipper: limits the signal to ``[-min * gain, max * gain]``."""

    def forward(self, x: Tensor, min_val: Tensor, max_val: Tensor, gain: Tensor) -> Tensor:
        """x ``(channels, n)`` -> ``(channels, n)``."""
        return torch.clamp(x, min=-min_val * gain, max=max_val * gain)


class ClipperModelWrapper(WaveformToWaveformBase):
    """Wraps :class:`ClipperModel` for the host (a fresh one when none is given)."""

    def __init__(self, model: nn.Module | None = None) -> None:
        super().__init__(model if model is not None else ClipperModel())

    def get_model_name(self) -> str:
        return "clipper"

    def get_model_authors(self) -> List[str]:
        return ["Andrew Fyfe"]

    def get_model_short_description(self) -> str:
        return "Audio clipper."

    def get_model_long_description(self) -> str:
        return "Clips the input signal between two thresholds, scaled by a gain knob."

    def get_technical_description(self) -> str:
        return "Hard clipping with torch.clamp; thresholds follow the min, max and gain knobs."

    def get_tags(self) -> List[str]:
        return ["clipper", "distortion"]

    def get_model_version(self) -> str:
        return "1.0.0"

    def is_experimental(self) -> bool:
        return False

    def get_technical_links(self) -> Dict[str, str]:
        return {"Code": "https://github.com/QosmoInc/neutone_sdk/blob/main/examples/example_clipper.py"}

    def get_citation(self) -> str:
        return ""

    def get_neutone_parameters(self) -> List[NeutoneParameter]:
        return [
            NeutoneParameter("min", "min clip threshold", default_value=0.5),
            NeutoneParameter("max", "max clip threshold", default_value=1.0),
            NeutoneParameter("gain", "scale clip threshold", default_value=1.0),
        ]

    def is_input_mono(self) -> bool:
        return False

    def is_output_mono(self) -> bool:
        return False

    def get_native_sample_rates(self) -> List[int]:
        return []

    def get_native_buffer_sizes(self) -> List[int]:
        return []

    def do_forward_pass(self, x: Tensor, params: Dict[str, Tensor]) -> Tensor:
        return self.model(x, params["min"], params["max"], params["gain"])
