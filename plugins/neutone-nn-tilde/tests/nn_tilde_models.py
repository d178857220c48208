"""Small models of the nn~ convention, scripted and saved by the tests (no downloaded weights).

- ``CachedCodec``: a codec of cached convolutions, like a streaming RAVE: ``encode`` folds each
  block of ``ratio`` samples into ``ratio`` latent channels (a strided convolution: it takes
  only multiples of ``ratio``), ``decode`` unfolds them one block later (a transposed
  convolution whose taps sit one block late), ``forward`` is both, times the settable
  ``gain``: the input, delayed by one block, which it declares as ``cumulative_delay``.
- ``OnePole``: a stereo one-pole low-pass ``y[n] = y[n-1] + a (x[n] - y[n-1])``,
  ``a = 1 - exp(-2 pi cutoff / sr)``, at 44.1 kHz, any block size, settable ``cutoff`` (Hz).
"""

import math
from typing import List

import torch
from torch import Tensor, nn

from neutone_blocks.conv import CachedConv1d, CachedConvTranspose1d


class CachedCodec(nn.Module):
    """Encoder/decoder of cached convolutions with a compression ratio of ``ratio`` samples."""

    def __init__(self, ratio: int = 256, sr: int = 48000) -> None:
        super().__init__()
        self.sr = sr
        self.cumulative_delay = ratio
        self.gain = (1.0,)
        self.encoder = CachedConv1d(1, ratio, ratio, stride=ratio, bias=False, cached=True)
        self.decoder = CachedConvTranspose1d(ratio, 1, 2 * ratio, stride=ratio, bias=False, cached=True)
        with torch.no_grad():
            self.encoder.weight.copy_(torch.eye(ratio).view(ratio, 1, ratio))
            self.decoder.weight.zero_()
            self.decoder.weight[:, 0, ratio:].copy_(torch.eye(ratio))
        self.register_buffer("forward_params", torch.tensor([1, 1, 1, 1]))
        self.register_buffer("encode_params", torch.tensor([1, 1, ratio, ratio]))
        self.register_buffer("decode_params", torch.tensor([ratio, ratio, 1, 1]))
        self.register_buffer("gain_params", torch.tensor([2]))

    @torch.jit.export
    def encode(self, x: Tensor) -> Tensor:
        return self.encoder(x)

    @torch.jit.export
    def decode(self, z: Tensor) -> Tensor:
        return self.decoder(z) * self.gain[0]

    def forward(self, x: Tensor) -> Tensor:
        return self.decode(self.encode(x))

    @torch.jit.export
    def get_methods(self) -> List[str]:
        return ["forward", "encode", "decode"]

    @torch.jit.export
    def get_attributes(self) -> List[str]:
        return ["gain"]

    @torch.jit.export
    def get_gain(self) -> float:
        return self.gain[0]

    @torch.jit.export
    def set_gain(self, gain: float) -> int:
        if gain < 0.0:
            return -1
        self.gain = (gain,)
        return 0


class OnePole(nn.Module):
    """Stereo one-pole low-pass, computed in chunks of 64 samples as matrix products."""

    def __init__(self, cutoff: float = 12000.0, sr: int = 44100) -> None:
        super().__init__()
        self.sr = sr
        self.cutoff = (cutoff,)
        self.chunk = 64
        self.register_buffer("state", torch.zeros(1, 2, 1))
        self.register_buffer("forward_params", torch.tensor([2, 1, 2, 1]))
        self.register_buffer("cutoff_params", torch.tensor([2]))

    def forward(self, x: Tensor) -> Tensor:
        a = 1.0 - math.exp(-2.0 * math.pi * self.cutoff[0] / self.sr)
        steps = torch.arange(self.chunk, dtype=torch.float32)
        lags = steps.view(-1, 1) - steps.view(1, -1)
        response = torch.where(lags >= 0, a * (1.0 - a) ** lags.clamp(min=0.0), torch.zeros(1))
        decay = (1.0 - a) ** (steps + 1.0)
        if self.state.size(0) != x.size(0):
            self.state = torch.zeros(x.size(0), x.size(1), 1)
        chunks: List[Tensor] = []
        for start in range(0, x.size(2), self.chunk):
            chunk = x[:, :, start : start + self.chunk]
            c = chunk.size(2)
            y = torch.matmul(chunk, response[:c, :c].t()) + self.state * decay[:c]
            self.state = y[:, :, c - 1 :]
            chunks.append(y)
        return torch.cat(chunks, 2)

    @torch.jit.export
    def get_attributes(self) -> List[str]:
        return ["cutoff"]

    @torch.jit.export
    def get_cutoff(self) -> float:
        return self.cutoff[0]

    @torch.jit.export
    def set_cutoff(self, cutoff: float) -> int:
        if not 0.0 < cutoff < self.sr / 2:
            return -1
        self.cutoff = (cutoff,)
        return 0
