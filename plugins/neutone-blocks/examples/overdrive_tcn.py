"""Randomized overdrive: an untrained causal TCN with FiLM, driven by drive / tone / level knobs.

The idea of Steinmetz & Reiss, *Randomized overdrive neural networks* (arXiv:2010.04237): a
randomly initialised TCN already distorts musically. Here the knobs condition every block
through FiLM (``neutone_blocks.tcn_1d``), its saturated output is mixed under the
tanh-clipped driven signal, a state-variable filter tilts the tone per sample
(``neutone_blocks.filters.IIRSVF``: ``low-pass + tone · (input - low-pass)``, cutoff rising with
the knob) and the level scales the result. The dry clipper keeps an impulse's peak where it
entered, so the delay the host measures is 0 as reported. The stereo channels run
as a batch of two mono signals. Run ``python overdrive_tcn.py OUT_DIR`` to export.
"""

import sys
from typing import Dict, List

import torch
from torch import Tensor, nn

from neutone_blocks.filters import IIRSVF
from neutone_blocks.tcn_1d import TCN1D
from neutone_core import NeutoneParameter, WaveformToWaveformBase, save_neutone_model

MAX_BLOCK = 8192
"""Largest block (samples) the preallocated knob buffers cover; larger blocks grow them."""


class RandomOverdrive(nn.Module):
    """Random TCN overdrive with per-sample tone and level.

    Shape: ``(2, n) -> (2, n)``; knobs ``(n,)`` in 0..1.
    """

    def __init__(self, seed: int = 7) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        self.condition = nn.Sequential(nn.Linear(1, 8), nn.ReLU(), nn.Linear(8, 8))
        self.tcn = TCN1D(in_ch=1, out_ch=1, n_blocks=4, kernel_size=9, n_channels=8, dil_growth=2, cond_dim=8, cached=True)
        with torch.no_grad():
            for parameter in self.parameters():
                parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.4)
        self.tone = IIRSVF()
        self.register_buffer("drive_gain", torch.zeros(1), persistent=False)
        self.register_buffer("cond_in", torch.zeros(1, 1), persistent=False)
        self.register_buffer("cutoff_hz", torch.zeros(1, MAX_BLOCK, 1), persistent=False)
        self.register_buffer("resonance", torch.full((1, MAX_BLOCK, 1), 0.7071), persistent=False)
        self.register_buffer("tilt", torch.ones(1, MAX_BLOCK, 3), persistent=False)
        self.register_buffer("driven", torch.zeros(2, 1, MAX_BLOCK), persistent=False)
        self.sample_rate = 48000

    def forward(self, x: Tensor, drive: Tensor, tone: Tensor, level: Tensor) -> Tensor:
        """Distort ``x`` ``(2, n)``: drive 1..21x, tone 0 (low-pass at 200 Hz) .. 1 (flat), level 0..1."""
        n = x.size(1)
        if n > self.driven.size(2):
            self.cutoff_hz = torch.zeros(1, n, 1)
            self.resonance = torch.full((1, n, 1), 0.7071)
            self.tilt = torch.ones(1, n, 3)
            self.driven = torch.zeros(2, 1, n)
        torch.mean(drive, 0, True, out=self.cond_in[0])
        torch.mul(self.cond_in[0], 20.0, out=self.drive_gain).add_(1.0)
        cond = self.condition(self.cond_in).expand(2, 8)
        driven = torch.mul(x.unsqueeze(1), self.drive_gain, out=self.driven[:, :, :n])
        distorted = torch.tanh(driven) + 0.1 * torch.tanh(self.tcn(driven, cond))
        torch.pow(100.0, tone, out=self.cutoff_hz[0, :n, 0]).mul_(200.0)
        tilt = self.tilt[:, :n]
        tilt[0, :, 0].copy_(tone)
        tilt[0, :, 2].copy_(tone)
        toned = self.tone(distorted[:, 0], self.cutoff_hz[:, :n], self.resonance[:, :n], tilt, self.sample_rate)
        return toned * level


class OverdriveTCNWrapper(WaveformToWaveformBase):
    """Stereo random-TCN overdrive at any rate and block size."""

    def __init__(self, model: nn.Module | None = None) -> None:
        super().__init__(model if model is not None else RandomOverdrive())

    def get_model_name(self) -> str:
        return "overdrive.tcn.random"

    def get_model_authors(self) -> List[str]:
        return ["neutone"]

    def get_model_short_description(self) -> str:
        return "Random-TCN overdrive with drive, tone and level."

    def get_model_long_description(self) -> str:
        return "An untrained causal TCN conditioned by the drive knob distorts the signal; a low-pass sets the tone."

    def get_technical_description(self) -> str:
        return "neutone_blocks TCN1D (4 FiLM blocks of 8 channels, kernel 9, dilations 1-8) under tanh, then an IIRSVF tilt."

    def get_technical_links(self) -> Dict[str, str]:
        return {"Paper": "https://arxiv.org/abs/2010.04237"}

    def get_citation(self) -> str:
        return "Steinmetz, C. J., & Reiss, J. D. (2020). Randomized overdrive neural networks. arXiv:2010.04237."

    def get_tags(self) -> List[str]:
        return ["distortion", "overdrive", "tcn"]

    def get_neutone_parameters(self) -> List[NeutoneParameter]:
        return [
            NeutoneParameter("drive", "input gain into the network", default_value=0.3),
            NeutoneParameter("tone", "dark (low-pass at 200 Hz) to bright (flat)", default_value=0.8),
            NeutoneParameter("level", "output level", default_value=0.7),
        ]

    def is_input_mono(self) -> bool:
        return False

    def is_output_mono(self) -> bool:
        return False

    def set_model_sample_rate_and_buffer_size(self, sample_rate: int, n_samples: int) -> bool:
        self.model.sample_rate = sample_rate
        return True

    def reset_model(self) -> bool:
        self.model.tcn.reset()
        self.model.tone.reset()
        return True

    def aggregate_params(self, params: Tensor) -> Tensor:
        return params

    def do_forward_pass(self, x: Tensor, params: Dict[str, Tensor]) -> Tensor:
        return self.model(x, params["drive"], params["tone"], params["level"])


if __name__ == "__main__":
    save_neutone_model(OverdriveTCNWrapper(), sys.argv[1] if len(sys.argv) > 1 else "export_overdrive_tcn")
