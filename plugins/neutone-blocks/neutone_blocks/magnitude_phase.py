r"""Magnitude (optionally log) and phase of a complex spectrum, and back, without allocating.

Forward: ``M = |X|^p`` (``p = power``), with ``log``: ``M = log10(max(|X|^p, floor))``, and with
``positive`` also ``- log10(floor)`` so that ``M >= 0``; ``φ = arg X``. Inverse:
``|X| = (10^(M + log10 floor))^(1/p)`` (``max(·, floor)`` after the power, as the forward
clamps), ``X = |X| e^{iφ}``. With ``power=None`` the pair is ``(Re X, Im X)`` instead.
Shape: ``(ch, bins, k)`` complex <-> two ``(ch, bins, k)`` real. (``hypot``/``atan2`` of the
real and imaginary views: ``abs``/``angle`` of a complex tensor allocate even with ``out=``.)
"""

from typing import Optional

import torch
from torch import Tensor, nn


class MagnitudePhase(nn.Module):
    """Split a spectrum into magnitude and phase planes and join them back, into given buffers.

    Args:
        power: exponent ``p`` of the magnitude (>= 1); None for real and imaginary parts.
        log: store ``log10`` of the (floored) magnitude.
        positive: with ``log``, subtract ``log10(floor)`` so every value is >= 0.
        floor: smallest magnitude kept before the log (e.g. 1e-8).
    """

    def __init__(self, power: Optional[float] = 1.0, log: bool = False, positive: bool = False, floor: float = 1e-8) -> None:
        super().__init__()
        if power is not None and power < 1.0:
            raise ValueError(f"power {power}: must be >= 1 (or None for real and imaginary parts)")
        if power is None and log:
            raise ValueError("log=True needs a magnitude (power >= 1); real and imaginary parts (power=None) can be negative")
        self.use_real_imag = power is None
        self.power = 1.0 if power is None else float(power)
        self.log = log
        self.positive = positive
        self.floor = floor
        self.register_buffer("log_floor", torch.tensor(torch.log10(torch.tensor(floor)).item()), persistent=False)
        self.register_buffer("ten", torch.tensor(10.0), persistent=False)
        self.register_buffer("inverse_power", torch.tensor(1.0 / self.power), persistent=False)

    @torch.jit.export
    def split(self, spectrum: Tensor, magnitude: Tensor, phase: Tensor) -> None:
        """Write the magnitude (or real part) and phase (or imaginary part) of ``spectrum``."""
        if self.use_real_imag:
            magnitude.copy_(torch.real(spectrum))
            phase.copy_(torch.imag(spectrum))
            return
        real, imag = torch.real(spectrum), torch.imag(spectrum)
        torch.hypot(real, imag, out=magnitude)
        if self.power != 1.0:
            torch.pow(magnitude, self.power, out=magnitude)
        if self.log:
            magnitude.clamp_(min=self.floor).log10_()
            if self.positive:
                magnitude.sub_(self.log_floor)
        torch.atan2(imag, real, out=phase)

    @torch.jit.export
    def join(self, magnitude: Tensor, phase: Tensor, spectrum: Tensor, scratch: Tensor) -> None:
        """Write the complex spectrum of ``magnitude`` and ``phase`` into ``spectrum``, using
        ``scratch`` (real, same shape) so that the inputs stay untouched."""
        if self.use_real_imag:
            torch.complex(magnitude, phase, out=spectrum)
            return
        if self.log:
            if self.positive:
                torch.add(magnitude, self.log_floor, out=scratch)
                torch.pow(self.ten, scratch, out=scratch)
            else:
                torch.pow(self.ten, magnitude, out=scratch)
            scratch.clamp_(min=self.floor)
        else:
            scratch.copy_(magnitude)
        if self.power != 1.0:
            torch.pow(scratch, self.inverse_power, out=scratch)
        torch.polar(scratch, phase, out=spectrum)
