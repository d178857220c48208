"""Drive a model as a host does: configure once, then call it block after block.

The CLI, the export checks and the tests all stream audio through this one code path. An
exception raised inside the model becomes one :class:`~neutone_core.errors.ModelRuntimeError`
naming the method, the host setting, the block and the exception.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import cycle
from typing import Any

import torch
from torch import Tensor, nn

from neutone_core.errors import ModelRuntimeError
from neutone_core.parameters import MAX_N_PARAMS
from neutone_core.scripting import describe_script_failure


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


def host_setting(sample_rate: int, block_size: int, n_channels: int) -> str:
    """``"48000 Hz / 512 samples / stereo"``."""
    return f"{sample_rate} Hz / {block_size} samples / {'mono' if n_channels == 1 else 'stereo'}"


def configure(model: nn.Module, sample_rate: int, block_size: int, n_channels: int) -> int:
    """``model.prepare`` as a host calls it; the total delay in host samples. A file without
    ``prepare`` (one the Neutone SDK exported) gets ``set_daw_sample_rate_and_buffer_size`` as
    Neutone FX calls it, for a stereo host. A model that raises becomes a :class:`ModelRuntimeError`."""
    try:
        with torch.no_grad():
            if not hasattr(model, "prepare"):
                model.set_daw_sample_rate_and_buffer_size(sample_rate, block_size)
                return int(model.calc_buffering_delay_samples()) + int(model.calc_model_delay_samples())
            return int(model.prepare(sample_rate, block_size, n_channels, 0, 0))
    except Exception as exc:
        raise ModelRuntimeError(
            f"the model raised while being configured for {host_setting(sample_rate, block_size, n_channels)}: "
            f"{describe_script_failure(exc)}"
        ) from exc


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
    announced = max_block_size or max((end - start for start, end in spans), default=1)
    if reset:
        configure(model, sample_rate, announced, audio.size(0))
    out = torch.empty_like(audio)
    with torch.no_grad():
        for index, (start, end) in enumerate(spans):
            block_params = None if params is None else params[:, start:end]
            try:
                out[:, start:end] = model(audio[:, start:end], block_params)
            except Exception as exc:
                setting = host_setting(sample_rate, announced, audio.size(0))
                raise ModelRuntimeError(
                    f"the model raised at {setting}, block {index} ({end - start} samples): {describe_script_failure(exc)}"
                ) from exc
    return out


def impulse_response(model: nn.Module, sample_rate: int, block_size: int, n_channels: int, offset: int) -> tuple[Tensor, int]:
    """The output ``(channels, m)`` of an impulse landing ``offset`` samples into a fresh stream
    of whole host blocks, from the impulse on, and the reported delay."""
    reported = configure(model, sample_rate, block_size, n_channels)
    audio = torch.zeros(n_channels, impulse_length(reported, block_size, offset))
    audio[:, offset] = 1.0
    out = stream(model, audio, sample_rate, block_size, reset=False)
    return out[:, offset:], reported


def impulse_length(reported_delay: int, block_size: int, offset: int) -> int:
    """Samples (whole host blocks) an impulse at ``offset`` is streamed for: past the reported
    delay by at least 4096 samples and 8 blocks."""
    return (-(-(offset + reported_delay + 4096) // block_size) + 8) * block_size


def impulse_delay(model: nn.Module, sample_rate: int, block_size: int, n_channels: int = 2, offset: int = 0) -> int:
    """Measured delay (samples) of a root module: where the largest output sample of an
    impulse at ``offset`` lands, minus ``offset`` (see :func:`impulse_response`)."""
    response, _ = impulse_response(model, sample_rate, block_size, n_channels, offset)
    return int(response.abs().sum(0).argmax())


def walk_stages(model: Any) -> Iterator[Any]:
    """The stages of a root module, outermost first, ending with the model stage."""
    stage = model.host.chain
    while True:
        yield stage
        if not hasattr(stage, "inner"):
            return
        stage = stage.inner


def active_stage_names(model: Any) -> list[str]:
    """Names of the stages that convert something for the configured host stream."""
    return [stage.stage_name for stage in walk_stages(model) if stage.is_active()]
