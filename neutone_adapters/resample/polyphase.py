"""Streaming rational sample-rate conversion with a Kaiser-windowed sinc (see ``design``).

:class:`PolyphaseResampler` keeps its input history across calls and computes output ``j``
(tick ``j * Q + phase``) from inputs on ticks ``j * Q + phase - 2C .. j * Q + phase``. Per call it
gathers one window per chunk of ``G`` outputs (a precomputed index into a strided view of the
history) and runs one batched matrix product against the precomputed chunk matrices, all
into preallocated buffers. :func:`resample` is the offline form of the same kernel.
"""


from typing import Dict, List, Optional

import torch
from torch import Tensor, nn

from neutone_adapters.resample.design import polyphase_tables

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

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("weights", torch.zeros(0, 0, 0), persistent=False)
        self.register_buffer("window_starts", torch.zeros(0, dtype=torch.int64), persistent=False)
        self.register_buffer("hold_index", torch.zeros(0, 0, dtype=torch.int64), persistent=False)
        self.register_buffer("history", torch.zeros(0, 0), persistent=False)
        self.register_buffer("windows", torch.zeros(0, 0, 0), persistent=False)
        self.register_buffer("chunk_outputs", torch.zeros(0, 0, 0), persistent=False)
        self.register_buffer("outputs", torch.zeros(0, 0), persistent=False)
        self.register_buffer("held_outputs", torch.zeros(0, 0), persistent=False)
        self.input_ticks = 1
        self.output_ticks = 1
        self.center_ticks = 0
        self.phase_ticks = 0
        self.taps = 1
        self.group = 1
        self.period_chunks = 1
        self.span = 1
        self.first_window_start = 0
        self.first_hold = 0
        self.keep = 0
        self.capacity = 0
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
        weights, starts, layout = polyphase_tables(in_rate, out_rate, quality, phase_ticks, max_outputs)
        self.weights = weights
        self.window_starts = starts
        self.input_ticks = layout[0]
        self.output_ticks = layout[1]
        self.center_ticks = layout[2]
        self.taps = layout[3]
        self.group = layout[4]
        self.period_chunks = layout[5]
        self.span = layout[6]
        self.first_window_start = layout[7]
        self.phase_ticks = phase_ticks
        self.channels = channels
        self.held_channels = held_channels
        self.max_inputs = max_inputs
        outputs = torch.arange(self.input_ticks + max_outputs, dtype=torch.int64)
        nearest = outputs * self.output_ticks + phase_ticks - self.center_ticks + self.input_ticks // 2
        hold = torch.div(nearest, self.input_ticks, rounding_mode="floor")
        self.first_hold = int(hold[0].item())
        self.hold_index = (hold - self.first_hold).expand(held_channels, hold.size(0)).contiguous()
        lag = (self.output_ticks + self.input_ticks - 1) // self.input_ticks
        self.keep = self.output_ticks + self.span + self.group * lag + 2 * lag + 4
        self.capacity = 2 * self.keep + 4 * max_inputs
        tail = self.span + self.group * lag + 4
        self.history = torch.zeros(channels + held_channels, self.capacity + tail)
        max_chunks = (max_outputs + self.group - 1) // self.group + 1
        self.windows = torch.zeros(max_chunks, channels, self.span)
        self.chunk_outputs = torch.zeros(max_chunks, channels, self.group)
        self.outputs = torch.zeros(channels, max_chunks * self.group)
        self.held_outputs = torch.zeros(held_channels, max_outputs)
        self.reset()

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
            self.history.narrow(1, 0, self.keep).copy_(self.history.narrow(1, position - self.keep, self.keep))
            position = self.keep
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
        torch.nan_to_num(x, 0.0, 0.0, 0.0, out=self.history.narrow(1, position, n))
        if first_push and self.held_channels > 0:
            self._hold_first_value(position)

    @torch.jit.export
    def push_with(self, x: Tensor, held: Tensor) -> None:
        """Append ``x`` ``(channels, n)`` and ``held`` ``(held_channels, n)``."""
        n = x.size(1)
        first_push = self.inputs_seen == 0
        position = self._make_room(n)
        self.history.narrow(0, 0, self.channels).narrow(1, position, n).copy_(x)
        self.history.narrow(0, self.channels, self.held_channels).narrow(1, position, n).copy_(held)
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
        first = self.outputs_done
        first_chunk = first // self.group
        n_chunks = (first + n + self.group - 1) // self.group - first_chunk
        kind = first_chunk % self.period_chunks
        offset = self._history_offset(self.first_window_start + (first_chunk // self.period_chunks) * self.output_ticks)
        view = torch.as_strided(
            self.history,
            [self.history.size(1) - offset - self.span + 1, self.channels, self.span],
            [1, self.history.stride(0), 1],
            offset,
        )
        windows = self.windows.narrow(0, 0, n_chunks)
        torch.index_select(view, 0, self.window_starts.narrow(0, kind, n_chunks), out=windows)
        chunk_outputs = self.chunk_outputs.narrow(0, 0, n_chunks)
        torch.bmm(windows, self.weights.narrow(0, kind, n_chunks), out=chunk_outputs)
        outputs = self.outputs.narrow(1, 0, n_chunks * self.group)
        outputs.view(self.channels, n_chunks, self.group).copy_(chunk_outputs.permute(1, 0, 2))
        self.outputs_done = first + n
        return outputs.narrow(1, first - first_chunk * self.group, n)

    @torch.jit.export
    def held(self, first: int, n: int) -> Tensor:
        """Held signals ``(held_channels, n)`` for outputs ``first .. first + n``."""
        kind = first % self.input_ticks
        offset = self._history_offset(self.first_hold + (first // self.input_ticks) * self.output_ticks)
        source = self.history.narrow(0, self.channels, self.held_channels)
        source = source.narrow(1, offset, source.size(1) - offset)
        out = self.held_outputs.narrow(1, 0, n)
        torch.gather(source, 1, self.hold_index.narrow(1, kind, n), out=out)
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
