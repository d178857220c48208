"""Filters that keep their state across calls, with the Neutone SDK's classes and arguments.

``FIRFilter``: linear-phase windowed-sinc FIR (:mod:`neutone_blocks.fir_design`) run as a
cached convolution, delay ``(filt_size - 1) / 2`` samples. ``IIRFilter``: a fixed
state-variable biquad (:mod:`neutone_blocks.svf`) run chunk-wise in state-space form
(:mod:`neutone_blocks.state_space`), no delay. ``IIRSVF``: the same filter with
cutoff, resonance and mix given per sample. As in the SDK, a wrapper builds them at 48 kHz and
calls ``set_parameters(sample_rate=...)`` from ``set_model_sample_rate_and_buffer_size``, and
returns ``.delay`` from ``calc_model_delay_samples``.
Shape: ``(channels, n) -> (channels, n)``.
"""

import math
from enum import Enum
from typing import List, Optional

import torch
from torch import Tensor, nn

from neutone_blocks.conv import CachedConv1d
from neutone_blocks.fir_design import fir_taps
from neutone_blocks.state_space import StateSpaceFilter
from neutone_blocks.svf import SvfState, svf_maps, svf_output_row, svf_rows

DESIGN_SAMPLE_RATE = 48000
"""Rate (Hz) a filter is designed for until ``set_parameters(sample_rate=...)`` is called."""


class FilterType(Enum):
    """Filter response: low-pass, high-pass, band-pass or band-stop."""

    LOWPASS = "lowpass"
    HIGHPASS = "highpass"
    BANDPASS = "bandpass"
    BANDSTOP = "bandstop"


class FIRFilter(nn.Module):
    """Streaming linear-phase FIR filter (Kaiser-windowed sinc, beta 8.6).

    Args:
        filt_type: the response.
        cutoffs: cutoff frequencies in Hz: one for low/high-pass, two (low, high) for band-pass/stop.
        filt_size: taps, odd; the delay is ``(filt_size - 1) / 2`` samples (``.delay``).
    """

    def __init__(self, filt_type: FilterType, cutoffs: List[float], filt_size: int = 257) -> None:
        super().__init__()
        self.filt_type = filt_type
        self.cutoffs = cutoffs
        self.filt_size = filt_size
        self.sample_rate = DESIGN_SAMPLE_RATE
        self.delay = (filt_size - 1) // 2
        self.conv = CachedConv1d(1, 1, filt_size, bias=False, cached=True)
        self.conv.weight.requires_grad_(False)
        self.set_parameters(filt_type, cutoffs, DESIGN_SAMPLE_RATE, filt_size)

    @torch.jit.export
    def set_parameters(
        self,
        filt_type: Optional[FilterType] = None,
        cutoffs: Optional[List[float]] = None,
        sample_rate: Optional[int] = None,
        filt_size: Optional[int] = None,
    ) -> None:
        """Redesign for new values (None keeps the current one); the filter's memory is kept."""
        if filt_size is not None and filt_size != self.filt_size:
            raise ValueError(f"filt_size {filt_size}: fixed at construction ({self.filt_size}); build a new FIRFilter")
        filter_type = self.filt_type if filt_type is None else filt_type
        new_cutoffs = self.cutoffs if cutoffs is None else cutoffs
        rate = self.sample_rate if sample_rate is None else sample_rate
        taps = fir_taps(filter_type.value, new_cutoffs, float(rate), self.filt_size)
        self.conv.weight.copy_(taps.flip(0).view(1, 1, -1))
        self.filt_type, self.cutoffs, self.sample_rate = filter_type, new_cutoffs, rate

    @torch.jit.export
    def latency_samples(self) -> int:
        """Delay in samples: ``(filt_size - 1) / 2`` (the same as ``.delay``)."""
        return self.delay

    @torch.jit.export
    def reset(self) -> None:
        """Forget the past input."""
        self.conv.reset()

    def forward(self, audio: Tensor) -> Tensor:
        """Filter the next block ``(channels, n)``; returns a view valid until the next call."""
        return self.conv(audio.unsqueeze(1)).squeeze(1)


def svf_mix(filter_type: FilterType) -> List[float]:
    """SVF output mix (band, low, high) of a response; band-stop is low + high."""
    if filter_type == FilterType.BANDPASS:
        return [1.0, 0.0, 0.0]
    if filter_type == FilterType.LOWPASS:
        return [0.0, 1.0, 0.0]
    if filter_type == FilterType.HIGHPASS:
        return [0.0, 0.0, 1.0]
    return [0.0, 1.0, 1.0]


