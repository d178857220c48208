"""A clipper behind a low-pass prefilter: the SDK's prefilter idea with ``neutone_blocks.filters``.

The FIR prefilter is designed again for whatever rate the host runs at
(``set_model_sample_rate_and_buffer_size``) and its linear-phase delay is reported
(``calc_model_delay_samples``). Knobs are sample-accurate (``aggregate_params`` keeps them).
Run ``python clipper_prefilter.py OUT_DIR`` to export.
"""

import sys
from typing import Dict, List

import torch
from torch import Tensor, nn

from neutone_blocks.filters import FilterType, FIRFilter
from neutone_core import NeutoneParameter, WaveformToWaveformBase, save_neutone_model


class Clipper(nn.Module):
    """Hard clipper between ``-min·gain`` and ``max·gain`` per sample, into a preallocated buffer."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("low", torch.zeros(0), persistent=False)
        self.register_buffer("high", torch.zeros(0), persistent=False)
        self.register_buffer("output", torch.zeros(0, 0), persistent=False)

    def forward(self, x: Tensor, min_val: Tensor, max_val: Tensor, gain: Tensor) -> Tensor:
        """``x`` ``(channels, n)``, knobs ``(n,)`` in 0..1 -> ``(channels, n)``."""
        n = x.size(1)
        if n > self.low.size(0) or x.size(0) != self.output.size(0):
            self.low, self.high = torch.zeros(n), torch.zeros(n)
            self.output = torch.zeros(x.size(0), n)
        low, high, output = self.low[:n], self.high[:n], self.output[:, :n]
        torch.mul(min_val, gain, out=low).neg_()
        torch.mul(max_val, gain, out=high)
        return torch.clamp(x, min=low, max=high, out=output)


class ClipperPrefilterWrapper(WaveformToWaveformBase):
    """Stereo clipper with a 1 kHz FIR low-pass in front (257 taps, 128 samples of delay)."""

    def __init__(self, model: nn.Module | None = None) -> None:
        super().__init__(model if model is not None else Clipper())
        self.pre_filter = FIRFilter(FilterType.LOWPASS, cutoffs=[1000.0], filt_size=257)

    def get_model_name(self) -> str:
        return "clipper.prefilter"

    def get_model_authors(self) -> List[str]:
        return ["neutone"]

    def get_model_short_description(self) -> str:
        return "Clipper behind a 1 kHz low-pass."

    def get_model_long_description(self) -> str:
        return "Low-passes the input at 1 kHz with a linear-phase FIR, then clips it between two knob-set thresholds."

    def get_technical_description(self) -> str:
        return "neutone_blocks.filters.FIRFilter (Kaiser-windowed sinc, 257 taps) redesigned at the host rate, then torch.clamp."

    def get_tags(self) -> List[str]:
        return ["clipper", "filter"]

    def get_neutone_parameters(self) -> List[NeutoneParameter]:
        return [
            NeutoneParameter("min", "min clip threshold", default_value=0.15),
            NeutoneParameter("max", "max clip threshold", default_value=0.15),
            NeutoneParameter("gain", "scale clip threshold", default_value=1.0),
        ]

    def is_input_mono(self) -> bool:
        return False

    def is_output_mono(self) -> bool:
        return False

    def calc_model_delay_samples(self) -> int:
        return self.pre_filter.delay

    def set_model_sample_rate_and_buffer_size(self, sample_rate: int, n_samples: int) -> bool:
        self.pre_filter.set_parameters(sample_rate=sample_rate)
        return True

    def reset_model(self) -> bool:
        self.pre_filter.reset()
        return True

    def aggregate_params(self, params: Tensor) -> Tensor:
        return params

    def do_forward_pass(self, x: Tensor, params: Dict[str, Tensor]) -> Tensor:
        return self.model(self.pre_filter(x), params["min"], params["max"], params["gain"])


if __name__ == "__main__":
    save_neutone_model(ClipperPrefilterWrapper(), sys.argv[1] if len(sys.argv) > 1 else "export_clipper_prefilter")
