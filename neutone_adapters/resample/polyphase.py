"""Streaming rational sample-rate conversion with a Kaiser-windowed sinc (see ``design``).

:class:`PolyphaseResampler` keeps its input history across calls and computes output ``j``
(tick ``t_j = j * Q + phase``) from the ``taps`` inputs ending at ``floor(t_j / P)``: output ``j``
is the band-limited input at tick ``t_j - C``, so the delay is ``(C - phase) / Q`` output samples.
Pushes append to one buffer (filtered rows, then the rows carried by sample-and-hold); when it
would overflow, the inputs a later call can still read move to its front (a short copy every
few calls). Two kernels compute the outputs, chosen per rate pair: :class:`PeriodicKernel`
(one matrix shared by every block of whole periods: one strided copy and one batched product
per call) while that matrix is small, :class:`FarrowKernel` (taps as polynomials in the
output's phase) for pairs with a long period such as 44101 <-> 48000 Hz. Both design their
tables once per rate pair and quality (the periodic one per phase too) and only re-allocate
buffers when the block sizes change. :func:`resample` is the offline form of the same kernels.
"""


from typing import Dict, List, Optional, Tuple

import torch
from torch import Tensor, nn

from neutone_adapters.resample.blocks import BlockProducts
from neutone_adapters.resample.design import block_periods, rate_ticks
from neutone_adapters.resample.farrow import FarrowKernel
from neutone_adapters.resample.periodic import PeriodicKernel

PERIOD_TABLE_LIMIT = 1 << 19
"""Largest block matrix (floats, 2 MB) for the periodic kernel; rate pairs above it (periods of
thousands of samples, e.g. 48000 <-> 47999 Hz) use the Farrow kernel."""

VIEW_CACHE_SIZE = 64
"""Most calls' views kept (per kind: pushes, pulls); a host keeping its buffer size revisits
about 40."""

