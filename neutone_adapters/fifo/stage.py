"""The FIFO stage: host blocks of any length in, the model's native blocks out.

Delay (Letz, "callback adaptation"): by the end of the outer's call ``k`` it has handed in
``S_k`` samples and the model has consumed ``P_k = M * floor(S_k / M)`` of them (``M`` the
native block size). Output sample ``t`` is the model's output for input ``t - D``, so call
``k`` needs ``S_k - 1 - D < P_k``, i.e. ``D >= S_k mod M``: the least delay of a causal FIFO
is ``D = max_k (S_k mod M)``.

- ``fixed`` policy, pattern ``S_k = floor((k * numerator + offset) / denominator)``: with
  ``Q = denominator * M``, ``S_k mod M = floor(r_k / denominator)`` where ``r_k = (k * numerator
  + offset) mod Q``. Over a period ``r_k`` takes every value congruent to ``offset`` modulo
  ``g = gcd(numerator, Q)``, so ``D = floor((Q - g + offset mod g) / denominator)``. This closed
  form needs no loop over the period, so periods of any length are exact (no cap, no
  fallback). For an integer host block ``B``: ``D = M - gcd(B, M)`` (512 / 2048 -> 1536,
  2048 / 2048 -> 0).
- ``any`` policy (any block lengths ``1..block_size`` on any call): one-sample calls reach
  ``S_k mod M = M - 1``, so ``D >= M - 1``; and ``S_k mod M <= M - 1`` always, so ``D = M - 1``
  never underruns. Look-behind only prepends past input and adds no delay.

Both queues are linear buffers compacted (one copy of at most the live samples, source and
destination never overlapping) when the next write would run past their end, so the model
and the host read contiguous views and steady state allocates nothing. The views are kept
once made (:class:`~neutone_adapters.fifo.views.ColumnViews`): a host keeping its buffer size
reaches a few positions again and again.
"""


import math
from typing import List, Tuple

import torch
from torch import Tensor, nn

from neutone_adapters.fifo.views import ColumnViews
from neutone_core.parameters import MAX_N_PARAMS
from neutone_core.stage import AdapterStage, Stream, stream_with


def fifo_delay_samples(numerator: int, denominator: int, offset: int, model_block_size: int) -> int:
    """Least delay (samples) of a causal FIFO feeding blocks of ``model_block_size`` samples
    when the outer has handed in ``floor((k * numerator + offset) / denominator)`` samples by
    the end of its call ``k``: ``max_k`` of that count modulo ``model_block_size`` (see the
    module docs for the closed form).

    Args:
        numerator: samples per ``denominator`` calls (>= 1).
        denominator: calls per ``numerator`` samples (>= 1).
        offset: phase of the pattern, in ``1 / denominator`` samples.
        model_block_size: native block size ``M`` in samples (>= 1).
    """
    period = denominator * model_block_size
    step = math.gcd(numerator, period)
    return (period - step + offset % step) // denominator


