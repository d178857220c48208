r"""Streaming STFT core: framed analysis and overlap-add synthesis that reconstruct exactly.

Analysis (stateless): a block of ``L + k·hop`` samples, ``L = n_fft - hop`` of them look-behind,
holds ``k`` frames; frame ``j`` is ``x[j·hop : j·hop + n_fft]`` times the window ``w``, and
all ``k`` go through one batched rfft: ``X_j[f] = Σ_n w[n] x[j·hop + n] e^{-2πi f n / n_fft}``.

Synthesis (stateful): each frame is inverse transformed, multiplied by the synthesis window
``w_s[n] = w[n] / Σ_m w[(n mod hop) + m·hop]²`` (the sum over every ``m`` that stays inside the
window) and overlap-added at ``j·hop``; what lies beyond the ``k·hop`` samples a call emits is
carried to the next call. Because ``Σ_j w[n - j·hop] w_s[n - j·hop] = 1`` for every ``n`` (the
NOLA condition: the denominator never vanishes; Griffin & Lim 1984), analysis then synthesis
returns the input exactly, for any such window.

Delay: a call emits the samples starting where its first frame starts, ``L`` samples before
its newest block, so an identity model returns the input delayed by
``n_fft - hop`` samples (:func:`stft_delay_samples`).

Zero ends (``trim_zero_ends=True``): samples where the window is zero weigh nothing in
analysis or synthesis, so a frame need only span the window's nonzero part, ``S`` samples
from its first nonzero sample ``a`` (:func:`nonzero_span`): the look-behind becomes ``S - hop``
and so does the delay. The periodic Hann window and its square root start with one zero:
``S = n_fft - 1``. The spectra are unchanged (the frame still has ``n_fft`` samples, zero
outside the span).
"""

from typing import List, Optional, Tuple

import torch
from torch import Tensor, nn

NOLA_TOLERANCE = 1e-10
"""Smallest overlap-added squared window allowed, relative to its peak."""


def stft_delay_samples(n_fft: int, hop_length: int) -> int:
    """Delay (samples) from analysis input to synthesis output: ``n_fft - hop_length``."""
    return n_fft - hop_length


def nonzero_span(window: Tensor) -> Tuple[int, int]:
    """``(first, length)`` of the window's nonzero part: its first nonzero sample and the samples
    from there to its last nonzero one (``(0, n_fft)`` for a window without zero ends)."""
    nonzero = torch.nonzero(window.reshape(-1) != 0).flatten()
    if nonzero.numel() == 0:
        return 0, window.numel()
    first = int(nonzero[0])
    return first, int(nonzero[-1]) - first + 1


