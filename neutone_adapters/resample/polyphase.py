"""Streaming rational sample-rate conversion with a Kaiser-windowed sinc (see ``design``).

:class:`PolyphaseResampler` keeps its input history across calls and computes output ``j``
(tick ``j * Q + phase``) from inputs on ticks ``j * Q + phase - 2C .. j * Q + phase``. Every
period of ``P`` outputs uses the same ``(span, P)`` matrix over a window ``Q`` inputs further
on, so a call copies the windows of the periods its outputs touch (one strided copy) and runs
one matrix product ``(channels * periods, span) @ (span, P)``, all into preallocated buffers;
the outputs asked for are a view of the result (a period partly beyond the input so far is
computed and its later outputs discarded, then recomputed by the next call). The history's
columns move only by whole periods, so for block-sized streams every view a call uses is
made once at ``configure``. Rate pairs with a huge period use chunks of ``G`` outputs instead
(``design.chunk_tables``). :func:`resample` is the offline form of the same kernel.
"""


from typing import Dict, List, Optional

import torch
from torch import Tensor, nn

from neutone_adapters.resample.design import chunk_tables, period_table_size, polyphase_tables

PERIOD_TABLE_LIMIT = 1 << 22
"""Largest period matrix (floats, 16 MB) before a rate pair falls back to the chunked kernel
(only pairs with a period of thousands of samples, e.g. 48000 -> 47999 Hz)."""

QUALITY_PRESETS: Dict[str, List[float]] = {
    "high": [0.82, 1.0, 110.0],
    "low-latency": [0.72, 1.0, 85.0],
}
"""``[pass_fraction, stop_fraction, attenuation_db]`` per preset, edges as fractions of the lower
Nyquist frequency. ``high`` (default): flat to 18.1 kHz at 44.1 kHz, 110 dB down from 22.05 kHz,
85 host samples round trip at 48 <-> 44.1 kHz. ``low-latency``: flat to 15.9 kHz, 85 dB down,
41 samples round trip."""


