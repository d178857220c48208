"""The kernel for rate pairs with a short period: the period's taps as one block matrix.

Outputs ``b * N .. b * N + N - 1`` (``N = S * P``, whole periods) come from the ``span`` inputs
starting ``b * S * Q`` after block 0's through the matrix of ``design.period_matrix``
(``blocks.BlockProducts``). The signals carried along by sample-and-hold take, for output
``j``, the input nearest its content time, ``round((t_j - C) / P)``; that index is periodic in
the same blocks (``+ S * Q`` per block), so one table of ``R * N`` indices serves every call
touching ``R`` blocks, read by one gather.
"""


from typing import Dict, List

import torch
from torch import Tensor, nn

from neutone_adapters.resample.blocks import VIEW_CACHE_SIZE, BlockProducts
from neutone_adapters.resample.design import period_matrix, rate_ticks


class PeriodicKernel(nn.Module):
    """Computes outputs ``first .. first + n`` (ticks ``j * Q + phase``) from a history of inputs.

    ``design`` builds the matrix for a rate pair, quality and phase (kept across ``allocate``
    calls); ``allocate`` lays it out for ``channels`` and at most ``max_outputs`` per call.

    Shape: ``pull`` -> ``(channels, n)``; ``held`` -> ``(held_channels, n)``; views of internal
    buffers, valid until the next call.
    """

    design_key: List[float]
    held_views: Dict[int, List[Tensor]]

    def __init__(self) -> None:
        super().__init__()
        self.products = BlockProducts()
        self.register_buffer("nearest", torch.zeros(0, dtype=torch.int64), persistent=False)
        self.register_buffer("hold_table", torch.zeros(0, 0, dtype=torch.int64), persistent=False)
        self.register_buffer("held_outputs", torch.zeros(0), persistent=False)
        self.design_key: List[float] = []
        self.held_views: Dict[int, List[Tensor]] = {}
        self.view_cache_size = VIEW_CACHE_SIZE
        self.taps = 1
        self.block_inputs = 1
        self.hold_start = 0
        self.hold_span = 1
        self.channels = 1
        self.held_channels = 0
        self.max_outputs = 1

    @torch.jit.export
    def design(self, in_rate: int, out_rate: int, quality: List[float], phase_ticks: int) -> None:
        """Build the block matrix (skipped when rates, quality and phase are unchanged)."""
        key = [float(in_rate), float(out_rate), float(phase_ticks)] + quality
        if key == self.design_key:
            return
        ticks = rate_ticks(in_rate, out_rate, quality)
        matrix, ends = period_matrix(in_rate, out_rate, quality, phase_ticks)
        block_outputs = matrix.size(1)
        self.block_inputs = block_outputs // ticks[0] * ticks[1]
        self.taps = ticks[3]
        self.products.set_matrix(matrix, ends, ticks[3], phase_ticks // ticks[0] - ticks[3] + 1, self.block_inputs)
        outputs = torch.arange(block_outputs, dtype=torch.int64)
        nearest = torch.div(outputs * ticks[1] + phase_ticks - ticks[2] + ticks[0] // 2, ticks[0], rounding_mode="floor")
        self.hold_start = int(nearest[0].item())
        self.nearest = nearest - self.hold_start
        self.hold_span = int(self.nearest[-1].item()) + 1
        self.design_key = key

    @torch.jit.export
    def allocate(self, channels: int, held_channels: int, max_outputs: int) -> None:
        """Allocate the buffers of calls of up to ``max_outputs`` outputs."""
        self.products.allocate(channels, max_outputs)
        blocks = self.products.max_blocks
        block_outputs = self.products.block_outputs
        self.channels = channels
        self.held_channels = held_channels
        self.max_outputs = max_outputs
        offsets = torch.arange(blocks, dtype=torch.int64).repeat_interleave(block_outputs) * self.block_inputs
        table = self.nearest.repeat(blocks) + offsets
        self.hold_table = torch.zeros(0, 0, dtype=torch.int64)
        if held_channels > 0:
            self.hold_table = table.expand(held_channels, table.size(0))
        self.held_outputs = torch.zeros(held_channels * blocks * block_outputs)
        self.held_views.clear()

    def lookback(self) -> int:
        """Inputs before the first new sample of a push that the next ``pull`` may read."""
        return self.block_inputs + self.taps + 2

    def lookahead(self) -> int:
        """Inputs past the newest one that a ``pull`` may read (of blocks it discards)."""
        return self.products.lookahead()

    def oldest_input(self, first: int) -> int:
        """Oldest input that outputs from ``first`` on read."""
        return min(self.products.window_start, self.hold_start) + self.products.first_block(first) * self.block_inputs

    def pull(self, history: Tensor, base: int, first: int, n: int) -> Tensor:
        """Outputs ``first .. first + n`` (``n >= 1``) from ``history``, whose column 0 holds input
        ``base``."""
        return self.products.pull(history, base, first, n)

    def held(self, history: Tensor, base: int, first: int, n: int) -> Tensor:
        """Rows ``channels ..`` of ``history`` at the input nearest each output's content time."""
        block = self.products.first_block(first)
        block_outputs = self.products.block_outputs
        start = first - block * block_outputs
        column = self.hold_start + block * self.block_inputs - base + self.channels * history.size(1)
        key = (column * block_outputs + start) * (self.max_outputs + 1) + n
        if key in self.held_views:
            views = self.held_views[key]
        else:
            blocks = self.products.blocks_touched(first, n)
            length = self.hold_span + (blocks - 1) * self.block_inputs
            stride = blocks * block_outputs
            views = [
                torch.as_strided(history, [self.held_channels, length], [history.size(1), 1], column),
                self.hold_table.narrow(1, 0, stride),
                self.held_outputs.narrow(0, 0, self.held_channels * stride).view(self.held_channels, stride),
                torch.as_strided(self.held_outputs, [self.held_channels, n], [stride, 1], start),
            ]
            if len(self.held_views) < self.view_cache_size:
                self.held_views[key] = views
        torch.gather(views[0], 1, views[1], out=views[2])
        return views[3]
