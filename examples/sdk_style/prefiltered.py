"""An SDK-style prefiltered model: a linear-phase low-pass before a soft clipper.

The prefilter is designed for the rate the model runs at, in
``set_model_sample_rate_and_buffer_size`` (as the SDK's prefilter examples do), keeps its
history across calls and is cleared by ``reset_model``; the wrapper declares its delay,
``(taps - 1) / 2`` samples, which export measures with an impulse.
"""

import math
from argparse import ArgumentParser
from pathlib import Path
from typing import Dict, List

import torch
from torch import Tensor, nn

from neutone_core import ContinuousNeutoneParameter, NeutoneParameter, WaveformToWaveformBase, save_neutone_model


class LowPassPrefilter(nn.Module):
    """A Hann-windowed sinc low-pass of ``taps`` (odd) taps with its history across calls.

    Shape: ``(channels, n) -> (channels, n)``, delayed by ``(taps - 1) / 2`` samples.
    """

    def __init__(self, cutoff_hz: float, taps: int = 257, channels: int = 2) -> None:
        super().__init__()
        self.cutoff_hz = cutoff_hz
        self.taps = taps
        self.delay = (taps - 1) // 2
        self.register_buffer("kernel", torch.zeros(channels, 1, taps))
        self.register_buffer("history", torch.zeros(channels, taps - 1))
        self.set_sample_rate(48000)

    @torch.jit.export
    def set_sample_rate(self, sample_rate: int) -> None:
        n = torch.arange(self.taps, dtype=torch.float64) - self.delay
        fc = self.cutoff_hz / sample_rate
        sinc = torch.where(n == 0, torch.full_like(n, 2 * fc), torch.sin(2 * math.pi * fc * n) / (math.pi * n))
        window = 0.5 - 0.5 * torch.cos(2 * math.pi * torch.arange(self.taps, dtype=torch.float64) / (self.taps - 1))
        taps = sinc * window
        self.kernel = (taps / taps.sum()).flip(0).to(torch.float32).expand(self.kernel.size(0), 1, self.taps).contiguous()

    @torch.jit.export
    def reset(self) -> None:
        self.history.zero_()

    def forward(self, x: Tensor) -> Tensor:
        joined = torch.cat([self.history, x], dim=1)
        self.history.copy_(joined[:, joined.size(1) - self.taps + 1 :])
        return torch.nn.functional.conv1d(joined.unsqueeze(0), self.kernel, groups=x.size(0)).squeeze(0)


class PrefilteredDriveWrapper(WaveformToWaveformBase):
    """Low-pass at 2 kHz, then ``tanh(drive * x)``; ``drive`` from 1 to 10."""

    def __init__(self, model: nn.Module, use_debug_mode: bool = True) -> None:
        super().__init__(model, use_debug_mode)
        self.pre_filter = LowPassPrefilter(cutoff_hz=2000.0)

    def get_model_name(self) -> str:
        return "prefiltered.drive"

    def get_model_authors(self) -> List[str]:
        return ["neutone examples"]

    def get_model_short_description(self) -> str:
        return "Soft clipper behind a 2 kHz low-pass prefilter."

    def get_tags(self) -> List[str]:
        return ["distortion", "filter"]

    def get_neutone_parameters(self) -> List[NeutoneParameter]:
        return [ContinuousNeutoneParameter("drive", "drive into the clipper", default_value=2.0, min_value=1.0, max_value=10.0)]

    def is_input_mono(self) -> bool:
        return False

    def is_output_mono(self) -> bool:
        return False

    def calc_model_delay_samples(self) -> int:
        return self.pre_filter.delay

    def set_model_sample_rate_and_buffer_size(self, sample_rate: int, n_samples: int) -> bool:
        self.pre_filter.set_sample_rate(sample_rate)
        return True

    def reset_model(self) -> bool:
        self.pre_filter.reset()
        return True

    def do_forward_pass(self, x: Tensor, params: Dict[str, Tensor]) -> Tensor:
        return self.model(self.pre_filter(x) * params["drive"])


def build() -> PrefilteredDriveWrapper:
    """The wrapper around ``tanh`` (``neutone compose prefiltered.py:build``)."""
    return PrefilteredDriveWrapper(nn.Tanh())


if __name__ == "__main__":
    parser = ArgumentParser()
    parser.add_argument("-o", "--output", default="export_model")
    args = parser.parse_args()
    save_neutone_model(build(), Path(args.output), dump_samples=True, submission=True)
