r"""Streaming mel spectrogram: the frames of a centred STFT, computed causally with a fixed delay.

Mel scale (HTK): ``mel(f) = 2595 log10(1 + f / 700)``. ``n_mels`` triangular filters have their
corners at ``n_mels + 2`` points equally spaced in mel between ``f_min`` and ``f_max``; filter
``i`` rises from corner ``i`` to ``i + 1`` and falls to ``i + 2`` (no area normalisation, as
torchaudio's default), applied to ``|X|^power`` of each frame (``normalized``: ``X`` divided
by ``sqrt(Σ w²)``).

Each block of ``k·hop`` samples yields ``k`` frames, each ending at a new hop: frame ``i`` of the
stream is centred at ``i·hop + hop - n_fft/2``, i.e. frame ``i - (n_fft/2 - hop)/hop`` of a
zero-padded centred STFT (the Neutone SDK's ``CachedMelSpec``): a delay of
``n_fft/2 - hop`` samples. Shape: ``(n_ch, k·hop) -> (n_ch, n_mels, k)``.
"""

import math
from typing import Callable, Optional

import torch
from torch import Tensor, nn

from neutone_blocks.look_behind import LookBehind
from neutone_blocks.stft import StftAnalysis


def mel_filterbank(n_bins: int, sample_rate: float, f_min: float, f_max: float, n_mels: int) -> Tensor:
    """Triangular HTK mel filters ``(n_mels, n_bins)`` over the rfft bins of ``n_fft = 2 (n_bins - 1)``."""
    frequencies = torch.arange(n_bins, dtype=torch.float64) * sample_rate / (2 * (n_bins - 1))
    mel_min, mel_max = 2595.0 * math.log10(1.0 + f_min / 700.0), 2595.0 * math.log10(1.0 + f_max / 700.0)
    corners = 700.0 * (10.0 ** (torch.linspace(mel_min, mel_max, n_mels + 2, dtype=torch.float64) / 2595.0) - 1.0)
    lower, centre, upper = corners[:-2, None], corners[1:-1, None], corners[2:, None]
    rising = (frequencies - lower) / (centre - lower)
    falling = (upper - frequencies) / (upper - centre)
    return torch.clamp(torch.minimum(rising, falling), min=0.0).float()


class CachedMelSpec(nn.Module):
    """Mel spectrogram of a stream, block by block (the SDK's ``CachedMelSpec`` arguments).

    Args:
        sr: sample rate in Hz.
        n_ch: audio channels.
        n_fft: frame length in samples, even.
        hop_len: samples between frames; ``n_fft / 2`` must be a multiple of it.
        f_min, f_max: Hz range of the filters (``f_max`` default ``sr / 2``).
        n_mels: mel bands.
        window_fn: builds the window from ``n_fft`` (default periodic Hann).
        power: exponent of the magnitude (> 0).
        normalized: divide the STFT by ``sqrt(Σ w²)``.
        center: must be True (frames are those of a centred STFT, delayed).
        use_debug_mode: check every call's input shape.
    """

    def __init__(
        self,
        sr: int,
        n_ch: int,
        n_fft: int = 2048,
        hop_len: int = 512,
        f_min: float = 0.0,
        f_max: Optional[float] = None,
        n_mels: int = 128,
        window_fn: Callable[..., Tensor] = torch.hann_window,
        power: float = 2.0,
        normalized: bool = False,
        center: bool = True,
        use_debug_mode: bool = True,
    ) -> None:
        super().__init__()
        if not center:
            raise ValueError("center=False: CachedMelSpec streams the frames of a centred STFT; pass center=True")
        if n_fft % 2 != 0 or hop_len < 1 or (n_fft // 2) % hop_len != 0:
            raise ValueError(f"n_fft {n_fft}, hop_len {hop_len}: n_fft must be even and n_fft / 2 a multiple of hop_len")
        if power <= 0:
            raise ValueError(f"power {power}: must be > 0")
        self.n_ch = n_ch
        self.n_fft = n_fft
        self.hop_len = hop_len
        self.n_mels = n_mels
        self.power = power
        self.use_debug_mode = use_debug_mode
        window = window_fn(n_fft)
        self.look_behind = LookBehind(n_fft - hop_len)
        self.analysis = StftAnalysis(n_fft, hop_len, window)
        scale = 1.0 / float(window.pow(2).sum().sqrt()) if normalized else 1.0
        filters = mel_filterbank(n_fft // 2 + 1, float(sr), f_min, float(sr) / 2.0 if f_max is None else f_max, n_mels)
        self.register_buffer("filters_t", (filters * scale**power).t().contiguous(), persistent=False)
        self.register_buffer("magnitude", torch.zeros(0), persistent=False)
        self.register_buffer("output", torch.zeros(0), persistent=False)

    @torch.jit.export
    def get_delay_samples(self) -> int:
        """Delay in samples against a centred STFT: ``n_fft / 2 - hop_len``."""
        return self.n_fft // 2 - self.hop_len

    @torch.jit.export
    def get_delay_frames(self) -> int:
        """Delay in frames: ``get_delay_samples() / hop_len``."""
        return self.get_delay_samples() // self.hop_len

    @torch.jit.export
    def latency_samples(self) -> int:
        """The delay in samples (the same as :meth:`get_delay_samples`)."""
        return self.get_delay_samples()

    @torch.jit.export
    def reset(self) -> None:
        """Forget the past: the stream restarts from silence."""
        self.look_behind.reset()

    def forward(self, x: Tensor) -> Tensor:
        """Mel frames of the next block ``(n_ch, k·hop)``: ``(n_ch, n_mels, k)``, a view valid until the next call."""
        if self.use_debug_mode and (x.dim() != 2 or x.size(0) != self.n_ch or x.size(1) % self.hop_len != 0):
            raise ValueError(
                f"CachedMelSpec got {list(x.shape)}: expected [{self.n_ch}, a multiple of hop_len = {self.hop_len}]"
            )
        spectrum = self.analysis(self.look_behind(x)).transpose(1, 2)
        n_ch, n_frames, n_bins = spectrum.shape
        if n_ch * n_frames * n_bins > self.magnitude.numel():
            self.magnitude = torch.zeros(n_ch * n_frames * n_bins)
            self.output = torch.zeros(n_ch * n_frames * self.n_mels)
        magnitude = self.magnitude.narrow(0, 0, n_ch * n_frames * n_bins).view(n_ch * n_frames, n_bins)
        real = torch.real(spectrum).reshape(n_ch * n_frames, n_bins)
        imag = torch.imag(spectrum).reshape(n_ch * n_frames, n_bins)
        torch.hypot(real, imag, out=magnitude)
        if self.power == 2.0:
            magnitude.mul_(magnitude)
        elif self.power != 1.0:
            magnitude.pow_(self.power)
        output = self.output.narrow(0, 0, n_ch * n_frames * self.n_mels).view(n_ch * n_frames, self.n_mels)
        torch.mm(magnitude, self.filters_t, out=output)
        return output.view(n_ch, n_frames, self.n_mels).transpose(1, 2)
