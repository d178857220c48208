"""The stage contract: how adapters nest around the model inside one scripted graph.

A stage wraps the stage inside it (``inner``). The root hands the outermost stage the host
stream; every stage converts on the way in, calls ``inner``, and converts back on the way
out. Every method below is TorchScript: the whole chain is scripted as one module.

``configure(stream: Stream)``
    The outer stream (see :class:`Stream`). Called exactly once per host setting, before any
    block. The stage allocates every buffer it needs, then configures ``inner`` once with
    the stream it will hand it (and may read ``inner.delay_samples()`` afterwards).
``forward(x, params)``
    ``x`` ``(stream.in_channels, n)`` with ``0 <= n <= stream.block_size``, finite;
    ``params`` ``(4, n)`` in 0..1. Returns ``(stream.out_channels, n)``, which may be a view
    of the stage's own buffer, valid until the next call. Allocates no tensor memory in
    steady state. The tensors a stage hands its inner are the inner's to modify (models write
    into their inputs): a stage never reads them again.
``reset()``
    Clears the stage's state and the inner's: the next block behaves as the first.
``delay_samples()``
    Delay from input to output of this stage including everything inside it, in samples at
    the outer rate; exact, as an impulse measures it.
``is_active()``
    Whether the stage converts anything for the configured stream (inactive = pass-through).
``underrun_count()``
    Output underruns (blocks partly filled with silence because the outer broke the
    promised block pattern) since ``configure``, this stage's and the inner's.
``describe()``
    One line for ``neutone inspect``: the stage's name and its configured choices.
``model_sample_rate()`` / ``model_block_size()`` / ``model_delay_samples()`` / ``model_calls()``
    What reaches the model: its rate (Hz), its block size (samples, without look-behind),
    the delay the model itself declares (samples at its rate) and the blocks it has run.
``set_model_bypass(bypassed)``
    Passed inward to the model stage: from the next ``configure`` the model is replaced by a
    pass-through, so the adapters' own delay can be measured.

:class:`AdapterStage` answers all but ``configure``, ``forward``, ``reset_state`` and
``delay_samples``.
"""

from typing import NamedTuple

import torch
from torch import nn


class Stream(NamedTuple):
    """The stream a stage is configured for, as the stage outside it will deliver it.

    Attributes:
        sample_rate: rate in Hz.
        block_size: largest block (samples) ``forward`` receives.
        in_channels: channels ``forward`` receives.
        out_channels: channels ``forward`` returns.
        pattern_numerator: with ``pattern_denominator`` and ``pattern_offset``, the block
            pattern the outer promises: by the end of its k-th call (k = 1, 2, ...) it has
            handed in ``floor((k * numerator + offset) / denominator)`` samples in all. A host
            keeping its buffer size B is ``(B, 1, 0)``. A stage that buffers (the FIFO) derives
            its least delay from it; one that changes block lengths (a resampler) hands its
            inner the pattern it produces; others pass it on.
        pattern_denominator: see ``pattern_numerator`` (>= 1).
        pattern_offset: see ``pattern_numerator`` (>= 0).
        requested_sample_rate: native rate (Hz) the host asks the model to run at; 0 = choose.
        requested_block_size: native block size (samples) the host asks for; 0 = choose.
    """

    sample_rate: int
    block_size: int
    in_channels: int
    out_channels: int
    pattern_numerator: int
    pattern_denominator: int
    pattern_offset: int
    requested_sample_rate: int
    requested_block_size: int


def host_stream(
    sample_rate: int, block_size: int, n_channels: int, requested_sample_rate: int, requested_block_size: int
) -> Stream:
    """The stream of a host at ``sample_rate`` Hz keeping blocks of ``block_size`` samples."""
    return Stream(sample_rate, block_size, n_channels, n_channels, block_size, 1, 0, requested_sample_rate, requested_block_size)


def stream_with(stream: Stream, sample_rate: int, block_size: int, numerator: int, denominator: int, offset: int) -> Stream:
    """``stream`` at another rate (Hz), largest block (samples) and block pattern, channels and
    requests kept."""
    return Stream(
        sample_rate,
        block_size,
        stream.in_channels,
        stream.out_channels,
        numerator,
        denominator,
        offset,
        stream.requested_sample_rate,
        stream.requested_block_size,
    )


def stream_with_channels(stream: Stream, in_channels: int, out_channels: int) -> Stream:
    """``stream`` with other channel counts in and out; rate, block size, pattern and requests kept."""
    return Stream(
        stream.sample_rate,
        stream.block_size,
        in_channels,
        out_channels,
        stream.pattern_numerator,
        stream.pattern_denominator,
        stream.pattern_offset,
        stream.requested_sample_rate,
        stream.requested_block_size,
    )


class AdapterStage(nn.Module):
    """Base of an adapter stage: holds ``inner`` and answers the questions that pass through.

    Subclasses implement ``configure``, ``forward``, ``reset_state`` (their own state only) and
    ``delay_samples``, and set ``self.active`` in ``configure``.

    Args:
        inner: the stage this one wraps.
        stage_name: the adapter's registered name, shown by ``neutone inspect``.
    """

    def __init__(self, inner: nn.Module, stage_name: str) -> None:
        super().__init__()
        self.inner = inner
        self.stage_name = stage_name
        self.active = False

    @torch.jit.export
    def reset(self) -> None:
        """Clear this stage's state, then the inner's."""
        self.reset_state()
        self.inner.reset()

    @torch.jit.export
    def is_active(self) -> bool:
        """Whether this stage converts anything for the configured stream."""
        return self.active

    @torch.jit.export
    def underrun_count(self) -> int:
        """Underruns since configure: none of this stage's own by default, plus the inner's."""
        return self.inner.underrun_count()

    @torch.jit.export
    def describe(self) -> str:
        """The stage's name; adapters add their configured choices."""
        return self.stage_name

    @torch.jit.export
    def model_sample_rate(self) -> int:
        """Sample rate (Hz) the model runs at for the configured stream."""
        return self.inner.model_sample_rate()

    @torch.jit.export
    def model_block_size(self) -> int:
        """Block size (samples) the model receives for the configured stream."""
        return self.inner.model_block_size()

    @torch.jit.export
    def model_delay_samples(self) -> int:
        """Delay the model itself declares, in samples at the model's rate."""
        return self.inner.model_delay_samples()

    @torch.jit.export
    def set_model_bypass(self, bypassed: bool) -> None:
        """Pass the model bypass switch inward (see the model stage); takes effect at the
        next ``configure``."""
        self.inner.set_model_bypass(bypassed)

    @torch.jit.export
    def model_calls(self) -> int:
        """Blocks the model has processed since ``configure``."""
        return self.inner.model_calls()
