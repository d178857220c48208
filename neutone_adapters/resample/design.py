"""Kaiser-windowed sinc low-pass filters laid out as polyphase chunk tables.

Rational conversion from ``in_rate`` to ``out_rate`` (Hz) runs on the common grid of
``F = lcm(in_rate, out_rate)`` ticks per second: input sample ``k`` sits on tick ``k * P``
(``P = F / in_rate``), output sample ``j`` on tick ``j * Q + phase`` (``Q = F / out_rate``), and

    y[j] = sum_k x[k] * h[j * Q + phase - k * P],

with ``h`` a linear-phase low-pass of ``2 * C + 1`` ticks centred on tick ``C`` (so ``y[j]`` is
``x`` at tick ``j * Q + phase - C``, exactly). ``h`` is the Kaiser-windowed ideal low-pass
(Kaiser 1974; lengths and ``beta`` from Oppenheim & Schafer, *Discrete-Time Signal
Processing*, 3rd ed., eq. 7.62-7.63):

    h(t) = 2 f_c sinc(2 f_c t) I0(beta sqrt(1 - (t / T_w)^2)) / I0(beta),   |t| <= T_w,

cut off at ``f_c`` midway between the pass edge and the stop edge (fractions of the lower
Nyquist frequency), ``T_w = C / F`` seconds. Every output's taps are normalised to sum to 1
(exact DC gain whatever the phase).

The streaming kernel computes whole *periods*: outputs ``p * P .. p * P + P - 1`` come from the
``span`` inputs starting ``Q`` samples after period ``p - 1``'s, through one ``(span, P)``
matrix shared by every period, so a call is one matrix product ``(channels * periods, span) @
(span, P)``. Rate pairs whose period matrix would be too large fall back to *chunks* of ``G``
consecutive outputs (``G`` dividing ``P``), one small matrix per chunk of a period
(:func:`chunk_tables`).
Everything here is TorchScript and runs at configure time, never per block.
"""


import math
from typing import List, Tuple

import torch
from torch import Tensor


def kaiser_beta(attenuation_db: float) -> float:
    """Kaiser window ``beta`` for a stop-band attenuation ``attenuation_db`` (dB, > 0)."""
    if attenuation_db > 50.0:
        return 0.1102 * (attenuation_db - 8.7)
    if attenuation_db >= 21.0:
        return 0.5842 * (attenuation_db - 21.0) ** 0.4 + 0.07886 * (attenuation_db - 21.0)
    return 0.0