def synthesis_window(window: Tensor, hop_length: int) -> Tensor:
    """The overlap-add window ``w / Σ_m w[n mod hop + m·hop]²`` for ``window`` ``(n_fft,)``.

    Raises ValueError naming the broken constraint: non-positive ``n_fft``, ``hop_length``
    outside ``1..n_fft``, or a window/hop pair that breaks NOLA. Computed in float64.
    """
    n_fft = window.numel()
    if window.dim() != 1 or n_fft < 1:
        raise ValueError(f"window of shape {tuple(window.shape)}: must be 1-D with n_fft >= 1 samples")
    if not 1 <= hop_length <= n_fft:
        raise ValueError(f"hop_length {hop_length} for n_fft {n_fft}: must be in 1..n_fft samples")
    squared = window.double() ** 2
    n_pieces = -(-n_fft // hop_length)
    padded = torch.zeros(n_pieces * hop_length, dtype=torch.float64)
    padded[:n_fft] = squared
    envelope = padded.view(n_pieces, hop_length).sum(0)
    smallest = int(envelope.argmin())
    if float(envelope[smallest]) <= NOLA_TOLERANCE * float(envelope.max()):
        raise ValueError(
            f"window and hop_length {hop_length} break NOLA: the overlap-added squared window is "
            f"{float(envelope[smallest]):.3g} at sample {smallest} of each hop (peak {float(envelope.max()):.3g}); "
            "use a smaller hop (more overlap) or a window that is not zero there"
        )
    return (window.double() / envelope.repeat(n_pieces)[:n_fft]).to(window.dtype)


def checked_window(n_fft: int, hop_length: int, window: Optional[Tensor]) -> Tensor:
    """``window`` (default: periodic Hann of ``n_fft``) after checking ``n_fft``, its length and NOLA."""
    if n_fft < 1:
        raise ValueError(f"n_fft {n_fft}: must be >= 1 samples")
    if window is None:
        window = torch.hann_window(n_fft)
    if window.shape != (n_fft,):
        raise ValueError(f"window of shape {tuple(window.shape)}: must have n_fft = {n_fft} samples")
    synthesis_window(window, hop_length)
    return window.float()


def frame_spectra(
    signal: Tensor, window: Tensor, hop_length: int, frames: Tensor, spectrum: Tensor, first: int = 0
) -> Tensor:
    """Windowed frames of ``signal`` and their rfft, written into ``frames`` ``(ch, k, n_fft)``
    and ``spectrum`` ``(ch, k, bins)``. ``window`` ``(S,)`` is written at sample ``first`` of each
    frame (the rest of ``frames`` stays as it is: zeros). Shape: ``(ch, S - hop + k·hop) ->
    (ch, bins, k)`` (a transposed view of ``spectrum``)."""
    span = window.size(0)
    torch.mul(signal.unfold(1, span, hop_length), window, out=frames.narrow(2, first, span))
    torch.fft.rfft(frames, dim=2, out=spectrum)
    return spectrum.transpose(1, 2)


def overlap_add(
    spectrum: Tensor, synthesis: Tensor, hop_length: int, frames: Tensor, accumulator: Tensor, first: int = 0
) -> None:
    """Inverse transform ``spectrum`` ``(ch, bins, k)`` into ``frames`` ``(ch, k, n_fft)``, apply
    the synthesis window ``(S,)`` to samples ``first .. first + S`` of each frame and add that
    span of frame ``j`` to ``accumulator`` ``(ch, (k + R - 1)·hop)`` at ``j·hop``
    (``R = ceil(S / hop)``).

    Every accumulator sample receives its frames in the order they were analysed, whatever
    ``k`` (frame by frame when ``k <= R``, else piece by piece from the last piece), so a stream
    cut into other calls sums the same numbers in the same order."""
    n_fft = frames.size(2)
    span = synthesis.size(0)
    n_frames = frames.size(1)
    torch.fft.irfft(spectrum.transpose(1, 2), n=n_fft, dim=2, out=frames)
    kept = frames.narrow(2, first, span)
    kept.mul_(synthesis)
    n_pieces = -(-span // hop_length)
    if n_frames <= n_pieces:
        for frame in range(n_frames):
            accumulator.narrow(1, frame * hop_length, span).add_(kept.select(1, frame))
        return
    hops = accumulator.view(accumulator.size(0), -1, hop_length)
    for piece in range(n_pieces - 1, -1, -1):
        length = min(hop_length, span - piece * hop_length)
        hops.narrow(1, piece, n_frames).narrow(2, 0, length).add_(kept.narrow(2, piece * hop_length, length))


def stft(x: Tensor, window: Tensor, hop_length: int) -> Tensor:
    """Offline causal STFT: ``x`` preceded by ``n_fft - hop`` zeros, framed as the streaming
    analysis frames it. Shape: ``(ch, n) -> (ch, bins, n // hop)`` complex."""
    n_fft = window.size(0)
    n_frames = x.size(1) // hop_length
    signal = torch.nn.functional.pad(x[:, : n_frames * hop_length], (n_fft - hop_length, 0))
    frames = torch.empty(x.size(0), n_frames, n_fft)
    spectrum = torch.empty(x.size(0), n_frames, n_fft // 2 + 1, dtype=torch.complex64)
    return frame_spectra(signal, window, hop_length, frames, spectrum)


def istft(spectrum: Tensor, window: Tensor, hop_length: int) -> Tensor:
    """Offline overlap-add of every frame from silence: the inverse of :func:`stft`, delayed by
    ``n_fft - hop`` samples. Shape: ``(ch, bins, k) -> (ch, k·hop)``."""
    n_fft = window.size(0)
    n_channels, _, n_frames = spectrum.shape
    frames = torch.empty(n_channels, n_frames, n_fft)
    accumulator = torch.zeros(n_channels, (n_frames - 1 + -(-n_fft // hop_length)) * hop_length)
    overlap_add(spectrum, synthesis_window(window, hop_length), hop_length, frames, accumulator)
    return accumulator[:, : n_frames * hop_length]


def _view(flat: Tensor, shape: List[int]) -> Tensor:
    numel = 1
    for size in shape:
        numel *= size
    return flat.narrow(0, 0, numel).view(shape)


class StftAnalysis(nn.Module):
    """Framed analysis of a block with its look-behind: ``k`` windowed frames, one batched rfft.

    Stateless: the caller hands in ``look_behind_samples`` (``n_fft - hop``; ``S - hop`` with
    ``trim_zero_ends``) samples of look-behind before the ``k·hop`` new samples. The result is a
    view of an internal buffer, valid until the next call.

    Args:
        n_fft: frame length in samples (>= 1).
        hop_length: samples between frames (1..n_fft).
        window: analysis window ``(n_fft,)`` meeting NOLA with ``hop_length`` (default periodic Hann).
        trim_zero_ends: frame only the window's nonzero span ``S`` (see the module docs).

    Shape: ``(ch, look_behind_samples + k·hop) -> (ch, n_fft // 2 + 1, k)`` complex64.
    """

    def __init__(self, n_fft: int, hop_length: int, window: Optional[Tensor] = None, trim_zero_ends: bool = False) -> None:
        super().__init__()
        self.n_fft = n_fft
        self.hop_length = hop_length
        self.n_bins = n_fft // 2 + 1
        full = checked_window(n_fft, hop_length, window)
        self.first, self.span = nonzero_span(full) if trim_zero_ends else (0, n_fft)
        self.look_behind_samples = self.span - hop_length
        self.register_buffer("window", full[self.first : self.first + self.span].clone())
        self.register_buffer("frames", torch.zeros(0), persistent=False)
        self.register_buffer("spectrum", torch.zeros(0, dtype=torch.complex64), persistent=False)
        self.register_buffer("frames_view", torch.zeros(0, 0, n_fft), persistent=False)
        self.register_buffer("spectrum_view", torch.zeros(0, 0, self.n_bins, dtype=torch.complex64), persistent=False)

    @torch.jit.export
    def configure(self, n_channels: int, max_frames: int) -> None:
        """Allocate for calls of up to ``n_channels`` x ``max_frames`` frames (views for exactly
        that many are kept)."""
        self.frames = torch.zeros(n_channels * max_frames * self.n_fft)
        self.spectrum = torch.zeros(n_channels * max_frames * self.n_bins, dtype=torch.complex64)
        self.frames_view = _view(self.frames, [n_channels, max_frames, self.n_fft])
        self.spectrum_view = _view(self.spectrum, [n_channels, max_frames, self.n_bins])

    def forward(self, signal: Tensor) -> Tensor:
        """Spectra of the ``k`` frames in ``signal`` (look-behind then ``k·hop`` new samples)."""
        new_samples = signal.size(1) - self.look_behind_samples
        if new_samples < self.hop_length or new_samples % self.hop_length != 0:
            raise ValueError(
                f"StftAnalysis got {signal.size(1)} samples: expected {self.look_behind_samples} (n_fft - hop, less the "
                f"window's zero ends when trimmed) look-behind samples plus a positive multiple of hop = {self.hop_length}"
            )
        n_channels = signal.size(0)
        n_frames = new_samples // self.hop_length
        if n_channels == self.frames_view.size(0) and n_frames == self.frames_view.size(1):
            return frame_spectra(signal, self.window, self.hop_length, self.frames_view, self.spectrum_view, self.first)
        if n_channels * n_frames * self.n_fft > self.frames.numel():
            self.configure(n_channels, n_frames)
        frames = _view(self.frames, [n_channels, n_frames, self.n_fft])
        spectrum = _view(self.spectrum, [n_channels, n_frames, self.n_bins])
        return frame_spectra(signal, self.window, self.hop_length, frames, spectrum, self.first)


class StftSynthesis(nn.Module):
    """Overlap-add synthesis carrying its tail across calls; exact inverse of :class:`StftAnalysis`.

    The output is a view of an internal buffer, valid until the next call; its delay against
    the analysis input is ``n_fft - hop`` samples (``S - hop`` with ``trim_zero_ends``;
    :meth:`latency_samples`).

    Args:
        n_fft: frame length in samples (>= 1).
        hop_length: samples between frames (1..n_fft).
        window: the analysis window ``(n_fft,)`` (default periodic Hann); the synthesis window
            is normalised from it (see the module docs), precomputed here.
        trim_zero_ends: overlap-add only the window's nonzero span ``S``, as the analysis built
            with the same flag frames it (see the module docs).

    Shape: ``(ch, n_fft // 2 + 1, k) -> (ch, k·hop)``; a transposed view of a contiguous
    ``(ch, k, bins)`` tensor (what :class:`StftAnalysis` returns) saves the inverse transform a copy.
    """

    def __init__(self, n_fft: int, hop_length: int, window: Optional[Tensor] = None, trim_zero_ends: bool = False) -> None:
        super().__init__()
        full = checked_window(n_fft, hop_length, window)
        self.first, self.span = nonzero_span(full) if trim_zero_ends else (0, n_fft)
        self.register_buffer("synthesis", synthesis_window(full, hop_length)[self.first : self.first + self.span].clone())
        self.n_fft = n_fft
        self.hop_length = hop_length
        self.n_pieces = -(-self.span // hop_length)
        self.tail_samples = (self.n_pieces - 1) * hop_length
        self.register_buffer("frames", torch.zeros(0), persistent=False)
        self.register_buffer("frames_view", torch.zeros(0, 0, n_fft), persistent=False)
        self.register_buffer("accumulator", torch.zeros(0, self.tail_samples), persistent=False)
        self.max_frames = 0
        self.write = 0

    @torch.jit.export
    def configure(self, n_channels: int, max_frames: int) -> None:
        """Allocate for calls of up to ``n_channels`` x ``max_frames`` frames; clears the tail.

        The accumulator is a line of twice what one call spans: each call overlap-adds after
        the tail the previous one left, returns its completed samples as a view, and moves on;
        the tail is copied back to the start only when the next call would run past the end."""
        self.frames = torch.zeros(n_channels * max_frames * self.n_fft)
        self.frames_view = _view(self.frames, [n_channels, max_frames, self.n_fft])
        self.accumulator = torch.zeros(n_channels, 2 * (max_frames * self.hop_length + self.tail_samples))
        self.max_frames = max_frames
        self.write = 0

    @torch.jit.export
    def reset(self) -> None:
        """Forget the overlap-add tail: the next call starts from silence."""
        self.accumulator.narrow(1, self.write, self.tail_samples).zero_()

    @torch.jit.export
    def latency_samples(self) -> int:
        """Delay (samples) from the analysis input to this output: ``n_fft - hop`` (``S - hop``
        with ``trim_zero_ends``)."""
        return self.span - self.hop_length

    def forward(self, spectrum: Tensor) -> Tensor:
        """The next ``k·hop`` samples of the stream, from the ``k`` frames' spectra."""
        n_channels = spectrum.size(0)
        n_frames = spectrum.size(2)
        if n_channels != self.accumulator.size(0):
            self.configure(n_channels, n_frames)
        elif n_frames > self.max_frames:
            tail = self.accumulator.narrow(1, self.write, self.tail_samples).clone()
            self.configure(n_channels, n_frames)
            self.accumulator.narrow(1, 0, self.tail_samples).copy_(tail)
        emitted = n_frames * self.hop_length
        if self.write + emitted + self.tail_samples > self.accumulator.size(1):
            self.accumulator.narrow(1, 0, self.tail_samples).copy_(self.accumulator.narrow(1, self.write, self.tail_samples))
            self.write = 0
        region = self.accumulator.narrow(1, self.write, emitted + self.tail_samples)
        region.narrow(1, self.tail_samples, emitted).zero_()
        if n_frames == self.max_frames:
            frames = self.frames_view
        else:
            frames = _view(self.frames, [n_channels, n_frames, self.n_fft])
        overlap_add(spectrum, self.synthesis, self.hop_length, frames, region, self.first)
        output = self.accumulator.narrow(1, self.write, emitted)
        self.write += emitted
        return output
