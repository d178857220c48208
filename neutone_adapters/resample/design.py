"""Kaiser-windowed sinc low-pass filters for rational sample-rate conversion.

Conversion from ``in_rate`` to ``out_rate`` (Hz) runs on the common grid of
``F = lcm(in_rate, out_rate)`` ticks per second: input sample ``k`` sits on tick ``k * P``
(``P = F / in_rate``), output sample ``j`` on tick ``t_j = j * Q + phase`` (``Q = F / out_rate``), and

    y[j] = sum_k x[k] * h(t_j - C - k * P),

with ``h`` a linear-phase low-pass of ``2 * C + 1`` ticks centred on tick ``C`` (so ``y[j]`` is
``x`` at tick ``t_j - C``, exactly). ``h`` is the Kaiser-windowed ideal low-pass (Kaiser 1974;
lengths and ``beta`` from Oppenheim & Schafer, *Discrete-Time Signal Processing*, 3rd ed.,
eq. 7.62-7.63):

    h(t) = 2 f_c sinc(2 f_c t) I0(beta sqrt(1 - (t / T_w)^2)) / I0(beta),   |t| <= T_w,

cut off at ``f_c`` midway between the pass edge and the stop edge (fractions of the lower
Nyquist frequency), ``T_w = C / F`` seconds. Output ``j`` reads the ``taps`` inputs ending at
``e_j = floor(t_j / P)``; its taps depend only on ``rho_j = t_j mod P`` and are normalised to
sum to 1 (exact DC gain whatever the phase).

Two layouts of the same taps: :func:`period_matrix`, the ``(span, S * P)`` matrix shared by every
block of ``S * P`` consecutive outputs (rate pairs with a short period), and
:func:`farrow_coefficients`, each tap as a polynomial in ``rho_j`` (Farrow, "A continuously
variable digital delay element", ISCAS 1988) for pairs whose period is too long to tabulate.
Everything here runs at configure time, never per block.
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
    return math.ceil(0.5 * length_seconds * tick_rate)


def rate_ticks(in_rate: int, out_rate: int, quality: List[float]) -> List[int]:
    """``[P, Q, C, taps]``: ticks per input and per output sample, half-length (ticks) and inputs
    per output (``floor(2 C / P) + 1``)."""
    divisor = math.gcd(in_rate, out_rate)
    input_ticks = out_rate // divisor
    center = half_length_ticks(in_rate, out_rate, quality)
    return [input_ticks, in_rate // divisor, center, (2 * center) // input_ticks + 1]


def block_periods(input_ticks: int) -> int:
    """Periods ``S`` per block of the period matrix: at least 16 outputs, so short periods (e.g.
    48 -> 96 kHz, ``P = 2``) still make products wide enough to run at full speed."""
    return (16 + input_ticks - 1) // input_ticks


def kaiser_sinc(offset: Tensor, in_rate: int, out_rate: int, quality: List[float], center: int) -> Tensor:
    """Kaiser-windowed sinc taps (float64, not normalised) at ``offset`` ticks (any dtype) from
    each output's centre: ``h(offset / F)``, 0 outside ``|offset| <= center``.

    Shape: ``offset`` ``(...)`` -> ``(...)``."""
    tick_rate = float((out_rate // math.gcd(in_rate, out_rate)) * in_rate)
    nyquist = 0.5 * float(min(in_rate, out_rate))
    cutoff_hz = 0.5 * (quality[0] + quality[1]) * nyquist
    beta = kaiser_beta(quality[2])
    ticks = offset.to(torch.float64)
    ratio = (ticks / float(center)).clamp(-1.0, 1.0)
    window = torch.special.i0(beta * torch.sqrt(1.0 - ratio * ratio)) / torch.special.i0(torch.tensor(beta, dtype=torch.float64))
    inside = ticks.abs() <= float(center)
    return torch.sinc(2.0 * cutoff_hz * ticks / tick_rate) * window * inside.to(torch.float64)


def period_matrix(in_rate: int, out_rate: int, quality: List[float], phase_ticks: int, ticks: List[int]) -> Tuple[Tensor, Tensor]:
    """The taps of a block of ``S * P`` consecutive outputs (``S`` periods, :func:`block_periods`),
    shared by every such block.

    Args:
        in_rate: input rate in Hz.
        out_rate: output rate in Hz.
        quality: ``[pass_fraction, stop_fraction, attenuation_db]``.
        phase_ticks: ``phase`` of the output grid, in ticks (>= 0).
        ticks: :func:`rate_ticks` of the pair.

    Returns:
        ``weights`` ``(span, S * P)`` float64 (column ``r``: the taps of output ``b * S * P + r``
        over the ``span`` inputs from ``first_window_start + b * S * Q``, any block ``b``) and
        ``ends`` ``(S * P,)`` int64, each column's last input relative to the window start.

    Shape: ``-> (span, S * P), (S * P,)``.
    """
    input_ticks, output_ticks, center, taps = ticks[0], ticks[1], ticks[2], ticks[3]
    block = input_ticks * block_periods(input_ticks)
    output_tick = torch.arange(block, dtype=torch.int64) * output_ticks + phase_ticks
    last_input = torch.div(output_tick, input_ticks, rounding_mode="floor")
    window_start = int(last_input[0].item()) - taps + 1
    span = int(last_input[-1].item()) - window_start + 1
    input_tick = (window_start + torch.arange(span, dtype=torch.int64)) * input_ticks
    offset = output_tick.reshape(1, block) - input_tick.reshape(span, 1) - center
    weights = kaiser_sinc(offset, in_rate, out_rate, quality, center)
    return weights / weights.sum(0, keepdim=True), last_input - window_start


def farrow_coefficients(in_rate: int, out_rate: int, quality: List[float], ticks: List[int]) -> Tensor:
    """Each of the ``taps`` normalised taps as a polynomial in ``u = 2 rho / P - 1`` (``rho = t_j
    mod P``, the output's offset past its last input): ``tap_i = sum_m c[i, m] u^m``, least squares
    on Chebyshev nodes (``ticks``: :func:`rate_ticks` of the pair). The degree is the least (up to
    16) whose largest error is 20 dB below the stop-band attenuation, or down to the step of ``h``
    at its window's ends (``h(+-C)``, where a tap leaves the window at ``rho = 2 C mod P``: no
    polynomial follows a step; about ``-130`` dB of the largest tap for ``high``, ``-95`` dB for
    ``low-latency``).

    Shape: ``-> (taps, degree + 1)`` float64, row ``i`` for input ``e_j - taps + 1 + i``.
    """
    input_ticks, center, taps = ticks[0], ticks[2], ticks[3]
    nodes = 64
    u = torch.cos(math.pi * (torch.arange(nodes, dtype=torch.float64) + 0.5) / nodes)
    check = torch.linspace(-1.0, 1.0, 4 * nodes - 1, dtype=torch.float64)
    phases = torch.cat([u, check]).reshape(-1, 1)
    taps_at = torch.arange(taps - 1, -1, -1, dtype=torch.float64) * input_ticks - center
    # every node's taps, then the window's end: one evaluation of h
    node_offsets = ((phases + 1.0) * (0.5 * input_ticks) + taps_at).reshape(-1)
    offsets = torch.cat([node_offsets, torch.tensor([float(center)], dtype=torch.float64)])
    values = kaiser_sinc(offsets, in_rate, out_rate, quality, center)
    taps_values = values.narrow(0, 0, phases.size(0) * taps).reshape(-1, taps)
    totals = taps_values.sum(1, keepdim=True)
    normalised = taps_values / totals
    fitted = normalised.narrow(0, 0, nodes)
    exact = normalised.narrow(0, nodes, check.size(0))
    step = float(values[-1].item()) / float(totals.min().item())
    tolerance = max(10.0 ** (-(quality[2] + 20.0) / 20.0) * float(exact.abs().max().item()), step)
    coefficients = torch.zeros(0, 0, dtype=torch.float64)
    for degree in range(4, 17):
        powers = torch.arange(degree + 1, dtype=torch.float64)
        coefficients = torch.linalg.lstsq(u.reshape(-1, 1) ** powers, fitted, driver="gels").solution
        error = (check.reshape(-1, 1) ** powers) @ coefficients - exact
        if float(error.abs().max().item()) <= tolerance:
            break
    return coefficients.t().contiguous()


def farrow_block(coefficients: Tensor, positions: int) -> Tuple[Tensor, Tensor]:
    """The Farrow filterbank as a block matrix: ``positions`` consecutive input positions times
    ``terms`` polynomial terms, column ``p * terms + m`` holding term ``m``'s filter on rows
    ``p .. p + taps - 1`` (the window of position ``p``).

    Shape: ``(taps, terms) -> (positions + taps - 1, positions * terms), (positions * terms,)``.
    """
    taps = coefficients.size(0)
    terms = coefficients.size(1)
    matrix = torch.zeros(positions + taps - 1, positions * terms, dtype=coefficients.dtype)
    for position in range(positions):
        matrix.narrow(0, position, taps).narrow(1, position * terms, terms).copy_(coefficients)
    ends = torch.arange(positions, dtype=torch.int64).repeat_interleave(terms) + taps - 1
    return matrix, ends


def product_cost(kinds: int, band: int, group: int, rows: int) -> float:
    """Estimated time (us) of one call's products in ``kinds`` column groups of ``group`` outputs
    over ``band`` rows, for ``rows`` windows per group: the window copy, the product (one ``mm``,
    or a batched ``bmm`` and the copy that interleaves its groups). A linear fit to times
    measured inside TorchScript with MKL on AVX-512 over twelve rate pairs and 2..56 blocks per
    call (the chosen layout 0.5 % slower than the best on average, 7 % at worst); it only
    chooses a layout, never changes a result beyond float rounding."""
    padded = kinds * band * ((group + 15) // 16 * 16)
    cost = 0.06 * kinds + 1.98e-4 * kinds * rows * band + 3.15e-5 * padded * ((rows + 7) // 8) + 5.47e-6 * rows * padded
    return cost + (1.34 if kinds > 1 else 0.0)


def column_groups(ends: Tensor, taps: int, rows: int) -> List[int]:
    """Split the block's ``N`` columns into ``N / G`` groups of ``G`` consecutive outputs, group
    ``g`` reading its own band of ``band`` inputs from ``g * step`` (``step`` the same for every
    group, so one strided view reads all bands): fewer multiply-adds on the zeros outside each
    column's taps, at the cost of more, smaller products. Chooses ``G`` by :func:`product_cost`
    for ``rows`` rows per group.

    Returns ``[G, step, band]``.
    """
    block = ends.size(0)
    starts = ends - taps + 1
    best = [block, 0, int(ends[-1].item()) + 1]
    best_cost = 1e30
    for group in range(min(8, block), block + 1):
        if block % group != 0:
            continue
        first = starts.reshape(-1, group)[:, 0]
        last = ends.reshape(-1, group)[:, -1]
        index = torch.arange(first.size(0), dtype=torch.int64)
        step = 0
        if group < block:
            step = int(torch.div(first[1:], index[1:], rounding_mode="floor").min().item())
        band = int((last - index * step).max().item()) + 1
        cost = product_cost(block // group, band, group, rows)
        if cost < best_cost:
            best = [group, step, band]
            best_cost = cost
    return best