MIN_COMPACTION_SPAN = 4096
"""Least inputs pushed between two moves of the history to its front."""

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

    ``push(x)`` appends input and returns how many outputs are ready; ``pull(n)`` returns the next
    ``n`` of them (``n <= available() - outputs_done``); ``pull_with(n)`` also returns the held
    signals for the same outputs, each at the input sample nearest that output's content time
    (at most half an input sample off).

    Shape: push ``(channels + held_channels, n_in)`` (or ``push_with`` ``(channels, n_in)`` and
    ``(held_channels, n_in)``); pull -> ``(channels, n)``; pull_with -> that and
    ``(held_channels, n)``; views of internal buffers, valid until the next call.
    """

    write_views: Dict[int, List[Tensor]]
    pull_views: Dict[int, List[Tensor]]

    def __init__(self) -> None:
        super().__init__()
        self.products = BlockProducts()
        self.periodic = PeriodicKernel()
        self.farrow = FarrowKernel()
        self.register_buffer("history", torch.zeros(0, 0), persistent=False)
        self.write_views: Dict[int, List[Tensor]] = {}
        self.pull_views: Dict[int, List[Tensor]] = {}
        self.view_cache_size = VIEW_CACHE_SIZE
        self.period_table_limit = PERIOD_TABLE_LIMIT
        self.compaction_span = MIN_COMPACTION_SPAN
        self.use_farrow = False
        self.input_ticks = 1
        self.output_ticks = 1
        self.center_ticks = 0
        self.taps = 1
        self.phase_ticks = 0
        self.channels = 1
        self.held_channels = 0
        self.max_inputs = 0
        self.max_outputs = 0
        self.keep = 0
        self.capacity = 0
        self.inputs_seen = 0
        self.outputs_done = 0
        self.write_position = 0
        self.base = 0

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
        """Design the filter (only when the rates, quality or phase changed) and allocate every
        buffer.

        Args:
            in_rate: input rate in Hz.
            out_rate: output rate in Hz.
            channels: signals filtered together.
            held_channels: signals carried by sample-and-hold (rows after ``channels``).
            max_inputs: most samples one push appends.
            max_outputs: most samples one pull returns.
            quality: ``[pass_fraction, stop_fraction, attenuation_db]``.
            phase_ticks: output grid phase in ticks of ``lcm(in_rate, out_rate)``.
        """
        ticks = rate_ticks(in_rate, out_rate, quality)
        self.input_ticks = ticks[0]
        self.output_ticks = ticks[1]
        self.center_ticks = ticks[2]
        self.taps = ticks[3]
        self.phase_ticks = phase_ticks
        self.channels = channels
        self.held_channels = held_channels
        self.max_inputs = max_inputs
        self.max_outputs = max_outputs
        periods = block_periods(ticks[0])
        self.use_farrow = (periods * ticks[1] + ticks[3]) * periods * ticks[0] > self.period_table_limit
        if self.use_farrow:
            farrow = self.farrow
            farrow.design(in_rate, out_rate, quality, phase_ticks, ticks)
            farrow.allocate(channels, held_channels, max_outputs)
            layout = [1 - farrow.taps, farrow.positions_per_block, farrow.filter_outputs(max_outputs), farrow.lookback()]
            matrix, ends = farrow.matrix, farrow.column_ends
        else:
            periodic = self.periodic
            periodic.design(in_rate, out_rate, quality, phase_ticks, ticks)
            periodic.allocate(channels, held_channels, max_outputs)
            layout = [periodic.window_start, periodic.block_inputs, max_outputs, periodic.lookback()]
            matrix, ends = periodic.matrix, periodic.column_ends
        self.products.set_matrix(matrix, ends, self.taps, layout[0], layout[1])
        self.products.allocate(channels, layout[2])
        self.keep = layout[3]
        lookahead = self.products.lookahead()
        # a move never overlaps itself: it happens past 2 * keep
        self.capacity = 2 * self.keep + max(max_inputs, self.compaction_span)
        self.history = torch.zeros(channels + held_channels, self.capacity + lookahead)
        self.write_views.clear()
        self.pull_views.clear()
        self.reset()

    @torch.jit.export
    def reset(self) -> None:
        """Forget the history: the input before the first push is zeros."""
        self.history.zero_()
        self.inputs_seen = 0
        self.outputs_done = 0
        self.write_position = self.keep
        self.base = -self.keep

    @torch.jit.export
    def available(self) -> int:
        """Outputs computable from the input pushed so far (counted from the first)."""
        last_tick = self.inputs_seen * self.input_ticks - 1 - self.phase_ticks
        if last_tick < 0:
            return 0
        return last_tick // self.output_ticks + 1

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
        """Where ``n`` samples written at ``position`` go: all rows, the filtered rows and the
        held rows (cached per position, up to ``view_cache_size``)."""
        key = position * (self.max_inputs + 1) + n
        cached = self.write_views.get(key)
        if cached is not None:
            return cached
        rows = self.channels + self.held_channels
        row_stride = self.history.size(1)
        # no held rows: an empty view at 0 (one past the storage's end cannot be saved)
        held_position = position + self.channels * row_stride if self.held_channels > 0 else 0
        views = [
            torch.as_strided(self.history, [rows, n], [row_stride, 1], position),
            torch.as_strided(self.history, [self.channels, n], [row_stride, 1], position),
            torch.as_strided(self.history, [self.held_channels, n], [row_stride, 1], held_position),
        ]
        if len(self.write_views) < self.view_cache_size:
            self.write_views[key] = views
        return views

    @torch.jit.export
    def push(self, x: Tensor) -> int:
        """Append ``x`` ``(channels + held_channels, n)``; non-finite samples enter as 0 (a
        stray NaN would otherwise poison every window that spans it). Returns the outputs ready."""
        first_push = self.inputs_seen == 0
        n = x.size(1)
        position = self._make_room(n)
        torch.nan_to_num(x, 0.0, 0.0, 0.0, out=self._targets(position, n)[0])
        if first_push and self.held_channels > 0:
            self._hold_first_value(position)
        return self.available() - self.outputs_done

    @torch.jit.export
    def push_with(self, x: Tensor, held: Tensor) -> int:
        """Append ``x`` ``(channels, n)`` and ``held`` ``(held_channels, n)``. Returns the outputs ready."""
        first_push = self.inputs_seen == 0
        n = x.size(1)
        position = self._make_room(n)
        targets = self._targets(position, n)
        targets[1].copy_(x)
        targets[2].copy_(held)
        if first_push:
            self._hold_first_value(position)
        return self.available() - self.outputs_done

    def _views(self, first: int, n: int, held: bool) -> List[Tensor]:
        """The views a periodic pull of outputs ``first .. first + n`` uses (the block products',
        then with ``held`` the held signals'), from the cache when this geometry was seen before."""
        products = self.products
        column = products.column(self.base, first)
        start = first % products.block_outputs
        key = ((column * products.block_outputs + start) * (self.max_outputs + 1) + n) * 2 + int(held)
        cached = self.pull_views.get(key)
        if cached is not None:
            return cached
        views = products.call_views(self.history, column, first, n)
        if held:
            views = views + self.periodic.held_views(self.history, self.base, first, n)
        if len(self.pull_views) < self.view_cache_size:
            self.pull_views[key] = views
        return views

    def _farrow_outputs(self, first: int, n: int) -> Tensor:
        """Outputs ``first .. first + n`` through the Farrow filterbank."""
        span = self.farrow.filter_range(first, n)
        products = self.products
        products.pull(self.history, self.base, span[0], span[1])
        row_stride = products.blocks_touched(span[0], span[1]) * products.block_outputs
        start = span[0] % products.block_outputs
        return self.farrow.combine(products.outputs, row_stride, start, span[1] // self.farrow.terms, n)

    @torch.jit.export
    def pull(self, n: int) -> Tensor:
        """The next ``n`` outputs ``(channels, n)``, which must be computable (``n <= available() -
        outputs_done``)."""
        first = self.outputs_done
        self.outputs_done = first + n
        if self.use_farrow:
            return self._farrow_outputs(first, n)
        return self.products.run(self._views(first, n, False))

    @torch.jit.export
    def pull_with(self, n: int) -> Tuple[Tensor, Tensor]:
        """The next ``n`` outputs ``(channels, n)`` and their held signals ``(held_channels, n)``."""
        first = self.outputs_done
        self.outputs_done = first + n
        if self.use_farrow:
            held = self.farrow.held(self.history, self.base, first, n)
            return self._farrow_outputs(first, n), held
        views = self._views(first, n, True)
        torch.gather(views[7], 1, views[8], out=views[9])
        return self.products.run(views), views[9]


def resample(x: Tensor, in_rate: int, out_rate: int, quality: Optional[List[float]] = None) -> Tensor:
    """Offline conversion of ``x`` from ``in_rate`` to ``out_rate`` (Hz) with the streaming kernels,
    time-aligned: output ``j`` is the band-limited input at ``j / out_rate`` seconds.

    Shape: ``(channels, n) -> (channels, ceil(n * out_rate / in_rate))``.
    """
    if quality is None:
        quality = QUALITY_PRESETS["high"]
    ticks = rate_ticks(in_rate, out_rate, quality)
    phase = ticks[2] % ticks[1]
    delay = (ticks[2] - phase) // ticks[1]
    n = x.size(1)
    n_out = -((-n * out_rate) // in_rate)
    padded = torch.zeros(x.size(0), n + ticks[2] // ticks[0] + 2)
    padded.narrow(1, 0, n).copy_(x)
    resampler = PolyphaseResampler()
    resampler.configure(in_rate, out_rate, x.size(0), 0, padded.size(1), delay + n_out, quality, phase)
    resampler.push(padded)
    return resampler.pull(delay + n_out).narrow(1, delay, n_out).clone()
