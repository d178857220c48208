r"""Magnitude (optionally log) and phase of a complex spectrum, and back, without allocating.

Forward: ``M = |X|^p`` (``p = power``), with ``log``: ``M = log10(max(|X|^p, floor))``, and with
``positive`` also ``- log10(floor)`` so that ``M >= 0``; ``φ = arg X``. Inverse:
``|X| = (10^(M + log10 floor))^(1/p)`` (``max(·, floor)`` after the power, as the forward
clamps), ``X = |X| e^{iφ}``. With ``power=None`` the pair is ``(Re X, Im X)`` instead.
Shape: ``(ch, bins, k)`` complex <-> two ``(ch, bins, k)`` real. (``hypot``/``atan2`` of the
real and imaginary views: ``abs``/``angle`` of a complex tensor allocate even with ``out=``.)

Where the phase is only kept to be put back, :meth:`MagnitudePhase.split_phasor` keeps the unit
phasor ``X / |X|`` (complex; ``1``, phase 0, where ``|X| = 0``, whatever the zeros' signs,
where ``atan2`` gives ``±π`` for ``-0``) instead of ``φ``, and :meth:`MagnitudePhase.join_phasor`
multiplies it back: a divide and a multiply on the real view in place of ``atan2`` and
``polar``, the same spectrum to float rounding.
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
        self.register_buffer("one", torch.tensor(1.0), persistent=False)

    @torch.jit.export
    def split(self, spectrum: Tensor, magnitude: Tensor, phase: Tensor) -> None:
        """Write the magnitude (or real part) and phase (or imaginary part) of ``spectrum``."""
        if self.use_real_imag:
            magnitude.copy_(torch.real(spectrum))
            phase.copy_(torch.imag(spectrum))
            return
        real, imag = torch.real(spectrum), torch.imag(spectrum)
        torch.hypot(real, imag, out=magnitude)
        torch.atan2(imag, real, out=phase)
        self.shape_magnitude(magnitude)

    @torch.jit.export
    def split_phasor(self, spectrum: Tensor, magnitude: Tensor, phasor: Tensor, scratch: Tensor) -> None:
        """Write the magnitude of ``spectrum`` (as :meth:`split`) and its unit phasor ``X / |X|``
        (complex, ``1`` where ``|X| = 0``) into ``phasor``, using ``scratch`` (real, the shape of
        ``magnitude``); needs a magnitude (``power`` not None)."""
        if self.use_real_imag:
            raise RuntimeError("MagnitudePhase.split_phasor needs a magnitude: power=None keeps real and imaginary parts")
        torch.hypot(torch.real(spectrum), torch.imag(spectrum), out=magnitude)
        torch.sign(magnitude, out=scratch)
        torch.sub(self.one, scratch, out=scratch)  # 1 where |X| = 0, else 0
        magnitude.add_(scratch)
        torch.div(torch.view_as_real(spectrum), magnitude.unsqueeze(-1), out=torch.view_as_real(phasor))
        magnitude.sub_(scratch)  # |X| again, exactly (x + 0 - 0, 0 + 1 - 1)
        torch.real(phasor).add_(scratch)  # 0 + 0j -> 1 + 0j
        self.shape_magnitude(magnitude)

    def shape_magnitude(self, magnitude: Tensor) -> None:
        """Turn ``|X|`` in ``magnitude`` into ``|X|^p``, then its floored log if asked, in place."""
        if self.power != 1.0:
            torch.pow(magnitude, self.power, out=magnitude)
        if self.log:
            magnitude.clamp_(min=self.floor).log10_()
            if self.positive:
                magnitude.sub_(self.log_floor)

    @torch.jit.export
    def join(self, magnitude: Tensor, phase: Tensor, spectrum: Tensor, scratch: Tensor) -> None:
        """Write the complex spectrum of ``magnitude`` and ``phase`` into ``spectrum``, using
        ``scratch`` (real, same shape) so that the inputs stay untouched."""
        if self.use_real_imag:
            torch.complex(magnitude, phase, out=spectrum)
            return
        torch.polar(self.linear_magnitude(magnitude, scratch), phase, out=spectrum)

    @torch.jit.export
    def join_phasor(self, magnitude: Tensor, phasor: Tensor, spectrum: Tensor, scratch: Tensor) -> None:
        """Write ``|X| · phasor`` (the unit phasor of :meth:`split_phasor`) into ``spectrum``,
        using ``scratch`` (real, the shape of ``magnitude``) so that the inputs stay untouched."""
        if self.use_real_imag:
            raise RuntimeError("MagnitudePhase.join_phasor needs a magnitude: power=None keeps real and imaginary parts")
        linear = self.linear_magnitude(magnitude, scratch).unsqueeze(-1)
        torch.mul(torch.view_as_real(phasor), linear, out=torch.view_as_real(spectrum))

    def linear_magnitude(self, magnitude: Tensor, scratch: Tensor) -> Tensor:
        """``|X|`` of the (log, power) ``magnitude``, written into ``scratch`` and returned."""
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
        return scratch
