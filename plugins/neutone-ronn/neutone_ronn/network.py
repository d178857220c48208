r"""Randomized overdrive: an untrained causal 1-D convolution stack as a distortion.

Steinmetz & Reiss, *Randomized overdrive neural networks* (arXiv:2010.04237, 2020): a temporal
convolutional network whose weights are drawn at random, never trained, already distorts
musically; its seed, depth, width, kernel and nonlinearity choose the sound. Here
``y = level · tone(tanh(TCN(drive · x)))``: layer ``i`` is a causal
:class:`~neutone_blocks.conv.CachedConv1d` with dilation ``dilation_growth^i`` and no bias,
each hidden layer followed by the activation, weights ``N(0, 1 / fan_in)`` from the seed (so a
signal keeps its level through the stack); the output is bounded by tanh, then the tone
blends a fixed 2nd-order Butterworth low-pass at 1 kHz (:class:`~neutone_blocks.filters.IIRFilter`)
with the unfiltered signal, ``LP + tone · (y - LP)``: dark at 0, flat at 1. Every layer is
causal and odd (no bias, odd activations), so silence stays silence and the model adds no
delay. The stereo channels run
as a batch of two mono signals. Shape: ``(channels, n) -> (channels, n)``.
"""

import math

import torch
from torch import Tensor, nn

from neutone_blocks.conv import CachedConv1d
from neutone_blocks.filters import FilterType, IIRFilter

ACTIVATIONS = ("tanh", "sin", "hardtanh", "softsign")
"""Odd nonlinearities (``f(-x) = -f(x)``, ``f(0) = 0``): no DC, silence in gives silence out."""

TONE_CUTOFF_HZ = 1000.0
"""Cutoff of the tone's low-pass (Hz); tone 0 hears it alone."""


def receptive_field(depth: int, kernel_size: int, dilation_growth: int) -> int:
    """Samples of input each output sample depends on: ``1 + (K - 1) · Σ_i growth^i``."""
    return 1 + (kernel_size - 1) * sum(dilation_growth**i for i in range(depth))


class RandomizedOverdrive(nn.Module):
    """The random-weight TCN overdrive; see the module docs.

    Args:
        seed: seed of the random weights.
        depth: convolution layers.
        channels: channels between layers.
        kernel_size: kernel of every layer (samples).
        dilation_growth: layer ``i`` has dilation ``dilation_growth^i``.
        activation: one of :data:`ACTIVATIONS`, after every hidden layer.
    """

    def __init__(self, seed: int, depth: int, channels: int, kernel_size: int, dilation_growth: int, activation: str) -> None:
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation {activation!r}: must be one of {', '.join(ACTIVATIONS)}")
        generator = torch.Generator().manual_seed(seed)
        widths = [1] + [channels] * (depth - 1) + [1]
        self.layers = nn.ModuleList(
            CachedConv1d(widths[i], widths[i + 1], kernel_size, dilation=dilation_growth**i, bias=False, cached=True)
            for i in range(depth)
        )
        with torch.no_grad():
            for layer in self.layers:
                fan_in = layer.in_channels * kernel_size
                layer.weight.copy_(torch.randn(layer.weight.shape, generator=generator) / math.sqrt(fan_in))
        self.activation = activation
        self.width = channels
        self.log_per_db = math.log(10.0) / 20.0
        self.low_pass = IIRFilter(FilterType.LOWPASS, TONE_CUTOFF_HZ, 1.0 / math.sqrt(2.0))
        self.register_buffer("drive_gain", torch.zeros(1), persistent=False)
        self.register_buffer("level_gain", torch.zeros(1), persistent=False)
        self.register_buffer("driven", torch.zeros(2, 1, 0), persistent=False)
        self.register_buffer("scratch", torch.zeros(0), persistent=False)
        self.register_buffer("output", torch.zeros(2, 0), persistent=False)

    @torch.jit.export
    def allocate(self, channels: int, max_block_size: int) -> None:
        """Buffers for blocks of up to ``max_block_size`` samples of ``channels`` channels."""
        self.driven = torch.zeros(channels, 1, max_block_size)
        self.scratch = torch.zeros(channels * self.width * max_block_size)
        self.output = torch.zeros(channels, max_block_size)

    @torch.jit.export
    def set_sample_rate(self, sample_rate: int) -> None:
        """Design the tone's low-pass for ``sample_rate`` (Hz)."""
        self.low_pass.set_parameters(sample_rate=sample_rate)

    @torch.jit.export
    def set_cached(self, cached: bool) -> None:
        """Stream (True) or run a whole signal at once (False, for offline renders); resets."""
        for layer in self.layers:
            layer.set_cached(cached)
        self.low_pass.reset()

    @torch.jit.export
    def reset(self) -> None:
        """Forget the stream's past."""
        for layer in self.layers:
            layer.reset()
        self.low_pass.reset()

    def _activate(self, y: Tensor) -> Tensor:
        """The activation, in place where torch has an in-place form."""
        if self.activation == "tanh":
            return y.tanh_()
        if self.activation == "sin":
            return y.sin_()
        if self.activation == "hardtanh":
            return y.clamp_(-1.0, 1.0)
        magnitude = self.scratch.narrow(0, 0, y.numel()).view(y.shape)
        torch.abs(y, out=magnitude).add_(1.0)
        return y.div_(magnitude)

    def forward(self, x: Tensor, drive_db: Tensor, tone: Tensor, level_db: Tensor) -> Tensor:
        """Distort ``x`` ``(channels, n)``: drive (dB into the network), tone 0 (dark) .. 1 (flat), level (dB),
        each ``(1,)``."""
        channels, n = x.size(0), x.size(1)
        if n > self.output.size(1) or channels != self.output.size(0):
            self.allocate(channels, n)
        torch.mul(drive_db, self.log_per_db, out=self.drive_gain).exp_()
        torch.mul(level_db, self.log_per_db, out=self.level_gain).exp_()
        y = torch.mul(x.unsqueeze(1), self.drive_gain, out=self.driven.narrow(2, 0, n))
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            y = layer(y)
            y = self._activate(y) if i < last else y.tanh_()
        distorted = y.squeeze(1)
        output = torch.lerp(self.low_pass(distorted), distorted, tone, out=self.output.narrow(1, 0, n))
        return output.mul_(self.level_gain)