def half_length_ticks(in_rate: int, out_rate: int, quality: List[float]) -> int:
    """Half-length ``C`` (ticks of ``F = lcm(in_rate, out_rate)``) of the Kaiser low-pass for a
    preset ``quality = [pass_fraction, stop_fraction, attenuation_db]``.

    Kaiser's estimate: the window spans ``(A - 7.95) / (14.36 * (f_stop - f_pass))`` seconds,
    edges ``f = fraction * min(in_rate, out_rate) / 2`` Hz.
    """
    divisor = math.gcd(in_rate, out_rate)
    tick_rate = float(in_rate // divisor * out_rate)
    nyquist = 0.5 * float(min(in_rate, out_rate))
    transition_hz = (quality[1] - quality[0]) * nyquist
    length_seconds = (quality[2] - 7.95) / (14.36 * transition_hz)
    return int(torch.ceil(torch.tensor(0.5 * length_seconds * tick_rate, dtype=torch.float64)).item())


def kaiser_sinc(offset: Tensor, in_rate: int, out_rate: int, quality: List[float], center: int) -> Tensor:
    """Kaiser-windowed sinc taps (float64, not normalised) at ``offset`` ticks from each output
    (ticks of ``1 / (P * in_rate)`` s, ``|offset| <= center`` inside the window, 0 outside);
    cutoff midway between the pass and stop edges of the lower Nyquist frequency."""
    tick_rate = float((out_rate // math.gcd(in_rate, out_rate)) * in_rate)
    nyquist = 0.5 * float(min(in_rate, out_rate))
    cutoff_hz = 0.5 * (quality[0] + quality[1]) * nyquist
    beta = kaiser_beta(quality[2])
    t = offset.to(torch.float64) / tick_rate
    ratio = (offset.to(torch.float64) / float(center)).clamp(-1.0, 1.0)
    window = torch.special.i0(beta * torch.sqrt(1.0 - ratio * ratio)) / torch.special.i0(torch.tensor(beta, dtype=torch.float64))
    inside = offset.abs() <= center
    return torch.sinc(2.0 * cutoff_hz * t) * window * inside.to(torch.float64)


def period_table_size(in_rate: int, out_rate: int, quality: List[float]) -> int:
    """Floats in the ``(span, P)`` period matrix :func:`polyphase_tables` would build."""
    divisor = math.gcd(in_rate, out_rate)
    input_ticks = out_rate // divisor
    output_ticks = in_rate // divisor
    taps = (2 * half_length_ticks(in_rate, out_rate, quality)) // input_ticks + 1
    span = ((input_ticks - 1) * output_ticks + input_ticks - 1) // input_ticks + taps
    return span * input_ticks


def polyphase_tables(in_rate: int, out_rate: int, quality: List[float], phase_ticks: int) -> Tuple[Tensor, List[int]]:
    """The period matrix for converting ``in_rate`` to ``out_rate`` (Hz).

    Args:
        in_rate: input rate in Hz.
        out_rate: output rate in Hz.
        quality: ``[pass_fraction, stop_fraction, attenuation_db]``.
        phase_ticks: ``phase`` of the output grid, in ticks (>= 0).

    Returns:
        ``weights`` ``(span, P)`` float32 (column ``r``: the taps of output ``p * P + r`` over the
        ``span`` inputs from ``first_window_start + p * Q``, any period ``p``) and the layout
        ``[P, Q, C, taps, span, first_window_start]``.
    """
    divisor = math.gcd(in_rate, out_rate)
    input_ticks = out_rate // divisor
    output_ticks = in_rate // divisor
    center = half_length_ticks(in_rate, out_rate, quality)
    taps = (2 * center) // input_ticks + 1
    span = ((input_ticks - 1) * output_ticks + input_ticks - 1) // input_ticks + taps

    output_tick = torch.arange(input_ticks, dtype=torch.int64) * output_ticks + phase_ticks
    window_start = int(torch.div(output_tick[0], input_ticks, rounding_mode="floor").item()) - taps + 1
    input_tick = (window_start + torch.arange(span, dtype=torch.int64)) * input_ticks
    offset = output_tick.reshape(1, input_ticks) - input_tick.reshape(span, 1) - center
    weights = kaiser_sinc(offset, in_rate, out_rate, quality, center)
    weights = weights / weights.sum(0, keepdim=True)
    layout = [input_ticks, output_ticks, center, taps, span, window_start]
    return weights.to(torch.float32).contiguous(), layout


def chunk_size(input_ticks: int, output_ticks: int, taps: int) -> int:
    """Outputs per chunk ``G``: the largest divisor of ``input_ticks`` (``P``) up to the outputs
    one filter length spans (capped at 64), so a chunk's window stays under ``2 * taps`` inputs
    (measured fastest at 48 <-> 44.1 kHz: fewer, larger batched products)."""
    target = max(1, min(64, (taps * input_ticks) // output_ticks))
    best = 1
    for size in range(1, target + 1):
        if input_ticks % size == 0:
            best = size
    return best


def chunk_tables(
    in_rate: int, out_rate: int, quality: List[float], phase_ticks: int, max_outputs: int
) -> Tuple[Tensor, Tensor, List[int]]:
    """Chunk matrices and window starts for converting ``in_rate`` to ``out_rate`` (Hz), for
    periods too long for one ``(span, P)`` matrix (rate pairs with a large ``P``).

    Args:
        in_rate: input rate in Hz.
        out_rate: output rate in Hz.
        quality: ``[pass_fraction, stop_fraction, attenuation_db]``.
        phase_ticks: ``phase`` of the output grid, in ticks (>= 0).
        max_outputs: most outputs one call computes.

    Returns:
        ``weights`` ``(chunks, span, G)`` float32, ``window_starts`` ``(chunks,)`` int64 (input
        index of each chunk's first window sample, relative to chunk 0's) and the layout
        ``[P, Q, C, taps, G, period_chunks, span, first_window_start]``.
    """
    divisor = math.gcd(in_rate, out_rate)
    input_ticks = out_rate // divisor
    output_ticks = in_rate // divisor
    center = half_length_ticks(in_rate, out_rate, quality)
    taps = (2 * center) // input_ticks + 1
    group = chunk_size(input_ticks, output_ticks, taps)
    period_chunks = input_ticks // group
    span = ((group - 1) * output_ticks + input_ticks - 1) // input_ticks + taps
    chunks = period_chunks + (max_outputs + group - 1) // group + 1

    outputs = torch.arange(chunks * group, dtype=torch.int64).reshape(chunks, group)
    output_tick = outputs * output_ticks + phase_ticks
    first_input = torch.div(output_tick[:, 0], input_ticks, rounding_mode="floor")
    window_start = first_input - taps + 1
    input_tick = (window_start.reshape(chunks, 1) + torch.arange(span, dtype=torch.int64)) * input_ticks
    offset = output_tick.reshape(chunks, 1, group) - input_tick.reshape(chunks, span, 1) - center
    weights = kaiser_sinc(offset, in_rate, out_rate, quality, center)
    weights = weights / weights.sum(1, keepdim=True)
    first = int(window_start[0].item())
    layout = [input_ticks, output_ticks, center, taps, group, period_chunks, span, first]
    return weights.to(torch.float32).contiguous(), window_start - first, layout