class IIRFilter(nn.Module):
    """Fixed state-variable biquad (the SDK's ``IIRFilter``), run as a state-space filter: no delay.

    Args:
        filt_type: low-pass, high-pass, band-pass (unit peak gain) or band-stop.
        cutoff: Hz; the design keeps it inside ``(1e-4, sample_rate / 2 - 1e-4)`` at each rate.
        resonance: ``Q``, the damping is ``1 / resonance`` (0.7071 is Butterworth), at least 1e-4.
    """

    def __init__(self, filt_type: FilterType, cutoff: float, resonance: float) -> None:
        super().__init__()
        self.filt_type = filt_type
        self.cutoff = cutoff
        self.resonance = resonance
        self.sample_rate = DESIGN_SAMPLE_RATE
        self.delay = 0
        self.filter = StateSpaceFilter()
        self.set_parameters(filt_type, cutoff, resonance, DESIGN_SAMPLE_RATE)

    @torch.jit.export
    def set_parameters(
        self,
        filt_type: Optional[FilterType] = None,
        cutoff: Optional[float] = None,
        resonance: Optional[float] = None,
        sample_rate: Optional[int] = None,
    ) -> None:
        """Redesign for new values (None keeps the current one); the filter's state is kept."""
        filter_type = self.filt_type if filt_type is None else filt_type
        rate = self.sample_rate if sample_rate is None else sample_rate
        new_cutoff = self.cutoff if cutoff is None else cutoff
        new_resonance = self.resonance if resonance is None else resonance
        g = torch.tensor([[math.tan(math.pi * max(min(new_cutoff, rate / 2.0 - 1e-4), 1e-4) / rate)]])
        k = torch.tensor([[1.0 / max(new_resonance, 1e-4)]])
        rows, maps, output_row = torch.zeros(3, 3, 1, 1), torch.zeros(2, 3, 1, 1), torch.zeros(3, 1, 1)
        svf_rows(g, k, rows, torch.tensor(1.0))
        svf_maps(rows, maps, torch.tensor(2.0), torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]).view(2, 3, 1, 1))
        svf_output_row(rows, k, torch.tensor(svf_mix(filter_type)).view(3, 1, 1), torch.zeros(1, 1), output_row)
        max_block = max(self.filter.max_chunks * self.filter.chunk, 4096)
        a, b, c, d = maps[:, :2, 0, 0], maps[:, 2, 0, 0], output_row[:2, 0, 0], float(output_row[2, 0, 0])
        self.filter.set_coefficients(a, b, c, d, max_block)
        self.filt_type, self.cutoff, self.resonance, self.sample_rate = filter_type, new_cutoff, new_resonance, rate

    @torch.jit.export
    def latency_samples(self) -> int:
        """Delay in samples: 0."""
        return 0

    @torch.jit.export
    def reset(self) -> None:
        """Zero the filter state."""
        self.filter.reset()

    def forward(self, audio: Tensor) -> Tensor:
        """Filter the next block ``(channels, n)``; returns a view valid until the next call."""
        return self.filter(audio)


class IIRSVF(nn.Module):
    """State-variable filter with cutoff, resonance and mix per sample (the SDK's ``IIRSVF``)."""

    def __init__(self) -> None:
        super().__init__()
        self.delay = 0
        self.svf = SvfState()
        self.register_buffer("pi_over_rate", torch.tensor(0.0), persistent=False)

    @torch.jit.export
    def latency_samples(self) -> int:
        """Delay in samples: 0."""
        return 0

    @torch.jit.export
    def reset(self) -> None:
        """Zero the filter state."""
        self.svf.reset()

    def forward(self, audio: Tensor, cutoff: Tensor, resonance: Tensor, mix: Tensor, sample_rate: int) -> Tensor:
        """Filter the next block.

        Args:
            audio: ``(channels, n)``.
            cutoff: Hz, ``(channels, n, 1)`` (or 1 channel for all), kept inside ``(1e-4, sample_rate / 2 - 1e-4)``.
            resonance: ``Q`` ``(channels, n, 1)``, at least 1e-4.
            mix: ``(channels, n, 3)`` weights of band-pass, low-pass and high-pass, e.g. ``[1, 0, 0]`` = band-pass.
            sample_rate: Hz.

        Returns ``(channels, n)``, a view valid until the next call.
        """
        n, channels = audio.size(1), audio.size(0)
        svf = self.svf
        svf.prepare(n, channels)
        self.pi_over_rate.fill_(math.pi / sample_rate)
        torch.clamp(cutoff[..., 0].expand(channels, n), min=1e-4, max=sample_rate / 2.0 - 1e-4, out=svf.cutoff)
        svf.cutoff.mul_(self.pi_over_rate).tan_()
        torch.clamp(resonance[..., 0].expand(channels, n), min=1e-4, out=svf.damping)
        svf.damping.reciprocal_()
        svf_rows(svf.cutoff, svf.damping, svf.rows, svf.one)
        svf_maps(svf.rows, svf.maps, svf.two, svf.state_identity)
        svf_output_row(svf.rows, svf.damping, mix.expand(channels, n, 3).permute(2, 0, 1), svf.band_weight, svf.output_row)
        return svf.run(audio)
