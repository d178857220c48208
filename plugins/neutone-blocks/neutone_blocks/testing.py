"""Helpers for testing streaming blocks: feed a signal in blocks, compare with a reference."""

from collections.abc import Callable, Iterable, Iterator
from itertools import cycle
from typing import Any

import torch
from torch import Tensor


def spans(n_samples: int, block_sizes: Iterable[int]) -> Iterator[tuple[int, int]]:
    """``(start, end)`` of successive blocks covering ``n_samples``; the sizes repeat, the last block is cut short."""
    start = 0
    for size in cycle(list(block_sizes)):
        if start >= n_samples:
            return
        end = min(start + size, n_samples)
        yield start, end
        start = end


def stream(call: Callable[..., Tensor], x: Tensor, block_sizes: Iterable[int], *extra: Tensor, **kwargs: Any) -> Tensor:
    """Concatenated outputs of ``call(block, *extra_blocks, **kwargs)`` over blocks of the last
    dimension of ``x`` (and of each ``extra`` tensor, cut at the same places along their own
    time dimension ``1``)."""
    outputs = []
    for start, end in spans(x.size(-1), block_sizes):
        blocks = [e[:, start:end] for e in extra]
        outputs.append(call(x[..., start:end], *blocks, **kwargs).clone())
    return torch.cat(outputs, -1)


def snr_db(reference: Tensor, estimate: Tensor) -> float:
    """Signal-to-error ratio of ``estimate`` against ``reference`` in dB, computed in float64."""
    error = (estimate.double() - reference.double()).pow(2).sum()
    return float(10 * torch.log10(reference.double().pow(2).sum() / error.clamp(min=1e-300)))
