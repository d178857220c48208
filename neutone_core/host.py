"""Drive a model as a host does: configure once, then call it block after block.

The CLI, the export checks and the tests all stream audio through this one code path.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import cycle
from typing import Any

import torch
from torch import Tensor, nn

from neutone_core.parameters import MAX_N_PARAMS


def block_spans(n_samples: int, block_sizes: int | Iterable[int]) -> Iterator[tuple[int, int]]:
    """``(start, end)`` of successive host blocks covering ``n_samples``; a sequence of sizes
    repeats until the signal is covered, the last block is cut short."""
    sizes = cycle([block_sizes]) if isinstance(block_sizes, int) else cycle(list(block_sizes))
    start = 0
    while start < n_samples:
        size = next(sizes)
        if size < 1:
            raise ValueError(f"host block size {size}: must be >= 1")
        end = min(start + size, n_samples)
        yield start, end
        start = end


def stream(
    model: nn.Module,
    audio: Tensor,
    sample_rate: int,
    block_sizes: int | Iterable[int],
    params: Tensor | None = None,
    max_block_size: int | None = None,
    reset: bool = True,
) -> Tensor:
    """Stream ``audio`` ``(channels, n)`` through a root module as a host would: ``(channels, n)``.

    Args:
        model: an exported root module (scripted or in memory).
        audio: host signal, 1 or 2 channels.
        sample_rate: host rate in Hz.
        block_sizes: one block size (samples) or a sequence repeated over the signal.
        params: knobs ``(4, n)`` in 0..1, or None for the model's defaults.
        max_block_size: buffer size announced to the model (default: the largest block).
        reset: configure and reset first (False continues the current stream).
    """
    if audio.dim() != 2:
        raise ValueError(f"audio of shape {tuple(audio.shape)}: expected (channels, samples)")
    if params is not None and tuple(params.shape) != (MAX_N_PARAMS, audio.size(1)):
        raise ValueError(f"params of shape {tuple(params.shape)}: expected ({MAX_N_PARAMS}, {audio.size(1)})")
    spans = list(block_spans(audio.size(1), block_sizes))
    announced = max_block_size or max(end - start for start, end in spans)
    out = torch.empty_like(audio)
    with torch.no_grad():
        if reset:
            model.prepare(sample_rate, announced, audio.size(0), 0, 0)
        for start, end in spans:
            block_params = None if params is None else params[:, start:end]
            out[:, start:end] = model(audio[:, start:end], block_params)
    return out


def impulse_delay(model: nn.Module, sample_rate: int, block_size: int, n_channels: int = 2, offset: int = 0) -> int:
    """Measured delay (samples) of a root module: where an impulse at ``offset`` comes out.

    The impulse lands ``offset`` samples into the stream so delays shorter than one block
    are measured too; the signal is a whole number of blocks, as a host keeping its buffer
    size sends; the answer is the index of the largest output sample minus ``offset``.
    """
    with torch.no_grad():
        reported = model.prepare(sample_rate, block_size, n_channels, 0, 0)
    n_blocks = -(-(offset + reported + 4096) // block_size) + 8
    length = n_blocks * block_size
    audio = torch.zeros(n_channels, length)
    audio[:, offset] = 1.0
    out = stream(model, audio, sample_rate, block_size, reset=False)
    return int(out.abs().sum(0).argmax()) - offset


def walk_stages(model: Any) -> Iterator[Any]:
    """The stages of a root module, outermost first, ending with the model stage."""
    stage = model.chain
    while True:
        yield stage
        if not hasattr(stage, "inner"):
            return
        stage = stage.inner


def active_stage_names(model: Any) -> list[str]:
    """Names of the stages that convert something for the configured host stream."""
    return [stage.stage_name for stage in walk_stages(model) if stage.is_active()]
