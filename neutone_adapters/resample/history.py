"""The input history of a streaming resampler: one buffer, appended to, moved to its front when full.

Rows: the filtered signals, then the signals carried by sample-and-hold; column ``c`` holds
input ``base + c``. A push writes at the write position; when ``n`` more samples would not fit
in ``capacity`` columns, the last ``keep`` columns (every input a later pull can read) move to
the front, every ``capacity / n_max`` calls or so. The move never overlaps itself (it happens
past ``2 * keep``). Pulls may read up to ``lookahead`` columns past the newest input (outputs
they compute and discard), so the rows are that much longer. The write targets of a push are
kept per position and length in a small dictionary (a host keeping its buffer size revisits
few).
"""


from typing import Dict, List

import torch
from torch import Tensor, nn


class InputHistory(nn.Module):
    """The inputs a resampler has been given, as far back as its filters read.

    Shape: ``push`` ``(channels + held_channels, n)``; ``push_with`` ``(channels, n)`` and
    ``(held_channels, n)``; ``history`` ``(channels + held_channels, capacity + lookahead)``.
    """

    targets: Dict[int, List[Tensor]]

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("history", torch.zeros(0, 0), persistent=False)
        self.targets: Dict[int, List[Tensor]] = {}
        self.cache_size = 64
        self.channels = 1
        self.held_channels = 0
        self.max_inputs = 0
        self.keep = 0
        self.capacity = 0
        self.inputs_seen = 0
        self.write_position = 0
        self.base = 0

    @torch.jit.export
    def allocate(
        self, channels: int, held_channels: int, max_inputs: int, keep: int, lookahead: int, compaction_span: int, cache_size: int
    ) -> None:
        """A buffer for pushes of up to ``max_inputs`` samples, pulls reading ``keep`` samples
        back from a push's first new sample and ``lookahead`` past the newest, moved at most every
        ``compaction_span`` samples; up to ``cache_size`` write targets kept."""
        self.channels = channels
        self.held_channels = held_channels
        self.max_inputs = max_inputs
        self.keep = keep
        self.capacity = 2 * keep + max(max_inputs, compaction_span)
        self.history = torch.zeros(channels + held_channels, self.capacity + lookahead)
        self.cache_size = cache_size
        self.targets.clear()
        self.reset()

    @torch.jit.export
    def reset(self) -> None:
        """Forget the inputs: the input before the first push is zeros."""
        self.history.zero_()
        self.inputs_seen = 0
        self.write_position = self.keep
        self.base = -self.keep

    def _make_room(self, n: int) -> int:
        """Write position for ``n`` more samples; moves the last ``keep`` samples to the front
        when the buffer would overflow."""
        if n > self.max_inputs:
            raise RuntimeError(
                "resampler push of " + str(n) + " samples: configured for at most " + str(self.max_inputs)
            )
        position = self.write_position
        if position + n > self.capacity:
            self.history.narrow(1, 0, self.keep).copy_(self.history.narrow(1, position - self.keep, self.keep))
            self.base += position - self.keep
            position = self.keep
        self.write_position = position + n
        self.inputs_seen += n
        return position

    def _hold_first_value(self, position: int) -> None:
        """Before the first push the held signals read as their first value (a knob is where it
        starts, not at 0); the filtered signals are zeros."""
        held_rows = self.history.narrow(0, self.channels, self.held_channels)
        held_rows.narrow(1, 0, position).copy_(held_rows.narrow(1, position, 1).expand(self.held_channels, position))

    def _targets(self, position: int, n: int) -> List[Tensor]:
        """Where ``n`` samples written at ``position`` go: all rows, the filtered rows, the held rows."""
        key = position * (self.max_inputs + 1) + n
        cached = self.targets.get(key)
        if cached is not None:
            return cached
        row_stride = self.history.size(1)
        # no held rows: an empty view at 0 (one past the storage's end cannot be saved)
        held_position = position + self.channels * row_stride if self.held_channels > 0 else 0
        views = [
            torch.as_strided(self.history, [self.channels + self.held_channels, n], [row_stride, 1], position),
            torch.as_strided(self.history, [self.channels, n], [row_stride, 1], position),
            torch.as_strided(self.history, [self.held_channels, n], [row_stride, 1], held_position),
        ]
        if len(self.targets) < self.cache_size:
            self.targets[key] = views
        return views

    @torch.jit.export
    def push(self, x: Tensor) -> None:
        """Append ``x`` (all rows); non-finite samples enter as 0 (a stray NaN would otherwise
        poison every window that spans it)."""
        first_push = self.inputs_seen == 0
        n = x.size(1)
        position = self._make_room(n)
        torch.nan_to_num(x, 0.0, 0.0, 0.0, out=self._targets(position, n)[0])
        if first_push and self.held_channels > 0:
            self._hold_first_value(position)

    @torch.jit.export
    def push_with(self, x: Tensor, held: Tensor) -> None:
        """Append ``x`` (the filtered rows) and ``held`` (the held rows)."""
        first_push = self.inputs_seen == 0
        n = x.size(1)
        position = self._make_room(n)
        targets = self._targets(position, n)
        targets[1].copy_(x)
        targets[2].copy_(held)
        if first_push:
            self._hold_first_value(position)
