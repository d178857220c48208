"""Streaming rational sample-rate conversion with a Kaiser-windowed sinc (see ``design``).

:class:`PolyphaseResampler` keeps its input history across calls (``history.InputHistory``) and
computes output ``j`` (tick ``t_j = j * Q + phase``) from the ``taps`` inputs ending at
``floor(t_j / P)``: output ``j`` is the band-limited input at tick ``t_j - C``, so the delay is
``(C - phase) / Q`` output samples. The outputs come from block products (``blocks``) over one of
two designs, chosen per rate pair: the period's taps as one matrix (``periodic``) while that
matrix is small, else a Farrow filterbank with taps as polynomials in the output's phase
(``farrow``; pairs with a long period such as 44101 <-> 48000 Hz). Both are designed once per
rate pair and quality (the periodic one per phase too); a new block size only re-allocates
buffers. The views a periodic pull uses are kept per call geometry. :func:`resample` is the
offline form of the same kernels."""


from typing import Dict, List, Optional, Tuple

import torch
from torch import Tensor, nn

from neutone_adapters.resample.blocks import BlockProducts
from neutone_adapters.resample.design import block_periods, rate_ticks
from neutone_adapters.resample.farrow import FarrowKernel
from neutone_adapters.resample.history import InputHistory
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

    pull_views: Dict[int, List[Tensor]]

    def __init__(self) -> None:
        super().__init__()
        self.products = BlockProducts()
        self.periodic = PeriodicKernel()
        self.farrow = FarrowKernel()
        self.inputs = InputHistory()
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
        self.max_outputs = 0
        self.outputs_done = 0

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
        lookahead = self.products.lookahead()
        self.inputs.allocate(
            channels, held_channels, max_inputs, layout[3], lookahead, self.compaction_span, self.view_cache_size
        )
        self.pull_views.clear()
        self.outputs_done = 0

    @torch.jit.export
    def reset(self) -> None:
        """Forget the history: the input before the first push is zeros."""
        self.inputs.reset()
        self.outputs_done = 0

    @torch.jit.export
    def available(self) -> int:
        """Outputs computable from the input pushed so far (counted from the first)."""
        last_tick = self.inputs.inputs_seen * self.input_ticks - 1 - self.phase_ticks
        if last_tick < 0:
            return 0
        return last_tick // self.output_ticks + 1

    @torch.jit.export
    def push(self, x: Tensor) -> int:
        """Append ``x`` ``(channels + held_channels, n)``; non-finite samples enter as 0. Returns
        the outputs ready."""
        self.inputs.push(x)
        return self.available() - self.outputs_done

    @torch.jit.export
    def push_with(self, x: Tensor, held: Tensor) -> int:
        """Append ``x`` ``(channels, n)`` and ``held`` ``(held_channels, n)``. Returns the outputs ready."""
        self.inputs.push_with(x, held)
        return self.available() - self.outputs_done

    def _views(self, first: int, n: int, held: bool) -> List[Tensor]:
        """The views a periodic pull of outputs ``first .. first + n`` uses (the block products',
        then with ``held`` the held signals'), from the cache when this geometry was seen before."""
        products = self.products
        column = products.column(self.inputs.base, first)
        start = first % products.block_outputs
        key = ((column * products.block_outputs + start) * (self.max_outputs + 1) + n) * 2 + int(held)
        cached = self.pull_views.get(key)
        if cached is not None:
            return cached
        views = products.call_views(self.inputs.history, column, first, n)
        if held:
            views = views + self.periodic.held_views(self.inputs.history, self.inputs.base, first, n)
        if len(self.pull_views) < self.view_cache_size:
            self.pull_views[key] = views
        return views

    def _farrow_outputs(self, first: int, n: int) -> Tensor:
        """Outputs ``first .. first + n`` through the Farrow filterbank."""
        span = self.farrow.filter_range(first, n)
        products = self.products
        products.pull(self.inputs.history, self.inputs.base, span[0], span[1])
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
            held = self.farrow.held(self.inputs.history, self.inputs.base, first, n)
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
