"""Block products: outputs in blocks of ``N``, each block one shared matrix over a window of inputs.

Output ``b * N + r`` is ``sum_i x[w + b * S + i] * W[i, r]`` for a ``(span, N)`` matrix ``W``,
window start ``w`` and ``S`` inputs per block: the polyphase structure of a rational
resampler (``N = P`` outputs per ``S = Q`` inputs) and of a Farrow filterbank (``N = 16 *
terms`` values per 16 inputs). A call copies the windows of the ``R`` blocks its outputs
touch (one strided copy of the history) and runs one batched product; outputs of a block
partly beyond the input so far are computed, discarded and recomputed by the next call.
Column ``r`` is nonzero only on the ``taps`` rows of its inputs, so the columns are split into
``N / G`` groups of ``G``, group ``g`` reading its own band of rows from ``g * step``
(``design.column_groups``): ``(N / G, channels * R, band) @ (N / G, band, G)``, then one copy
interleaves the groups (Crochiere & Rabiner, *Multirate Digital Signal Processing*, 1983,
ch. 3: polyphase structures).
"""


from typing import Dict, List

import torch
from torch import Tensor, nn

from neutone_adapters.resample.design import column_groups


def padded_matrix(matrix: Tensor) -> Tensor:
    """``matrix`` as float32 with its rows padded to a multiple of 16 floats (the product runs
    faster on aligned rows), as a view of its own storage. Shape: ``(span, N) -> (span, N)``."""
    padded = torch.zeros(matrix.size(0), (matrix.size(1) + 15) // 16 * 16)
    padded.narrow(1, 0, matrix.size(1)).copy_(matrix)
    return padded.narrow(1, 0, matrix.size(1))


class BlockProducts(nn.Module):
    """Computes block outputs ``first .. first + n`` of ``channels`` signals from a history.

    Shape: ``pull`` -> ``(channels, n)``, a view of an internal buffer valid until the next call
    (row stride ``R * N``).
    """

    shaped: Dict[int, List[Tensor]]

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("matrix", torch.zeros(0, 0), persistent=False)
        self.register_buffer("column_ends", torch.zeros(0, dtype=torch.int64), persistent=False)
        self.register_buffer("weights", torch.zeros(0, 0, 0), persistent=False)
        self.register_buffer("windows", torch.zeros(0), persistent=False)
        self.register_buffer("products", torch.zeros(0), persistent=False)
        self.register_buffer("outputs", torch.zeros(0), persistent=False)
        self.shaped: Dict[int, List[Tensor]] = {}
        self.block_outputs = 1
        self.block_inputs = 1
        self.window_start = 0
        self.taps = 1
        self.span = 1
        self.kinds = 1
        self.group = 1
        self.step = 0
        self.band = 1
        self.channels = 1
        self.max_blocks = 1
        self.max_outputs = 1

    @torch.jit.export
    def set_matrix(self, matrix: Tensor, column_ends: Tensor, taps: int, window_start: int, block_inputs: int) -> None:
        """The block matrix ``(span, N)`` float32 (see :func:`padded_matrix`), each column's last
        nonzero row, its nonzero rows per column, the first block's window start (an input index)
        and inputs per block."""
        self.matrix = matrix
        self.span = matrix.size(0)
        self.block_outputs = matrix.size(1)
        self.column_ends = column_ends
        self.taps = taps
        self.window_start = window_start
        self.block_inputs = block_inputs

    @torch.jit.export
    def allocate(self, channels: int, max_outputs: int) -> None:
        """Lay the matrix out in column groups for ``channels`` and allocate the buffers of calls
        of up to ``max_outputs`` outputs."""
        blocks = (max_outputs + 2 * self.block_outputs - 2) // self.block_outputs
        typical = (max_outputs + self.block_outputs - 1) // self.block_outputs
        layout = column_groups(self.column_ends, self.taps, channels * typical)
        self.group = layout[0]
        self.step = layout[1]
        self.band = layout[2]
        self.kinds = self.block_outputs // self.group
        if self.kinds == 1:
            self.weights = self.matrix.unsqueeze(0)
        else:
            weights = torch.zeros(self.kinds, self.band, (self.group + 15) // 16 * 16)
            for kind in range(self.kinds):
                rows = min(self.band, self.span - kind * self.step)
                columns = self.matrix.narrow(1, kind * self.group, self.group).narrow(0, kind * self.step, rows)
                weights[kind].narrow(0, 0, rows).narrow(1, 0, self.group).copy_(columns)
            self.weights = weights.narrow(2, 0, self.group)
        self.channels = channels
        self.max_blocks = blocks
        self.max_outputs = max_outputs
        self.windows = torch.zeros(self.kinds * channels * blocks * self.band)
        self.outputs = torch.zeros(channels * blocks * self.block_outputs)
        self.products = torch.zeros(self.outputs.size(0) if self.kinds > 1 else 0)
        self.shaped.clear()
        for touched in range(max(1, blocks - 2), blocks + 1):
            self.shaped_views(touched)

    def lookahead(self) -> int:
        """Inputs past the newest one that a call may read (of blocks it discards)."""
        return max(self.span, (self.kinds - 1) * self.step + self.band) + self.block_inputs + 2

    def blocks_touched(self, first: int, n: int) -> int:
        """Blocks that outputs ``first .. first + n`` touch."""
        return (first + n - 1) // self.block_outputs - first // self.block_outputs + 1

    def shaped_views(self, blocks: int) -> List[Tensor]:
        """Buffers shaped for a call touching ``blocks`` blocks (the likely ones made by
        ``allocate``, others on first use): window copy target, product input, product output,
        group interleaving source and target (2-D products, no interleaving, for one group)."""
        if blocks in self.shaped:
            return self.shaped[blocks]
        rows = self.channels * blocks
        windows = self.windows.narrow(0, 0, self.kinds * rows * self.band)
        outputs = self.outputs.narrow(0, 0, rows * self.block_outputs)
        target = windows.view(self.kinds, self.channels, blocks, self.band)
        if self.kinds == 1:
            dense = outputs.view(rows, self.block_outputs)
            views = [target, windows.view(rows, self.band), dense, dense, dense]
        else:
            products = self.products.narrow(0, 0, rows * self.block_outputs).view(self.kinds, rows, self.group)
            views = [
                target,
                windows.view(self.kinds, rows, self.band),
                products,
                products.view(self.kinds, self.channels, blocks, self.group).permute(1, 2, 0, 3),
                outputs.view(self.channels, blocks, self.kinds, self.group),
            ]
        self.shaped[blocks] = views
        return views

    def call_views(self, history: Tensor, column: int, first: int, n: int) -> List[Tensor]:
        """The views of a call: :meth:`shaped_views`, then the window source in ``history`` (from
        ``column``) and the result view of outputs ``first .. first + n``."""
        blocks = self.blocks_touched(first, n)
        sizes = [self.kinds, self.channels, blocks, self.band]
        return self.shaped_views(blocks) + [
            torch.as_strided(history, sizes, [self.step, history.size(1), self.block_inputs, 1], column),
            torch.as_strided(self.outputs, [self.channels, n], [blocks * self.block_outputs, 1], first % self.block_outputs),
        ]

    def column(self, base: int, first: int) -> int:
        """Column of ``history`` (whose column 0 holds input ``base``) where the windows of the
        block of output ``first`` start; raises when those inputs have left the history."""
        column = self.window_start + (first // self.block_outputs) * self.block_inputs - base
        if column < 0:
            raise RuntimeError(
                "resampler history overrun at input " + str(column + base) + "; pull what push returns before pushing more"
            )
        return column

    def run(self, views: List[Tensor]) -> Tensor:
        """One call on its :meth:`call_views`: copy the windows, multiply, interleave the groups;
        returns the outputs."""
        views[0].copy_(views[5])
        if self.kinds == 1:
            torch.mm(views[1], self.matrix, out=views[2])
        else:
            torch.bmm(views[1], self.weights, out=views[2])
            views[4].copy_(views[3])
        return views[6]

    def pull(self, history: Tensor, base: int, first: int, n: int) -> Tensor:
        """Outputs ``first .. first + n`` (``n >= 1``) from ``history``, whose column 0 holds input
        ``base`` (views made for this call)."""
        return self.run(self.call_views(history, self.column(base, first), first, n))
