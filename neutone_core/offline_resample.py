"""Offline sample-rate conversion of whole signals (the render tool's file -> host rate step).

Band-limited interpolation with a Kaiser-windowed sinc (J. O. Smith, "Digital Audio
Resampling", https://ccrma.stanford.edu/~jos/resample/): output sample ``k`` sits at input
time ``t = k * from_rate / to_rate`` and is ``sum_j x[j] h(t - j)`` with
``h(d) = sinc(2 fc d) w(d / half_width)``, cut off at ``fc = rolloff / 2 * min(1, to/from)``
cycles per input sample. The taps of each of the ``to_rate / gcd`` output phases are
computed once (polyphase) when there are few phases, per output sample otherwise.
This is a tool for files, not a stream adapter: streams are the resample adapter's job.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

MAX_TABLE_PHASES = 4096
"""Up to this many output phases the taps are tabulated once per phase."""

_CHUNK_ELEMENTS = 1 << 22


def _taps(fraction: Tensor, offsets: Tensor, cutoff: float, half_width: int, kaiser_beta: float) -> Tensor:
    """Normalised taps ``(len(fraction), len(offsets))`` for outputs at ``floor(t) + fraction``."""
    distance = fraction[:, None] - offsets[None, :]
    ratio = (distance / half_width).clamp(-1.0, 1.0)
    window = torch.special.i0(kaiser_beta * torch.sqrt(1.0 - ratio * ratio)) / torch.special.i0(torch.tensor(kaiser_beta))
    taps = torch.sinc(2.0 * cutoff * distance) * window
    return taps / taps.sum(-1, keepdim=True)


def resample(
    audio: Tensor,
    from_rate: int,
    to_rate: int,
    zero_crossings: int = 32,
    rolloff: float = 0.95,
    kaiser_beta: float = 8.6,
) -> Tensor:
    """Resample a whole signal from ``from_rate`` to ``to_rate`` Hz (zero outside the signal).

    Args:
        audio: ``(channels, n)`` float samples.
        from_rate: rate of ``audio`` in Hz.
        to_rate: wanted rate in Hz.
        zero_crossings: sinc zero crossings on each side of the kernel (quality vs speed).
        rolloff: cutoff as a fraction of the lower Nyquist frequency.
        kaiser_beta: Kaiser window shape (8.6: about 90 dB stop band).

    Shape: ``(channels, n) -> (channels, ceil(n * to_rate / from_rate))``.
    """
    if from_rate < 1 or to_rate < 1:
        raise ValueError(f"sample rates {from_rate} -> {to_rate} Hz: both must be >= 1")
    if from_rate == to_rate:
        return audio.clone()
    common = math.gcd(from_rate, to_rate)
    up, down = to_rate // common, from_rate // common
    n = audio.size(-1)
    n_out = -(-n * up // down)
    cutoff = 0.5 * rolloff * min(1.0, up / down)
    half_width = math.ceil(zero_crossings / (2.0 * cutoff))
    offsets = torch.arange(-half_width + 1, half_width + 1, dtype=torch.float64)
    padded = torch.nn.functional.pad(audio.to(torch.float32), (half_width, half_width + down))
    if up <= MAX_TABLE_PHASES:
        return _resample_polyphase(padded, up, down, n_out, offsets, cutoff, half_width, kaiser_beta)
    out = torch.empty(audio.size(0), n_out)
    chunk = max(1, _CHUNK_ELEMENTS // (offsets.numel() * audio.size(0)))
    index_offsets = torch.arange(-half_width + 1, half_width + 1) + half_width
    for start in range(0, n_out, chunk):
        position = torch.arange(start, min(start + chunk, n_out), dtype=torch.int64) * down
        taps = _taps((position % up).double() / up, offsets, cutoff, half_width, kaiser_beta).float()
        gathered = padded[:, (position // up)[:, None] + index_offsets[None, :]]
        out[:, start : start + position.numel()] = (gathered * taps).sum(-1)
    return out


def _resample_polyphase(
    padded: Tensor, up: int, down: int, n_out: int, offsets: Tensor, cutoff: float, half_width: int, kaiser_beta: float
) -> Tensor:
    """Every ``down`` input samples give ``up`` outputs: one strided convolution whose ``up``
    output channels are the phases, each kernel placed at its phase's integer offset."""
    phases = torch.arange(up, dtype=torch.int64)
    taps = _taps((phases * down % up).double() / up, offsets, cutoff, half_width, kaiser_beta).float()
    kernel = torch.zeros(up, 1, 2 * half_width + down)
    columns = (phases * down // up)[:, None] + torch.arange(2 * half_width)[None, :] + 1
    kernel[:, 0, :].scatter_(1, columns, taps)
    phased = torch.nn.functional.conv1d(padded[:, None, :], kernel, stride=down)
    return phased.transpose(1, 2).reshape(padded.size(0), -1)[:, :n_out].contiguous()
