"""The design for rate pairs with a short period: the period's taps as one block matrix.

Outputs ``b * N .. b * N + N - 1`` (``N = S * P``, whole periods) come from the ``span`` inputs
starting ``b * S * Q`` after block 0's through the matrix of ``design.period_matrix``, run by
``blocks.BlockProducts``. The signals carried along by sample-and-hold take, for output ``j``,
the input nearest its content time, ``round((t_j - C) / P)``; that index is periodic in the same
blocks (``+ S * Q`` per block), so one table of indices from a block's start serves every call,
read by one gather (:meth:`PeriodicKernel.held_views`).
"""


from typing import List

import torch
from torch import Tensor, nn

from neutone_adapters.resample.blocks import padded_matrix
from neutone_adapters.resample.design import period_matrix


class PeriodicKernel(nn.Module):
    """The block matrix of a rate pair, quality and phase, and the held signals of its outputs.

    ``design`` builds the matrix (kept across ``allocate`` calls); ``allocate`` sizes the held
    signals' buffers for at most ``max_outputs`` per call.

    Shape: the output of :meth:`held_views` is ``(held_channels, n)``, valid until the next call.
    """

    design_key: List[float]

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("matrix", torch.zeros(0, 0), persistent=False)
        self.register_buffer("column_ends", torch.zeros(0, dtype=torch.int64), persistent=False)
        self.register_buffer("nearest", torch.zeros(0, dtype=torch.int64), persistent=False)
        self.register_buffer("hold_table", torch.zeros(0, 0, dtype=torch.int64), persistent=False)
        self.register_buffer("held_outputs", torch.zeros(0), persistent=False)
        self.design_key: List[float] = []
        self.taps = 1
        self.window_start = 0
        self.block_outputs = 1
        self.block_inputs = 1
        self.hold_start = 0
        self.hold_span = 1
        self.channels = 1
        self.held_channels = 0
        self.max_outputs = 1

    @torch.jit.export
    def design(self, in_rate: int, out_rate: int, quality: List[float], phase_ticks: int, ticks: List[int]) -> None:
        """Build the block matrix (``ticks``: ``design.rate_ticks`` of the pair; skipped when rates,
        quality and phase are unchanged)."""
        key = [float(in_rate), float(out_rate), float(phase_ticks)] + quality
        if key == self.design_key:
            return
        matrix, ends = period_matrix(in_rate, out_rate, quality, phase_ticks, ticks)
        self.matrix = padded_matrix(matrix)
        self.column_ends = ends
        self.taps = ticks[3]
        self.window_start = phase_ticks // ticks[0] - ticks[3] + 1
        self.block_outputs = matrix.size(1)
        self.block_inputs = self.block_outputs // ticks[0] * ticks[1]
        outputs = torch.arange(self.block_outputs, dtype=torch.int64)
        nearest = torch.div(outputs * ticks[1] + phase_ticks - ticks[2] + ticks[0] // 2, ticks[0], rounding_mode="floor")
        self.hold_start = int(nearest[0].item())
        self.nearest = nearest - self.hold_start
        self.hold_span = int(self.nearest[-1].item()) + 1
        self.design_key = key

    @torch.jit.export
    def allocate(self, channels: int, held_channels: int, max_outputs: int) -> None:
        """Allocate the held signals' buffers for calls of up to ``max_outputs`` outputs."""
        blocks = (max_outputs + 2 * self.block_outputs - 2) // self.block_outputs
        self.channels = channels
        self.held_channels = held_channels
        self.max_outputs = max_outputs
        offsets = torch.arange(blocks, dtype=torch.int64).repeat_interleave(self.block_outputs) * self.block_inputs
        table = self.nearest.repeat(blocks) + offsets
        self.hold_table = torch.zeros(0, 0, dtype=torch.int64)
        if held_channels > 0:
            self.hold_table = table.expand(held_channels, table.size(0))
        self.held_outputs = torch.zeros(held_channels * max_outputs)

    def lookback(self) -> int:
        """Inputs before the first new sample of a push that the next pull may read."""
        return self.block_inputs + self.taps + 2

    def held_views(self, history: Tensor, base: int, first: int, n: int) -> List[Tensor]:
        """For outputs ``first .. first + n``: the held rows of ``history`` (column 0 holds input
        ``base``) they read, the index of each one's nearest input in them, and their output."""
        block = first // self.block_outputs
        start = first - block * self.block_outputs
        row_stride = history.size(1)
        column = self.hold_start + block * self.block_inputs - base + self.channels * row_stride
        blocks = (first + n - 1) // self.block_outputs - block + 1
        length = self.hold_span + (blocks - 1) * self.block_inputs
        return [
            torch.as_strided(history, [self.held_channels, length], [row_stride, 1], column),
            self.hold_table.narrow(1, start, n),
            self.held_outputs.narrow(0, 0, self.held_channels * n).view(self.held_channels, n),
        ]
