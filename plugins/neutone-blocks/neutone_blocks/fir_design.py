r"""Windowed-sinc FIR design: low-pass, high-pass, band-pass and band-stop taps.

The ideal low-pass with cutoff ``f_c`` at rate ``f_s`` has ``h[n] = 2 f_c / f_s · sinc(2 f_c / f_s · n)``
(``n`` centred, ``sinc(t) = sin(πt)/(πt)``); high-pass is ``δ - h``, band-pass the difference of
two low-passes, band-stop ``δ`` minus the band-pass. The taps are multiplied by a Kaiser window
and scaled to unit gain at the centre of the pass band (DC, Nyquist or the band's centre), as
``scipy.signal.firwin(..., scale=True)``. Linear phase: the delay is ``(n_taps - 1) / 2`` samples.
"""

import math
from typing import List

import torch
from torch import Tensor


def fir_taps(filter_type: str, cutoffs_hz: List[float], sample_rate: float, n_taps: int, kaiser_beta: float = 8.6) -> Tensor:
    """Taps ``(n_taps,)`` of a windowed-sinc filter.

    Args:
        filter_type: ``"lowpass"``, ``"highpass"`` (one cutoff), ``"bandpass"`` or ``"bandstop"`` (two).
        cutoffs_hz: cutoff frequencies in Hz, increasing, inside ``(0, sample_rate / 2)``.
        sample_rate: Hz.
        n_taps: filter length in samples, odd (integer delay ``(n_taps - 1) / 2``).
        kaiser_beta: Kaiser window shape; 8.6 gives about 87 dB of stop-band attenuation.
    """
    filter_types = ["lowpass", "highpass", "bandpass", "bandstop"]
    if filter_type not in filter_types:
        raise ValueError(f"filter type '{filter_type}': must be one of {filter_types}")
    n_cutoffs = 1 if filter_type == "lowpass" or filter_type == "highpass" else 2
    if len(cutoffs_hz) != n_cutoffs:
        raise ValueError(f"{filter_type} filter with {len(cutoffs_hz)} cutoffs: needs exactly {n_cutoffs} (Hz)")
    if n_taps < 1 or n_taps % 2 == 0:
        raise ValueError(f"filter size {n_taps}: must be odd and >= 1 (for an integer delay of (size - 1) / 2 samples)")
    nyquist = sample_rate / 2.0
    previous = 0.0
    for cutoff in cutoffs_hz:
        if not previous < cutoff < nyquist:
            raise ValueError(f"cutoffs {cutoffs_hz} Hz at {sample_rate} Hz: must increase strictly inside (0, {nyquist}) Hz")
        previous = cutoff
    n = torch.arange(n_taps, dtype=torch.float64) - (n_taps - 1) / 2.0
    impulse = (n == 0).to(torch.float64)
    bands = [2.0 * cutoff / sample_rate * torch.sinc(2.0 * cutoff / sample_rate * n) for cutoff in cutoffs_hz]
    if filter_type == "lowpass":
        ideal, centre = bands[0], 0.0
    elif filter_type == "highpass":
        ideal, centre = impulse - bands[0], nyquist
    elif filter_type == "bandpass":
        ideal, centre = bands[1] - bands[0], (cutoffs_hz[0] + cutoffs_hz[1]) / 2.0
    else:
        ideal, centre = impulse - (bands[1] - bands[0]), 0.0
    taps = ideal * torch.kaiser_window(n_taps, periodic=False, beta=kaiser_beta, dtype=torch.float64)
    gain = torch.sum(taps * torch.cos(2.0 * math.pi * centre / sample_rate * n))
    return (taps / gain).float()
