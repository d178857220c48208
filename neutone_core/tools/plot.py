"""A picture of a render: input and output waveforms and spectrograms, side by side.

Needs matplotlib (``pip install 'neutone[tools]'``); draws off-screen (Agg), no pyplot state.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor

from neutone_core.tools.audio_io import require_tool

FIGURE_SIZE_INCHES = (12.0, 6.0)
DPI = 100
"""The PNG is ``1200 x 600`` pixels."""

FFT_SIZE = 1024
HOP_SIZE = 256
FLOOR_DB = -100.0


def spectrogram_db(audio: Tensor) -> Tensor:
    """Magnitude in dB (full scale 0 dB) of the channel mean, ``(channels, n) -> (bins, frames)``."""
    mono = audio.mean(0)
    if mono.numel() < FFT_SIZE:
        mono = torch.nn.functional.pad(mono, (0, FFT_SIZE - mono.numel()))
    window = torch.hann_window(FFT_SIZE)
    spectrum = torch.stft(mono, FFT_SIZE, HOP_SIZE, window=window, return_complex=True).abs()
    return (20.0 * torch.log10(spectrum / (window.sum() / 2) + 1e-10)).clamp(min=FLOOR_DB)


def plot_render(path: str | Path, audio_in: Tensor, audio_out: Tensor, sample_rate: int, title: str = "") -> None:
    """Write a PNG of ``audio_in`` and ``audio_out`` (each ``(channels, n)`` at ``sample_rate`` Hz):
    waveforms on top, spectrograms (dB) below."""
    require_tool("matplotlib", "--plot")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=FIGURE_SIZE_INCHES, dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(2, 2, sharex="col")
    for column, (label, audio) in enumerate((("input", audio_in), ("output", audio_out))):
        seconds = torch.arange(audio.size(1)) / sample_rate
        wave_axes, spec_axes = axes[0][column], axes[1][column]
        for channel in range(audio.size(0)):
            wave_axes.plot(seconds.numpy(), audio[channel].numpy(), linewidth=0.5, label=f"ch {channel + 1}")
        wave_axes.set_title(f"{label} ({audio.size(0)} ch)")
        wave_axes.set_ylim(-1.05, 1.05)
        wave_axes.set_ylabel("amplitude")
        spec = spectrogram_db(audio)
        extent = (0.0, audio.size(1) / sample_rate, 0.0, sample_rate / 2000.0)
        image = spec_axes.imshow(
            spec.numpy(), origin="lower", aspect="auto", extent=extent, vmin=FLOOR_DB, vmax=0.0, cmap="magma"
        )
        spec_axes.set_xlabel("time (s)")
        spec_axes.set_ylabel("frequency (kHz)")
    figure.colorbar(image, ax=list(axes[1]), label="dB")
    figure.suptitle(title)
    figure.savefig(str(path), format="png", dpi=DPI)
