"""Views of a queue buffer's columns, kept once made.

Taking a view of a buffer costs about as much as copying a host block into it (a new tensor
object each time), so a stage that reads and writes its queues at a few recurring positions
keeps each view it makes. The positions a host keeping its buffer size reaches recur after a
few calls; a stream whose positions never settle (blocks of 470 and 471 behind a resampler
reach hundreds) gets fresh views once the cache holds :data:`MAX_KEPT_VIEWS`, so memory stays
bounded.
"""

from typing import Dict

import torch
from torch import Tensor, nn

MAX_KEPT_VIEWS = 64
"""Most views one cache keeps (each costs a few hundred bytes)."""


class ColumnViews(nn.Module):
    """``buffer.narrow(1, start, length)``, made once per ``(start, length)`` and kept.

    Shape: ``buffer`` ``(rows, columns)``; each view ``(rows, length)``.
    """

    views: Dict[int, Tensor]

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("buffer", torch.zeros(1, 0), persistent=False)
        self.views = {}
        self.key_stride = 1
        self.max_kept = MAX_KEPT_VIEWS

    @torch.jit.export
    def configure(self, buffer: Tensor) -> None:
        """Serve views of ``buffer`` (forgetting those of the previous one)."""
        self.buffer = buffer
        self.key_stride = buffer.size(1) + 1
        self.views.clear()

    def forward(self, start: int, length: int) -> Tensor:
        """The columns ``start .. start + length - 1`` (samples) of the buffer."""
        key = start * self.key_stride + length
        kept = self.views.get(key)
        if kept is not None:
            return kept
        view = self.buffer.narrow(1, start, length)
        if len(self.views) < self.max_kept:
            self.views[key] = view
        return view
