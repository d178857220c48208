"""The resampler stage: host rate in, the model's native rate inside, host rate out.

Host sample ``k`` sits on tick ``k * Lh`` and model sample ``j`` on tick ``j * Mh + a`` of the
common grid (``Lh = R / g``, ``Mh = H / g``, ``g = gcd(H, R)``, ``H`` the host rate, ``R`` the
model's). The down filter (half-length ``Cd`` ticks) makes model sample ``j`` = input at tick
``j * Mh + a - Cd`` as soon as host sample ``floor((j * Mh + a) / Lh)`` has arrived; the inner
(FIFO and model) delays it by ``Di`` model samples; the up filter (half-length ``Cu``, phase
``b``) makes host output ``i`` from model samples up to ``floor((i * Lh + b) / Mh)``. With
``S = (Cd + Cu + Di * Mh) mod Lh`` and ``b = S - a`` the round trip is an exact integer delay

    D = floor((Cd + Cu + Di * Mh) / Lh)   host samples,

and ``a + b = S <= Lh - 1`` is exactly the condition under which every host output is
computable within the call that asks for it, whatever the block lengths: no output queue,
no underrun, and the least delay these filters allow. The model grid is fixed (``a = 0``):
whatever the host's buffer size, the model hears exactly the same samples and the FIFO cuts
them into the same blocks; only ``b`` follows the inner's delay.

Knobs follow the audio: model sample ``j`` takes the host knobs of the host sample nearest to
its content time (tick ``j * Mh + a - Cd``), at most half a host sample away (sample-and-hold
keeps them in 0..1, with no ringing).
"""

import math
from typing import List

import torch
from torch import Tensor, nn

from neutone_adapters.resample.design import half_length_ticks
from neutone_adapters.resample.polyphase import PolyphaseResampler
from neutone_core.parameters import MAX_N_PARAMS
from neutone_core.stage import AdapterStage, Stream, stream_with


def choose_native_rate(host_rate: int, native_rates: List[int], requested_rate: int) -> int:
    """The native rate (Hz) the model runs at for a host at ``host_rate`` Hz.

    A ``requested_rate`` (non-zero) must be declared and wins. Otherwise: the host's own rate
    if declared (no conversion); else the lowest declared rate above the host's (no band
    lost, least model work; latency is set by the host rate); else the highest declared rate
    (the least band lost and the shortest filters).
    """
    if requested_rate != 0:
        if requested_rate not in native_rates:
            raise ValueError(
                "requested model sample rate "
                + str(requested_rate)
                + " Hz is not a native rate of the model "
                + str(native_rates)
                + " (get_native_sample_rates()); request one of them or 0 to choose"
            )
        return requested_rate
    if host_rate in native_rates:
        return host_rate
    above = 0
    highest = 0
    for rate in native_rates:
        if rate > host_rate and (above == 0 or rate < above):
            above = rate
        highest = max(highest, rate)
    if above != 0:
        return above
    return highest


