"""An SDK-style delayed pass-through: model state, ``reset_model``, native rate and block size.

The model holds the last ``delay_n_samples`` of its input and returns its input that much
later; the wrapper declares that delay, runs at 44.1 kHz in blocks of 2048 and asks the host
for a 50/50 dry/wet mix. neutone adds the resampler and the FIFO around it and reports the
whole delay.
"""

from argparse import ArgumentParser
from pathlib import Path
from typing import Dict, List

import torch
from torch import Tensor, nn

from neutone_core import NeutoneParameter, WaveformToWaveformBase, save_neutone_model


class DelayedPassthroughModel(nn.Module):
    """A delay line of ``delay_n_samples``. Shape: ``(channels, n) -> (channels, n)``."""

    def __init__(self, delay_n_samples: int, in_ch: int = 2) -> None:
        super().__init__()
        self.delay_n_samples = delay_n_samples
        self.register_buffer("delay_buf", torch.zeros(in_ch, delay_n_samples))

    def forward(self, x: Tensor) -> Tensor:
        x = torch.cat([self.delay_buf, x], dim=-1)
        self.delay_buf[:, :] = x[:, -self.delay_n_samples :]
        return x[:, : -self.delay_n_samples]


class DelayedPassthroughModelWrapper(WaveformToWaveformBase):
    """The delay line at its native stream."""

    def get_model_name(self) -> str:
        return "delayed.passthrough"

    def get_model_authors(self) -> List[str]:
        return ["neutone examples"]

    def get_model_short_description(self) -> str:
        return "Delayed passthrough model."

    def get_model_long_description(self) -> str:
        return "Delays the input audio by some number of samples. Test it with 50/50 dry/wet."

    def get_technical_description(self) -> str:
        return "A delay line in model state, cleared by reset_model."

    def get_tags(self) -> List[str]:
        return []

    def get_model_version(self) -> str:
        return "1.0.0"

    def is_experimental(self) -> bool:
        return True

    def get_neutone_parameters(self) -> List[NeutoneParameter]:
        return []

    @torch.jit.export
    def is_input_mono(self) -> bool:
        return False

    @torch.jit.export
    def is_output_mono(self) -> bool:
        return False

    @torch.jit.export
    def get_native_sample_rates(self) -> List[int]:
        return [44100]

    @torch.jit.export
    def get_native_buffer_sizes(self) -> List[int]:
        return [2048]

    @torch.jit.export
    def reset_model(self) -> bool:
        self.model.delay_buf.fill_(0)
        return True

    @torch.jit.export
    def calc_model_delay_samples(self) -> int:
        return self.model.delay_n_samples

    @torch.jit.export
    def get_wet_default_value(self) -> float:
        return 0.5

    @torch.jit.export
    def get_dry_default_value(self) -> float:
        return 0.5

    def do_forward_pass(self, x: Tensor, params: Dict[str, Tensor]) -> Tensor:
        return self.model.forward(x)


def build() -> DelayedPassthroughModelWrapper:
    """The wrapper around a 500-sample delay (``neutone compose delayed_passthrough.py:build``)."""
    return DelayedPassthroughModelWrapper(DelayedPassthroughModel(delay_n_samples=500))


if __name__ == "__main__":
    parser = ArgumentParser()
    parser.add_argument("-o", "--output", default="export_model")
    args = parser.parse_args()
    save_neutone_model(build(), Path(args.output), dump_samples=True, submission=True)
