"""A one-pole smoother on the knobs, exact and allocation-free across any block lengths.

``y[n] = c * y[n - 1] + (1 - c) * x[n]`` with ``c = exp(-1 / (tau * fs))``: the knobs reach
``1 - 1/e`` of a step after ``tau`` seconds. Within a call the recursion is closed-form:
``y[n] = c^n * (c * y[-1] + (1 - c) * sum_{k <= n} c^-k x[k])``, a cumulative sum in float64
over chunks short enough that ``c^-k`` stays below 1e150 (one chunk for any time constant
above a few samples). Audio passes through; the stage adds no delay.
"""

import math

import torch
from torch import Tensor, nn

from neutone_core import AdapterStage, Stream

MAX_DYNAMIC_RANGE = 150.0 * math.log(10.0)
"""Largest ``-k * ln c`` inside one chunk (``c^-k`` at most 1e150)."""


def smooth_knobs(knobs: Tensor, time_constant_ms: float, sample_rate: int) -> Tensor:
    """Offline form: ``knobs`` ``(rows, n)`` smoothed from a start at their first value.

    Shape: ``(rows, n) -> (rows, n)``."""
    c = math.exp(-1000.0 / (time_constant_ms * sample_rate))
    out = torch.empty_like(knobs, dtype=torch.float64)
    state = knobs[:, :1].to(torch.float64)
    for i in range(knobs.size(1)):
        state = c * state + (1.0 - c) * knobs[:, i : i + 1].to(torch.float64)
        out[:, i : i + 1] = state
    return out.to(knobs.dtype)


class KnobSmootherStage(AdapterStage):
    """Smooths the ``(4, n)`` knobs with a one-pole low-pass of ``time_constant_ms``; audio
    passes through. The first call starts from its first knob values.

    Shape: x ``(channels, n)``, params ``(4, n)`` -> the inner's ``(channels, n)``.

    Args:
        inner: the stage inside.
        time_constant_ms: the smoother's time constant in milliseconds (> 0).
    """

    def __init__(self, inner: nn.Module, time_constant_ms: float) -> None:
        super().__init__(inner, "knob-smoother")
        if not time_constant_ms > 0:
            raise ValueError(f"knob_smoothing_ms={time_constant_ms!r}: the time constant must be > 0 ms")
        self.time_constant_ms = float(time_constant_ms)
        self.description = f"knob-smoother: one-pole, {self.time_constant_ms:g} ms"
        self.n_params = 4
        self.register_buffer("growth", torch.zeros(0, dtype=torch.float64), persistent=False)
        self.register_buffer("decay", torch.zeros(0, dtype=torch.float64), persistent=False)
        self.register_buffer("scan", torch.zeros(4, 0, dtype=torch.float64), persistent=False)
        self.register_buffer("state", torch.zeros(4, 1, dtype=torch.float64), persistent=False)
        self.register_buffer("smoothed", torch.zeros(4, 0), persistent=False)
        self.register_buffer("pole", torch.zeros(1, dtype=torch.float64), persistent=False)
        self.register_buffer("gain", torch.zeros(1, dtype=torch.float64), persistent=False)
        self.chunk = 1
        self.max_dynamic_range = MAX_DYNAMIC_RANGE
        self.started = False

    @torch.jit.export
    def configure(self, stream: Stream) -> None:
        """Tables for the stream's rate (Hz) and blocks of up to ``stream.block_size`` samples."""
        self.active = True
        c = math.exp(-1000.0 / (self.time_constant_ms * stream.sample_rate))
        self.chunk = max(1, min(stream.block_size, int(self.max_dynamic_range / -math.log(c)) if c > 0.0 else 1))
        steps = torch.arange(self.chunk, dtype=torch.float64)
        self.growth = torch.exp(steps * -math.log(c)) if c > 0.0 else torch.ones(self.chunk, dtype=torch.float64)
        self.decay = torch.exp(steps * math.log(c)) if c > 0.0 else torch.zeros(self.chunk, dtype=torch.float64)
        self.scan = torch.zeros(self.n_params, self.chunk, dtype=torch.float64)
        self.smoothed = torch.zeros(self.n_params, stream.block_size)
        self.pole.fill_(c)
        self.gain.fill_(1.0 - c)
        self.inner.configure(stream)
        self.reset_state()

    def reset_state(self) -> None:
        """Forget the smoothed value: the next call starts from its first knob values."""
        self.started = False

    def forward(self, x: Tensor, params: Tensor) -> Tensor:
        """Smooth ``params`` ``(4, n)`` chunk by chunk, then run the inner on ``x`` with them."""
        n = params.size(1)
        if n == 0:
            return self.inner(x, params)
        if not self.started:
            self.state.copy_(params.narrow(1, 0, 1))
            self.started = True
        smoothed = self.smoothed.narrow(1, 0, n)
        start = 0
        while start < n:
            length = min(self.chunk, n - start)
            scan = self.scan.narrow(1, 0, length)
            scan.copy_(params.narrow(1, start, length))
            scan.mul_(self.growth.narrow(0, 0, length))
            torch.cumsum(scan, 1, out=scan)
            scan.mul_(self.gain).addcmul_(self.state, self.pole).mul_(self.decay.narrow(0, 0, length))
            smoothed.narrow(1, start, length).copy_(scan)
            self.state.copy_(scan.narrow(1, length - 1, 1))
            start += length
        return self.inner(x, smoothed)

    @torch.jit.export
    def delay_samples(self) -> int:
        """Knob smoothing delays no audio: the inner's delay."""
        return self.inner.delay_samples()

    @torch.jit.export
    def describe(self) -> str:
        """The time constant."""
        return self.description