class ResampleStage(AdapterStage):
    """Converts the host stream to the model's native rate and back (see the module docs).

    Shape: x ``(in_channels, n)``, params ``(4, n)`` -> ``(out_channels, n)``; the inner gets
    ``(in_channels, m)`` and ``(4, m)`` model-rate blocks, ``m`` varying from call to call
    (``ceil(n * R / H)`` at most) and returns ``(out_channels, m)``.

    Args:
        inner: the stage inside (FIFO or model).
        native_sample_rates: the model's native rates in Hz.
        quality: ``[pass_fraction, stop_fraction, attenuation_db]`` of both filters.
        quality_name: the preset's name, for ``describe``.
    """

    native_sample_rates: List[int]
    quality: List[float]

    def __init__(self, inner: nn.Module, native_sample_rates: List[int], quality: List[float], quality_name: str) -> None:
        super().__init__(inner, "resample")
        for rate in native_sample_rates:
            if rate < 1:
                raise ValueError(f"model native sample rate {rate} Hz in get_native_sample_rates(): rates must be >= 1")
        if len(native_sample_rates) == 0:
            raise ValueError("the resampler needs at least one native sample rate (get_native_sample_rates())")
        self.native_sample_rates: List[int] = sorted(set(int(r) for r in native_sample_rates))
        self.quality: List[float] = list(quality)
        self.quality_name = quality_name
        self.down = PolyphaseResampler()
        self.up = PolyphaseResampler()
        self.n_params = MAX_N_PARAMS
        self.host_rate = 0
        self.model_rate = 0
        self.block_size = 0
        self.model_block = 0
        self.host_ticks = 1
        self.model_ticks = 1
        self.down_center = 0
        self.up_center = 0
        self.total_delay = 0

    @torch.jit.export
    def configure(self, stream: Stream) -> None:
        """Choose the native rate; configure the inner once for the model-rate blocks and
        pattern the host's produce (``floor((k * numerator * Lh + offset * Lh + Mh - 1) / Mh)``,
        ``a = 0``, at most ``ceil(block_size * R / H)`` samples), read its delay, choose the up
        phase ``b`` and build both filters."""
        rate = choose_native_rate(stream.sample_rate, self.native_sample_rates, stream.requested_sample_rate)
        self.host_rate = stream.sample_rate
        self.model_rate = rate
        self.block_size = stream.block_size
        self.active = rate != stream.sample_rate
        if not self.active:
            self.inner.configure(stream)
            return
        if stream.pattern_denominator != 1:
            raise ValueError(
                "resampler: block pattern "
                + str(stream.pattern_numerator)
                + "/"
                + str(stream.pattern_denominator)
                + " has a fractional block length; the resampler needs whole host blocks (denominator 1)"
            )
        divisor = math.gcd(stream.sample_rate, rate)
        self.host_ticks = rate // divisor
        self.model_ticks = stream.sample_rate // divisor
        self.model_block = (stream.block_size * self.host_ticks + self.model_ticks - 1) // self.model_ticks
        self.down_center = half_length_ticks(stream.sample_rate, rate, self.quality)
        self.up_center = half_length_ticks(rate, stream.sample_rate, self.quality)
        model_offset = stream.pattern_offset * self.host_ticks + self.model_ticks - 1
        self.inner.configure(
            stream_with(
                stream, rate, self.model_block, stream.pattern_numerator * self.host_ticks, self.model_ticks, model_offset
            )
        )
        inner_ticks = self.down_center + self.up_center + self.inner.delay_samples() * self.model_ticks
        self.total_delay = inner_ticks // self.host_ticks
        up_phase = inner_ticks % self.host_ticks
        self.down.configure(
            stream.sample_rate,
            rate,
            stream.in_channels,
            self.n_params,
            stream.block_size,
            self.model_block,
            self.quality,
            0,
        )
        self.up.configure(
            rate, stream.sample_rate, stream.out_channels, 0, self.model_block, stream.block_size, self.quality, up_phase
        )
        self.reset_state()

    def reset_state(self) -> None:
        """Zero both filters' history."""
        if self.active:
            self.down.reset()
            self.up.reset()

    def forward(self, x: Tensor, params: Tensor) -> Tensor:
        """Convert ``x`` ``(in_channels, n)`` down, run the inner, convert back: ``(out_channels, n)``."""
        if not self.active:
            return self.inner(x, params)
        count = self.down.push_with(x, params)
        if count > 0:
            audio, knobs = self.down.pull_with(count)
            self.up.push(self.inner(audio, knobs))
        return self.up.pull(x.size(1))

    @torch.jit.export
    def delay_samples(self) -> int:
        """Exact host-rate delay: both filters and the inner, ``floor((Cd + Cu + Di * Mh) / Lh)``."""
        if not self.active:
            return self.inner.delay_samples()
        return self.total_delay

    @torch.jit.export
    def describe(self) -> str:
        """Rates, preset and filter lengths."""
        if not self.active:
            return "resample: inactive (host rate " + str(self.host_rate) + " Hz is native)"
        return (
            "resample: "
            + str(self.host_rate)
            + " Hz <-> "
            + str(self.model_rate)
            + " Hz, quality "
            + self.quality_name
            + ", "
            + str(self.down.taps)
            + "/"
            + str(self.up.taps)
            + " taps per output"
        )
