"""The Farrow kernel for rate pairs whose period is too long to tabulate (e.g. 44101 -> 48000 Hz).

Output ``j`` reads the ``taps`` inputs ending at ``e_j`` with taps that are polynomials in its
phase ``u_j = 2 rho_j / P - 1`` (``design.farrow_coefficients``), so

    y[j] = sum_m u_j^m z_m[e_j],    z_m[e] = sum_i x[e - taps + 1 + i] c[i, m]

(Farrow, "A continuously variable digital delay element", ISCAS 1988). The ``terms`` filters
``z_m`` run at the input rate as block products (``blocks.BlockProducts`` over the matrix of
``design.farrow_block``, 16 positions per block: :meth:`FarrowKernel.filter_range` says which),
and :meth:`FarrowKernel.combine` picks each output's row of ``z`` and weighs it by the powers of
its phase. The tables depend on the rates and quality only; the phase of the
output grid enters through ``rho_j = (j * Q + phase) mod P``, computed per call in integer
arithmetic.
"""


from typing import List

import torch
from torch import Tensor, nn

from neutone_adapters.resample.blocks import padded_matrix
from neutone_adapters.resample.design import farrow_block, farrow_coefficients


class FarrowKernel(nn.Module):
    """The filterbank of a rate pair and quality, and the per-output combination of its rows for
    outputs ``first .. first + n`` (ticks ``j * Q + phase``).

    Shape: ``combine`` -> ``(channels, n)``; ``held`` -> ``(held_channels, n)``; views of internal
    buffers, valid until the next call.
    """

    design_key: List[float]
    picked_views: List[Tensor]

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("matrix", torch.zeros(0, 0), persistent=False)
        self.register_buffer("column_ends", torch.zeros(0, dtype=torch.int64), persistent=False)
        for name in ["output_steps", "ticks", "last_inputs", "offsets", "nearest"]:
            self.register_buffer(name, torch.zeros(0, dtype=torch.int64), persistent=False)
        for name in ["phase", "phases", "powers", "picked", "weighted", "ones", "outputs", "held_outputs"]:
            self.register_buffer(name, torch.zeros(0), persistent=False)
        self.register_buffer("start_tick", torch.zeros((), dtype=torch.int64), persistent=False)
        self.register_buffer("input_ticks_tensor", torch.ones((), dtype=torch.int64), persistent=False)
        self.register_buffer("hold_shift", torch.zeros((), dtype=torch.int64), persistent=False)
        self.register_buffer("phase_scale", torch.ones(()), persistent=False)
        self.register_buffer("one", torch.ones(()), persistent=False)
        self.design_key: List[float] = []
        self.picked_views: List[Tensor] = []
        self.positions_per_block = 16
        self.input_ticks = 1
        self.output_ticks = 1
        self.center_ticks = 0
        self.taps = 1
        self.terms = 1
        self.phase_ticks = 0
        self.channels = 1
        self.held_channels = 0
        self.max_outputs = 0
        self.hold_back = 0
        self.phases_first = -1
        self.phases_last = 0

    @torch.jit.export
    def design(self, in_rate: int, out_rate: int, quality: List[float], phase_ticks: int, ticks: List[int]) -> None:
        """Fit the tap polynomials (``ticks``: ``design.rate_ticks`` of the pair; skipped when rates
        and quality are unchanged)."""
        self.phase_ticks = phase_ticks
        self.phases_first = -1
        key = [float(in_rate), float(out_rate)] + quality
        if key == self.design_key:
            return
        self.input_ticks = ticks[0]
        self.output_ticks = ticks[1]
        self.center_ticks = ticks[2]
        self.taps = ticks[3]
        coefficients = farrow_coefficients(in_rate, out_rate, quality, ticks)
        self.terms = coefficients.size(1)
        matrix, ends = farrow_block(coefficients, self.positions_per_block)
        self.matrix = padded_matrix(matrix)
        self.column_ends = ends
        self.input_ticks_tensor.fill_(self.input_ticks)
        self.phase_scale.fill_(2.0 / self.input_ticks)
        # nearest input (ties up) to each output's content time, counted from ``e_first - hold_back``
        self.hold_back = self.center_ticks // self.input_ticks + 2
        self.hold_shift.fill_(self.input_ticks // 2 - self.center_ticks + self.hold_back * self.input_ticks)
        self.design_key = key

    @torch.jit.export
    def allocate(self, channels: int, held_channels: int, max_outputs: int) -> None:
        """Allocate the buffers of calls of up to ``max_outputs`` outputs."""
        self.channels = channels
        self.held_channels = held_channels
        self.max_outputs = max_outputs
        self.output_steps = torch.arange(max_outputs, dtype=torch.int64) * self.output_ticks
        self.ticks = torch.zeros(max_outputs, dtype=torch.int64)
        self.last_inputs = torch.zeros(max_outputs, dtype=torch.int64)
        self.offsets = torch.zeros(max_outputs, 1, dtype=torch.int64)
        self.nearest = torch.zeros(max_outputs, dtype=torch.int64)
        self.phase = torch.zeros(max_outputs, 1)
        self.phases = torch.ones(max_outputs, self.terms)
        self.powers = torch.zeros(max_outputs, self.terms)
        self.picked = torch.zeros(channels, max_outputs, self.terms)
        self.weighted = torch.zeros(channels * max_outputs, self.terms)
        self.ones = torch.ones(self.terms, 1)
        self.outputs = torch.zeros(channels, max_outputs)
        self.picked_views = [self.picked[channel] for channel in range(channels)]
        self.held_outputs = torch.zeros(held_channels, max_outputs)
        self.phases_first = -1

    def filter_outputs(self, max_outputs: int) -> int:
        """Most filterbank values a call of ``max_outputs`` outputs needs."""
        return ((self.input_ticks - 1 + (max_outputs - 1) * self.output_ticks) // self.input_ticks + 1) * self.terms

    def lookback(self) -> int:
        """Inputs before the first new sample of a push that the next pull may read."""
        return max(self.taps, self.hold_back) + self.positions_per_block + 2

    def _phases(self, first: int) -> int:
        """Last input (relative to ``e_first``) and phase powers of every output from ``first``
        on (all ``max_outputs``, so the buffers keep their shapes; computed once for ``held`` and
        ``pull`` of the same outputs); returns ``e_first``."""
        if first == self.phases_first:
            return self.phases_last
        tick = first * self.output_ticks + self.phase_ticks
        last = tick // self.input_ticks
        self.start_tick.fill_(tick - last * self.input_ticks)
        torch.add(self.output_steps, self.start_tick, out=self.ticks)
        torch.div(self.ticks, self.input_ticks_tensor, rounding_mode="floor", out=self.last_inputs)
        torch.remainder(self.ticks.view(-1, 1), self.input_ticks_tensor, out=self.offsets)
        self.phase.copy_(self.offsets)
        self.phase.mul_(self.phase_scale).sub_(self.one)
        self.phases.narrow(1, 1, self.terms - 1).copy_(self.phase.expand(self.max_outputs, self.terms - 1))
        torch.cumprod(self.phases, 1, out=self.powers)
        self.phases_first = first
        self.phases_last = last
        return last

    def filter_range(self, first: int, n: int) -> List[int]:
        """The filterbank values (first, count) that outputs ``first .. first + n`` read: every
        term of the positions ``e_first .. e_last``."""
        last = self._phases(first)
        positions = (self.phase_ticks + (first + n - 1) * self.output_ticks) // self.input_ticks - last + 1
        return [last * self.terms, positions * self.terms]

    def combine(self, filtered: Tensor, row_stride: int, start: int, positions: int, n: int) -> Tensor:
        """Outputs ``first .. first + n`` from the filterbank values of :meth:`filter_range` (after
        ``_phases(first)``): per channel ``positions`` rows of ``terms`` in ``filtered`` from
        ``start``, ``row_stride`` apart."""
        self.last_inputs.clamp_(0, positions - 1)
        for channel in range(self.channels):
            offset = start + channel * row_stride
            rows = torch.as_strided(filtered, [positions, self.terms], [self.terms, 1], offset)
            torch.index_select(rows, 0, self.last_inputs, out=self.picked_views[channel])
        torch.mul(self.picked, self.powers, out=self.weighted.view(self.channels, self.max_outputs, self.terms))
        torch.mm(self.weighted, self.ones, out=self.outputs.view(-1, 1))
        return self.outputs.narrow(1, 0, n)

    def held(self, history: Tensor, base: int, first: int, n: int) -> Tensor:
        """Rows ``channels ..`` of ``history`` at the input nearest each output's content time."""
        last = self._phases(first)
        torch.add(self.ticks, self.hold_shift, out=self.nearest)
        self.nearest.floor_divide_(self.input_ticks_tensor)
        row_stride = history.size(1)
        column = last - self.hold_back - base + self.channels * row_stride
        tick = (first + n - 1) * self.output_ticks + self.phase_ticks - last * self.input_ticks
        length = (tick + self.input_ticks // 2 - self.center_ticks) // self.input_ticks + self.hold_back + 1
        source = torch.as_strided(history, [self.held_channels, length], [row_stride, 1], column)
        index = torch.as_strided(self.nearest, [self.held_channels, n], [0, 1], 0)
        out = self.held_outputs.narrow(1, 0, n)
        torch.gather(source, 1, index, out=out)
        return out