class PolyphaseResampler(nn.Module):
    """Streaming conversion of ``channels`` signals from ``in_rate`` to ``out_rate`` (Hz), with
    ``held_channels`` more signals carried along by sample-and-hold.

    ``push(x)`` appends input; ``pull(n)`` returns the next ``n`` outputs, which must be
    computable (``n <= available() - outputs_done``). Output ``j`` is the input at time
    ``(j * Q + phase - C) / F`` seconds (``F = lcm(in_rate, out_rate)``), so the delay is
    ``(C - phase) / Q`` output samples. ``held(first, n)`` gives, for outputs ``first ..``, the
    held signals at the input sample nearest that same time (at most half an input sample off).

    Shape: push ``(channels + held_channels, n_in)``; pull -> ``(channels, n)``; held ->
    ``(held_channels, n)``; both views of internal buffers, valid until the next call.
    """

    hold_indices: List[Tensor]
    window_views: List[Tensor]
    window_rows: List[Tensor]
    output_rows: List[Tensor]
    output_views: List[Tensor]
    held_views: List[Tensor]
    full_views: List[Tensor]
    window_slots: List[Tensor]
    held_slots: List[Tensor]
    audio_blocks: List[Tensor]
    held_blocks: List[Tensor]

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("weights", torch.zeros(0, 0), persistent=False)
        self.register_buffer("history", torch.zeros(0, 0), persistent=False)
        self.register_buffer("windows", torch.zeros(0, 0), persistent=False)
        self.register_buffer("outputs", torch.zeros(0, 0), persistent=False)
        self.register_buffer("held_outputs", torch.zeros(0, 0), persistent=False)
        self.register_buffer("hold_table", torch.zeros(0, 0, dtype=torch.int64), persistent=False)
        self.register_buffer("chunk_weights", torch.zeros(0, 0, 0), persistent=False)
        self.register_buffer("chunk_starts", torch.zeros(0, dtype=torch.int64), persistent=False)
        self.register_buffer("chunk_windows", torch.zeros(0, 0, 0), persistent=False)
        self.register_buffer("chunk_outputs", torch.zeros(0, 0, 0), persistent=False)
        self.chunked = False
        self.period_table_limit = PERIOD_TABLE_LIMIT
        self.group = 1
        self.period_chunks = 1
        self.chunk_span = 1
        self.first_chunk_start = 0
        self.hold_indices: List[Tensor] = []
        self.window_views: List[Tensor] = []
        self.window_rows: List[Tensor] = []
        self.output_rows: List[Tensor] = []
        self.output_views: List[Tensor] = []
        self.held_views: List[Tensor] = []
        self.full_views: List[Tensor] = []
        self.window_slots: List[Tensor] = []
        self.held_slots: List[Tensor] = []
        self.audio_blocks: List[Tensor] = []
        self.held_blocks: List[Tensor] = []
        self.cached = False
        self.held_cached = False
        self.positions = 0
        self.window_phase = 0
        self.held_phase = 0
        self.max_outputs = 0
        self.input_ticks = 1
        self.output_ticks = 1
        self.center_ticks = 0
        self.phase_ticks = 0
        self.taps = 1
        self.span = 1
        self.periods = 1
        self.first_window_start = 0
        self.first_hold = 0
        self.hold_span = 1
        self.keep = 0
        self.capacity = 0
        self.row_stride = 1
        self.max_inputs = 0
        self.channels = 1
        self.held_channels = 0
        self.inputs_seen = 0
        self.outputs_done = 0
        self.write_position = 0

    @torch.jit.export
    def configure(
        self,
        in_rate: int,
        out_rate: int,
        channels: int,
        held_channels: int,
        max_inputs: int,
        max_outputs: int,
        quality: List[float],
        phase_ticks: int,
    ) -> None:
        """Design the filter and allocate every buffer.

        Args:
            in_rate: input rate in Hz.
            out_rate: output rate in Hz.
            channels: signals filtered together.
            held_channels: signals carried by sample-and-hold (rows after ``channels``).
            max_inputs: most samples one ``push`` appends.
            max_outputs: most samples one ``pull`` returns.
            quality: ``[pass_fraction, stop_fraction, attenuation_db]``.
            phase_ticks: output grid phase in ticks of ``lcm(in_rate, out_rate)``.
        """
        self.chunked = period_table_size(in_rate, out_rate, quality) > self.period_table_limit
        if self.chunked:
            weights, starts, chunk_layout = chunk_tables(in_rate, out_rate, quality, phase_ticks, max_outputs)
            self.chunk_weights = weights
            self.chunk_starts = starts
            self.group = chunk_layout[4]
            self.period_chunks = chunk_layout[5]
            self.chunk_span = chunk_layout[6]
            self.first_chunk_start = chunk_layout[7]
            self.weights = torch.zeros(0, 0)
            layout = [chunk_layout[0], chunk_layout[1], chunk_layout[2], chunk_layout[3], 0, 0]
        else:
            weights, layout = polyphase_tables(in_rate, out_rate, quality, phase_ticks)
            self.weights = weights
            self.chunk_weights = torch.zeros(0, 0, 0)
        self.input_ticks = layout[0]
        self.output_ticks = layout[1]
        self.center_ticks = layout[2]
        self.taps = layout[3]
        self.span = layout[4]
        self.first_window_start = layout[5]
        self.phase_ticks = phase_ticks
        self.channels = channels
        self.held_channels = held_channels
        self.max_inputs = max_inputs
        # most periods one call touches: max_outputs from anywhere within the first one
        self.periods = 0 if self.chunked else (max_outputs + 2 * self.input_ticks - 2) // self.input_ticks
        outputs = torch.arange(self.input_ticks + max_outputs, dtype=torch.int64)
        nearest = outputs * self.output_ticks + phase_ticks - self.center_ticks + self.input_ticks // 2
        hold = torch.div(nearest, self.input_ticks, rounding_mode="floor")
        self.first_hold = int(hold[0].item())
        hold = hold - self.first_hold
        self.hold_span = int(hold[-1].item()) + 1
        self.hold_table = hold.expand(held_channels, hold.size(0)).contiguous()
        lag = (self.output_ticks + self.input_ticks - 1) // self.input_ticks
        self.keep = self.output_ticks + self.span + self.input_ticks * lag + 2 * lag + 4
        chunk_tail = 0
        if self.chunked:
            self.keep = self.output_ticks + self.chunk_span + self.group * lag + 2 * lag + 4
            chunk_tail = self.chunk_span + self.group * lag
            max_chunks = (max_outputs + self.group - 1) // self.group + 1
            self.chunk_windows = torch.zeros(max_chunks, channels, self.chunk_span)
            self.chunk_outputs = torch.zeros(max_chunks, channels, self.group)
        # the front moves by whole periods (Q inputs) so every read starts on one of few columns
        self.capacity = 2 * (self.keep + self.output_ticks) + 4 * max_inputs
        # reads run past the newest input: whole periods, and held indices for max_outputs
        tail = max(max(self.periods * self.output_ticks + self.span, chunk_tail), self.hold_span) + self.output_ticks + 4
        self.row_stride = self.capacity + tail
        self.history = torch.zeros(channels + held_channels, self.row_stride)
        self.windows = torch.zeros(channels * self.periods, self.span)
        self.outputs = torch.zeros(channels, self.periods * self.input_ticks)
        if self.chunked:
            self.outputs = torch.zeros(channels, self.chunk_outputs.size(0) * self.group)
        # views for a call computing k whole periods (index k), rows ordered (channel, period)
        windows = self.windows.view(-1)
        outputs = self.outputs.view(-1)
        self.window_views = []
        self.window_rows = []
        self.output_rows = []
        self.output_views = []
        for k in range(self.periods + 1):
            window_block = windows.narrow(0, 0, channels * k * self.span)
            self.window_views.append(window_block.view(channels, k, self.span))
            self.window_rows.append(window_block.view(channels * k, self.span))
            output_block = outputs.narrow(0, 0, channels * k * self.input_ticks)
            self.output_rows.append(output_block.view(channels * k, self.input_ticks))
            self.output_views.append(output_block.view(channels, k * self.input_ticks))
        self.held_outputs = torch.zeros(held_channels, max_outputs)
        self.max_outputs = max_outputs
        self._cache_views()
        self.reset()

    def _cache_views(self) -> None:
        """For block-sized streams, every view a call reads or returns, made once: the
        history's columns of input ``i`` move only by whole periods, so windows and held
        sources start ``window_phase`` / ``held_phase`` plus a whole number of periods in."""
        slots = self.capacity // self.output_ticks + 1
        self.cached = (
            not self.chunked and self.max_outputs <= 8192 and self.capacity <= 65536 and slots * (self.periods + 1) <= 65536
        )
        self.held_cached = self.cached and self.held_channels > 0
        self.hold_indices = []
        self.audio_blocks = []
        self.held_blocks = []
        self.window_slots = []
        self.held_slots = []
        self.held_views = []
        self.full_views = []
        if not self.cached:
            return
        self.window_phase = ((self.first_window_start + self.keep) % self.output_ticks + self.output_ticks) % self.output_ticks
        self.held_phase = ((self.first_hold + self.keep) % self.output_ticks + self.output_ticks) % self.output_ticks
        for slot in range(slots):
            for k in range(self.periods + 1):
                self.window_slots.append(
                    torch.as_strided(
                        self.history,
                        [self.channels, k, self.span],
                        [self.row_stride, self.output_ticks, 1],
                        self.window_phase + slot * self.output_ticks,
                    )
                )
        # (no views into empty rows: a view past the end of its storage cannot be saved)
        if self.held_cached:
            for slot in range(slots):
                self.held_slots.append(
                    torch.as_strided(
                        self.history,
                        [self.held_channels, self.hold_span],
                        [self.row_stride, 1],
                        self.channels * self.row_stride + self.held_phase + slot * self.output_ticks,
                    )
                )
            self.hold_indices = [self.hold_table.narrow(1, kind, self.max_outputs) for kind in range(self.input_ticks)]
            self.held_views = [self.held_outputs.narrow(1, 0, n) for n in range(self.max_outputs + 1)]
        # where a push lands, by write position: max_inputs samples (a host block) with knobs;
        # without knobs (the model's output), also one less (the other length a host block
        # converts to)
        audio = self.history.narrow(0, 0, self.channels)
        knobs = self.history.narrow(0, self.channels, self.held_channels)
        positions = self.capacity - self.max_inputs + 2
        self.positions = positions
        self.audio_blocks = [audio.narrow(1, position, self.max_inputs) for position in range(positions)]
        if self.held_cached:
            self.held_blocks = [knobs.narrow(1, position, self.max_inputs) for position in range(positions)]
        if self.held_channels == 0 and self.max_inputs > 1:
            self.audio_blocks += [audio.narrow(1, position, self.max_inputs - 1) for position in range(positions)]
        # the result of a pull of the two largest sizes, by its start in the first period then size
        for start in range(self.input_ticks):
            for n in [self.max_outputs, max(self.max_outputs - 1, 1)]:
                self.full_views.append(self.output_views[(start + n - 1) // self.input_ticks + 1].narrow(1, start, n))

    @torch.jit.export
    def reset(self) -> None:
        """Forget the history: the input before the first push is zeros."""
        self.history.zero_()
        self.inputs_seen = 0
        self.outputs_done = 0
        self.write_position = self.keep

    @torch.jit.export
    def available(self) -> int:
        """Outputs computable from the input pushed so far (counted from the first)."""
        last_tick = self.inputs_seen * self.input_ticks - 1 - self.phase_ticks
        if last_tick < 0:
            return 0
        return last_tick // self.output_ticks + 1

    def _make_room(self, n: int) -> int:
        """Write position for ``n`` more samples; moves the last ``keep`` samples to the front
        (never overlapping) when the buffer would overflow."""
        if n > self.max_inputs:
            raise RuntimeError(
                "resampler push of " + str(n) + " samples: configured for at most " + str(self.max_inputs)
            )
        position = self.write_position
        if position + n > self.capacity:
            keep = self.keep + (position - self.keep) % self.output_ticks
            self.history.narrow(1, 0, keep).copy_(self.history.narrow(1, position - keep, keep))
            position = keep
        self.write_position = position + n
        self.inputs_seen += n
        return position

    def _hold_first_value(self, position: int) -> None:
        """Before the first push the held signals read as their first value (a knob is where it
        starts, not at 0); the filtered signals are zeros."""
        held_rows = self.history.narrow(0, self.channels, self.held_channels)
        held_rows.narrow(1, 0, position).copy_(held_rows.narrow(1, position, 1).expand(self.held_channels, position))

    @torch.jit.export
    def push(self, x: Tensor) -> None:
        """Append ``x`` ``(channels + held_channels, n)``; non-finite samples enter as 0 (a
        stray NaN would otherwise poison every window that spans it)."""
        n = x.size(1)
        first_push = self.inputs_seen == 0
        position = self._make_room(n)
        if self.cached and self.held_channels == 0 and self.max_inputs - n < 2 and n > 0:
            target = self.audio_blocks[position + (self.max_inputs - n) * self.positions]
        else:
            target = torch.as_strided(self.history, [self.channels + self.held_channels, n], [self.row_stride, 1], position)
        torch.nan_to_num(x, 0.0, 0.0, 0.0, out=target)
        if first_push and self.held_channels > 0:
            self._hold_first_value(position)

    @torch.jit.export
    def push_with(self, x: Tensor, held: Tensor) -> None:
        """Append ``x`` ``(channels, n)`` and ``held`` ``(held_channels, n)``."""
        n = x.size(1)
        first_push = self.inputs_seen == 0
        position = self._make_room(n)
        if self.held_cached and n == self.max_inputs:
            self.audio_blocks[position].copy_(x)
            self.held_blocks[position].copy_(held)
        else:
            held_position = position + self.channels * self.row_stride
            torch.as_strided(self.history, [self.channels, n], [self.row_stride, 1], position).copy_(x)
            torch.as_strided(self.history, [self.held_channels, n], [self.row_stride, 1], held_position).copy_(held)
        if first_push:
            self._hold_first_value(position)

    def _history_offset(self, input_index: int) -> int:
        """Column of absolute input ``input_index`` in ``history``."""
        offset = input_index - (self.inputs_seen - self.write_position)
        if offset < 0:
            raise RuntimeError(
                "resampler history overrun at input " + str(input_index) + "; pull only what available() allows"
            )
        return offset

    @torch.jit.export
    def pull(self, n: int) -> Tensor:
        """The next ``n`` outputs ``(channels, n)``."""
        if self.chunked:
            return self._pull_chunks(n)
        first = self.outputs_done
        period = first // self.input_ticks
        k = (first + n - 1) // self.input_ticks - period + 1
        offset = self._history_offset(self.first_window_start + period * self.output_ticks)
        if self.cached:
            windows = self.window_slots[(offset - self.window_phase) // self.output_ticks * (self.periods + 1) + k]
        else:
            windows = torch.as_strided(
                self.history, [self.channels, k, self.span], [self.row_stride, self.output_ticks, 1], offset
            )
        self.window_views[k].copy_(windows)
        torch.mm(self.window_rows[k], self.weights, out=self.output_rows[k])
        self.outputs_done = first + n
        start = first - period * self.input_ticks
        if self.cached and self.max_outputs - n < 2 and n > 0:
            return self.full_views[2 * start + self.max_outputs - n]
        return self.output_views[k].narrow(1, start, n)

    def _pull_chunks(self, n: int) -> Tensor:
        """``pull`` for long periods: one window per chunk of ``G`` outputs, gathered by index
        from a strided view of the history, one batched product against the chunk matrices."""
        first = self.outputs_done
        first_chunk = first // self.group
        n_chunks = (first + n + self.group - 1) // self.group - first_chunk
        kind = first_chunk % self.period_chunks
        offset = self._history_offset(self.first_chunk_start + (first_chunk // self.period_chunks) * self.output_ticks)
        view = torch.as_strided(
            self.history,
            [self.row_stride - offset - self.chunk_span + 1, self.channels, self.chunk_span],
            [1, self.row_stride, 1],
            offset,
        )
        windows = self.chunk_windows.narrow(0, 0, n_chunks)
        torch.index_select(view, 0, self.chunk_starts.narrow(0, kind, n_chunks), out=windows)
        chunk_outputs = self.chunk_outputs.narrow(0, 0, n_chunks)
        torch.bmm(windows, self.chunk_weights.narrow(0, kind, n_chunks), out=chunk_outputs)
        outputs = self.outputs.narrow(1, 0, n_chunks * self.group)
        outputs.view(self.channels, n_chunks, self.group).copy_(chunk_outputs.permute(1, 0, 2))
        self.outputs_done = first + n
        return outputs.narrow(1, first - first_chunk * self.group, n)

    @torch.jit.export
    def held(self, first: int, n: int) -> Tensor:
        """Held signals ``(held_channels, n)`` for outputs ``first .. first + n``."""
        period = first // self.input_ticks
        offset = self._history_offset(self.first_hold + period * self.output_ticks)
        if self.held_cached:
            source = self.held_slots[(offset - self.held_phase) // self.output_ticks]
        else:
            source = torch.as_strided(
                self.history, [self.held_channels, self.hold_span], [self.row_stride, 1], self.channels * self.row_stride + offset
            )
        if self.held_cached:
            torch.gather(source, 1, self.hold_indices[first - period * self.input_ticks], out=self.held_outputs)
            return self.held_views[n]
        out = self.held_outputs.narrow(1, 0, n)
        torch.gather(source, 1, self.hold_table.narrow(1, first - period * self.input_ticks, n), out=out)
        return out


def resample(x: Tensor, in_rate: int, out_rate: int, quality: Optional[List[float]] = None) -> Tensor:
    """Offline conversion of ``x`` from ``in_rate`` to ``out_rate`` (Hz) with the streaming kernel,
    time-aligned: output ``j`` is the band-limited input at ``j / out_rate`` seconds.

    Shape: ``(channels, n) -> (channels, ceil(n * out_rate / in_rate))``.
    """
    if quality is None:
        quality = QUALITY_PRESETS["high"]
    channels = x.size(0)
    n = x.size(1)
    probe = PolyphaseResampler()
    probe.configure(in_rate, out_rate, channels, 0, 1, 1, quality, 0)
    phase = probe.center_ticks % probe.output_ticks
    delay = (probe.center_ticks - phase) // probe.output_ticks
    n_out = -((-n * out_rate) // in_rate)
    pad = (probe.center_ticks // probe.input_ticks) + 2
    resampler = PolyphaseResampler()
    resampler.configure(in_rate, out_rate, channels, 0, n + pad, delay + n_out, quality, phase)
    padded = torch.zeros(channels, n + pad)
    padded[:, :n] = x
    resampler.push(padded)
    return resampler.pull(delay + n_out)[:, delay:].clone()
