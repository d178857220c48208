"""The STFT a spectral wrapper declares: checked once, carried in the innermost record.

A spectral wrapper's record has the domain :data:`SPECTROGRAM` and its :class:`StftConfig`
under ``extra["stft"]``; the STFT adapter reads it there, builds its stage from it and asks
the stage outside it for what the configuration needs (:meth:`StftConfig.outer_block_sizes`,
:meth:`StftConfig.look_behind_samples`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from neutone_blocks.stft import checked_window, nonzero_span
from torch import Tensor

from neutone_core import NeutoneError

SPECTROGRAM = "spectrogram"
"""The domain of a spectral model's record: its blocks are STFT frames."""

STFT_EXTRA = "stft"
"""Key of the :class:`StftConfig` in a spectral record's ``extra``."""

WINDOWS = ("hann", "sqrt-hann")
"""Window names a wrapper may return from ``get_window()`` (periodic, as ``torch.stft`` uses);
any other window is given as a tensor of ``n_fft`` samples."""

REPRESENTATIONS = {
    "complex": "complex frames X",
    "magnitude": "magnitudes |X|, the phase kept by the stage and reapplied",
    "log-magnitude": "log10(max(|X|, 1e-8)), the phase kept by the stage and reapplied",
}
"""What ``do_forward_pass`` receives and returns, by ``get_frame_representation()``."""

LOG_FLOOR = 1e-8
"""Smallest magnitude kept before the log of the ``log-magnitude`` representation."""

BATCHED_SAMPLES = 8192
"""With any frame count, the FIFO may hand the STFT ``hop · 2^j`` samples up to this many: the
frames of a host block of up to 8192 samples (a power-of-two multiple of the hop) go through
one batched FFT."""


class SpectralConfigError(NeutoneError, ValueError):
    """A spectral wrapper declares an STFT that cannot reconstruct (the message names the getter
    and the constraint)."""


@dataclass(frozen=True, repr=False)
class StftConfig:
    """A checked STFT configuration.

    Attributes:
        n_fft: frame length in samples; frames have ``n_fft // 2 + 1`` bins.
        hop_length: samples between frames.
        window_name: ``"hann"``, ``"sqrt-hann"`` or ``"custom"``.
        window: the analysis window, ``n_fft`` values.
        representation: a key of :data:`REPRESENTATIONS`.
        frame_counts: frames per model call the model accepts; empty = any.
    """

    n_fft: int
    hop_length: int
    window_name: str
    window: tuple[float, ...]
    representation: str
    frame_counts: tuple[int, ...]

    @property
    def n_bins(self) -> int:
        """Frequency bins per frame: ``n_fft // 2 + 1``."""
        return self.n_fft // 2 + 1

    def window_tensor(self) -> Tensor:
        """The window as a float32 tensor ``(n_fft,)``."""
        return torch.tensor(self.window, dtype=torch.float32)

    @property
    def frame_span(self) -> int:
        """``S``: samples from the window's first nonzero sample to its last; a frame depends on
        these only (``n_fft - 1`` for the periodic Hann window and its square root)."""
        return nonzero_span(self.window_tensor())[1]

    @property
    def look_behind_samples(self) -> int:
        """Past samples each block needs before its new ones: ``S - hop``."""
        return self.frame_span - self.hop_length

    def outer_block_sizes(self) -> tuple[int, ...]:
        """Block sizes (samples) the STFT asks of the stage outside it: ``f · hop`` for each
        native frame count ``f``, or with any count ``hop · 2^j`` up to :data:`BATCHED_SAMPLES`."""
        if self.frame_counts:
            return tuple(count * self.hop_length for count in self.frame_counts)
        sizes = [self.hop_length]
        while sizes[-1] * 2 <= BATCHED_SAMPLES:
            sizes.append(sizes[-1] * 2)
        return tuple(sizes)

    def __repr__(self) -> str:
        return f"StftConfig({self.describe()})"

    def describe(self) -> str:
        """``"n_fft 2048, hop 512, hann window, complex frames"``."""
        counts = f", {list(self.frame_counts)} frames per call" if self.frame_counts else ""
        return f"n_fft {self.n_fft}, hop {self.hop_length}, {self.window_name} window, {self.representation} frames{counts}"


def _window(n_fft: int, window: str | Tensor) -> tuple[str, Tensor]:
    if isinstance(window, Tensor):
        return "custom", window.detach().to(torch.float32)
    if window == "hann":
        return window, torch.hann_window(n_fft)
    if window == "sqrt-hann":
        return window, torch.hann_window(n_fft).sqrt()
    raise SpectralConfigError(
        f"get_window() returned {window!r}: return one of {', '.join(WINDOWS)} or a tensor of n_fft samples"
    )


def stft_config(
    n_fft: int,
    hop_length: int,
    window: str | Tensor,
    representation: str,
    frame_counts: Sequence[int],
    in_channels: int,
    out_channels: int,
) -> StftConfig:
    """Check what a spectral wrapper declares and return its configuration.

    Raises :class:`SpectralConfigError` naming the getter and the broken constraint: ``n_fft``
    not a positive integer, a window whose length is not ``n_fft``, a hop outside ``1..n_fft``
    or one that breaks the overlap-add condition (NOLA) with the window, an unknown
    representation, a frame count below 1, or a magnitude model from stereo to mono (whose
    phase to reapply is undefined).
    """
    if isinstance(n_fft, bool) or not isinstance(n_fft, int) or n_fft < 1:
        raise SpectralConfigError(f"get_n_fft() returned {n_fft!r}: n_fft must be an integer >= 1 (samples per frame)")
    if isinstance(hop_length, bool) or not isinstance(hop_length, int):
        raise SpectralConfigError(f"get_hop_length() returned {hop_length!r}: the hop must be an integer number of samples")
    name, tensor = _window(n_fft, window)
    try:
        checked = checked_window(n_fft, hop_length, tensor)
    except ValueError as exc:
        getter = "get_window()" if "window of shape" in str(exc) else "get_hop_length()"
        raise SpectralConfigError(f"{getter} with n_fft {n_fft}: {exc}") from exc
    if representation not in REPRESENTATIONS:
        raise SpectralConfigError(
            f"get_frame_representation() returned {representation!r}: return one of {', '.join(REPRESENTATIONS)}"
        )
    counts = [int(count) for count in frame_counts]
    if any(count < 1 for count in counts) or len(set(counts)) != len(counts):
        raise SpectralConfigError(f"get_native_frame_counts() returned {counts}: frame counts must be unique and >= 1")
    if representation != "complex" and in_channels == 2 and out_channels == 1:
        raise SpectralConfigError(
            f"get_frame_representation() {representation!r} with stereo input and mono output: the phase to reapply "
            "is undefined; receive 'complex' frames or return stereo"
        )
    return StftConfig(n_fft, hop_length, name, tuple(checked.tolist()), representation, tuple(sorted(counts)))