class FifoStage(AdapterStage):
    """Queues audio and knobs so the model always gets blocks of its native size.

    The native size ``M`` is chosen from ``native_buffer_sizes`` to minimise the delay for the
    promised block pattern (ties: the larger size, fewer model calls). Under the ``fixed``
    policy a host breaking its pattern gets silence for the missing samples, counted by
    ``underrun_count``; the stream stays aligned to the reported delay. With no native sizes
    but a look-behind the stage passes each block straight to the model with its history.

    Shape: x ``(in_channels, n)``, params ``(4, n)`` -> ``(out_channels, n)``; the model sees
    ``(in_channels, L + M)`` and ``(4, L + M)`` and returns ``(out_channels, M)``, ``L`` the
    look-behind in samples.

    Args:
        inner: the stage the FIFO feeds (the model stage).
        native_buffer_sizes: the model's native block sizes in samples (empty = any).
        look_behind_samples: past samples ``L`` the model wants before each block.
        any_block_pattern: ``True`` for the ``any`` policy (no underrun for any block
            lengths, delay ``M - 1``), ``False`` for ``fixed`` (least delay for the pattern).
    """

    native_buffer_sizes: List[int]

    def __init__(
        self, inner: nn.Module, native_buffer_sizes: List[int], look_behind_samples: int, any_block_pattern: bool
    ) -> None:
        super().__init__(inner, "fifo")
        for size in native_buffer_sizes:
            if size < 1:
                raise ValueError(f"model native buffer size {size} in get_native_buffer_sizes(): sizes must be >= 1")
        if look_behind_samples < 0:
            raise ValueError(f"look-behind of {look_behind_samples} samples in get_look_behind_samples(): must be >= 0")
        self.native_buffer_sizes: List[int] = sorted(set(native_buffer_sizes))
        self.largest_native_buffer_size = max(self.native_buffer_sizes) if self.native_buffer_sizes else 0
        self.look_behind = look_behind_samples
        self.any_block_pattern = any_block_pattern
        self.n_params = MAX_N_PARAMS
        self.register_buffer("input_audio", torch.zeros(1, 0), persistent=False)
        self.register_buffer("input_params", torch.zeros(MAX_N_PARAMS, 0), persistent=False)
        self.register_buffer("output_audio", torch.zeros(1, 0), persistent=False)
        self.register_buffer("model_audio", torch.zeros(1, 0), persistent=False)
        self.register_buffer("model_params", torch.zeros(MAX_N_PARAMS, 0), persistent=False)
        self.input_audio_views = ColumnViews()
        self.input_params_views = ColumnViews()
        self.output_views = ColumnViews()
        self.model_audio_views = ColumnViews()
        self.model_params_views = ColumnViews()
        self.block_size = 0
        self.model_block = 0
        self.fifo_delay = 0
        self.pass_through = False
        self.input_capacity = 0
        self.output_capacity = 0
        self.input_start = 0
        self.input_end = 0
        self.output_read = 0
        self.output_write = 0
        self.history_primed = False
        self.underruns = 0

    # --- configuration --------------------------------------------------------------------
    @torch.jit.export
    def configure(self, stream: Stream) -> None:
        """Allocate both queues for outer blocks of up to ``stream.block_size`` samples and
        every native size, choose the native size with the least delay for the stream's block
        pattern, then configure the inner once.

        ``stream.requested_block_size`` (samples, 0 = choose) must be one of the native sizes."""
        requested = stream.requested_block_size
        if requested != 0 and len(self.native_buffer_sizes) > 0 and requested not in self.native_buffer_sizes:
            raise ValueError(
                "requested model buffer size " + str(requested) + " samples is not one of the model's native "
                "buffer sizes " + str(self.native_buffer_sizes) + "; request one of them or 0 to let the FIFO choose"
            )
        if stream.pattern_numerator < 1 or stream.pattern_denominator < 1:
            raise ValueError(
                "block pattern " + str(stream.pattern_numerator) + "/" + str(stream.pattern_denominator)
                + ": numerator and denominator must be >= 1"
            )
        self.block_size = stream.block_size
        self._choose(stream.pattern_numerator, stream.pattern_denominator, stream.pattern_offset, requested)
        largest = self.largest_native_buffer_size
        self.input_capacity = 2 * (self.look_behind + largest + stream.block_size)
        self.output_capacity = 2 * (largest + stream.block_size)
        self.input_audio = torch.zeros(stream.in_channels, self.input_capacity)
        self.input_params = torch.zeros(self.n_params, self.input_capacity)
        self.output_audio = torch.zeros(stream.out_channels, self.output_capacity)
        window = self.look_behind + (self.model_block if self.model_block > 0 else stream.block_size)
        copies = window if self.look_behind > 0 else 0
        self.model_audio = torch.zeros(stream.in_channels, copies)
        self.model_params = torch.zeros(self.n_params, copies)
        self.input_audio_views.configure(self.input_audio)
        self.input_params_views.configure(self.input_params)
        self.output_views.configure(self.output_audio)
        self.model_audio_views.configure(self.model_audio)
        self.model_params_views.configure(self.model_params)
        self.underruns = 0
        if self.model_block == 0:
            inner = stream_with(
                stream,
                stream.sample_rate,
                stream.block_size,
                stream.pattern_numerator,
                stream.pattern_denominator,
                stream.pattern_offset,
            )
        else:
            inner = stream_with(stream, stream.sample_rate, self.model_block, self.model_block, 1, 0)
        self.inner.configure(inner)
        self.reset_state()

    def _choose(self, numerator: int, denominator: int, offset: int, requested: int) -> None:
        """The native size and delay for the promised pattern (see the module docs)."""
        if len(self.native_buffer_sizes) == 0:
            self.model_block = 0
            self.fifo_delay = 0
        else:
            best_size = 0
            best_delay = 0
            for size in self.native_buffer_sizes:
                if requested != 0 and size != requested:
                    continue
                if self.any_block_pattern:
                    delay = size - 1
                else:
                    delay = fifo_delay_samples(numerator, denominator, offset, size)
                if best_size == 0 or delay <= best_delay:
                    best_size = size
                    best_delay = delay
            self.model_block = best_size
            self.fifo_delay = best_delay
        self.pass_through = self.look_behind == 0 and self.fifo_delay == 0
        self.active = self.look_behind > 0 or (
            self.model_block > 0 and (self.fifo_delay > 0 or numerator != self.model_block * denominator)
        )

    def reset_state(self) -> None:
        """Empty both queues: zero history before the first block, ``D`` zeros to be output."""
        self.input_audio[:, : self.look_behind].zero_()
        self.input_params[:, : self.look_behind].zero_()
        self.input_start = self.look_behind
        self.input_end = self.look_behind
        self.history_primed = False
        self.output_audio[:, : self.fifo_delay].zero_()
        self.output_read = 0
        self.output_write = self.fifo_delay

    # --- audio ----------------------------------------------------------------------------
    def forward(self, x: Tensor, params: Tensor) -> Tensor:
        """Queue ``x`` ``(in_channels, n)`` and ``params`` ``(4, n)``, run the model on every full
        native block, return the next ``n`` output samples ``(out_channels, n)``.

        Without a native size (look-behind only) the model runs once per call on the block
        and its history, and its output is returned as it is. The model is called from one
        place only (TorchScript inlines the model at every call site)."""
        n = x.size(1)
        if n == 0:
            return self.output_views(0, 0)
        direct = (
            self.pass_through
            and n == self.model_block
            and self.input_end == self.input_start
            and self.output_write == self.output_read
        )
        if direct:
            model_calls = 1
        else:
            self._append(x, params)
            model_calls = 1 if self.model_block == 0 else (self.input_end - self.input_start) // self.model_block
            if self.model_block > 0:
                self._make_output_room(model_calls * self.model_block, n)
        result = x
        for _ in range(model_calls):
            audio = x
            knobs = params
            if not direct:
                audio, knobs = self._next_window()
            y = self.inner(audio, knobs)
            if direct or self.model_block == 0:
                result = y
            else:
                self._write(y)
        if direct or self.model_block == 0:
            return result
        return self._read(n)

    def _next_window(self) -> Tuple[Tensor, Tensor]:
        """The next model input, audio and knobs with the look-behind in front: a native block
        (or, without a native size, everything queued); copies when there is a look-behind,
        which is read again next time. Advances the queue's read position."""
        start = self.input_start - self.look_behind
        if self.model_block == 0:
            span = self.input_end - start
            self.input_start = self.input_end
        else:
            span = self.look_behind + self.model_block
            self.input_start += self.model_block
        audio = self.input_audio_views(start, span)
        knobs = self.input_params_views(start, span)
        if self.look_behind == 0:
            return audio, knobs
        audio_copy = self.model_audio_views(0, span)
        knobs_copy = self.model_params_views(0, span)
        audio_copy.copy_(audio)
        knobs_copy.copy_(knobs)
        return audio_copy, knobs_copy

    def _append(self, x: Tensor, params: Tensor) -> None:
        n = x.size(1)
        if self.input_end + n > self.input_capacity:
            keep = self.input_end - self.input_start + self.look_behind
            source = self.input_end - keep
            self.input_audio_views(0, keep).copy_(self.input_audio_views(source, keep))
            self.input_params_views(0, keep).copy_(self.input_params_views(source, keep))
            self.input_start = self.look_behind
            self.input_end = keep
        if not self.history_primed and n > 0:
            history = self.input_params[:, self.input_start - self.look_behind : self.input_start]
            history.copy_(params[:, :1].expand(self.n_params, self.look_behind))
            self.history_primed = True
        self.input_audio_views(self.input_end, n).copy_(x)
        self.input_params_views(self.input_end, n).copy_(params)
        self.input_end += n

    def _make_output_room(self, write_samples: int, read_samples: int) -> None:
        if (
            self.output_write + write_samples > self.output_capacity
            or self.output_read + read_samples > self.output_capacity
        ):
            live = self.output_write - self.output_read
            if live > 0:
                self.output_views(0, live).copy_(self.output_views(self.output_read, live))
            self.output_read = 0
            self.output_write = live

    def _write(self, y: Tensor) -> None:
        block = self.model_block
        write = self.output_write
        skip = max(self.output_read - write, 0)
        if skip == 0:
            self.output_views(write, block).copy_(y)
        elif skip < block:
            self.output_audio.narrow(1, write + skip, block - skip).copy_(y.narrow(1, skip, block - skip))
        self.output_write = write + block

    def _read(self, n: int) -> Tensor:
        read = self.output_read
        available = self.output_write - read
        if available < n:
            self.output_audio[:, read + max(available, 0) : read + n].zero_()
            self.underruns += 1
        self.output_read = read + n
        return self.output_views(read, n)

    # --- reporting ------------------------------------------------------------------------
    @torch.jit.export
    def delay_samples(self) -> int:
        """The FIFO's delay ``D`` plus the inner's, in samples."""
        return self.fifo_delay + self.inner.delay_samples()

    @torch.jit.export
    def underrun_count(self) -> int:
        """Output calls partly filled with silence since configure, plus the inner's."""
        return self.underruns + self.inner.underrun_count()

    @torch.jit.export
    def describe(self) -> str:
        """``fifo: ...`` with the native size, policy, delay and look-behind."""
        policy = "any" if self.any_block_pattern else "fixed"
        if self.model_block == 0:
            sizes = "any block size (look-behind only)"
        else:
            sizes = "native " + str(self.model_block) + " of " + str(self.native_buffer_sizes) + " samples"
        return (
            "fifo: " + sizes + ", policy " + policy + ", own delay " + str(self.fifo_delay)
            + " samples, look-behind " + str(self.look_behind) + " samples"
        )
