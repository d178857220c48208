"""A picture of a render, drawn for music: input and output side by side, each with its waveform
envelope (a legend per channel), the knobs as the host sent them under it, and a spectrogram
on a logarithmic frequency axis; the title names the model, the file, the host setting and
the knob values.

The picture is summed up piece by piece while the file renders (a min/max envelope per pixel
column, spectrogram power averaged per column), so its memory does not grow with the file.
Needs matplotlib (``pip install 'neutone[tools]'``); draws off-screen (Agg), no pyplot state.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
from torch import Tensor

from neutone_core.tools.audio_io import require_tool

FIGURE_SIZE_INCHES = (12.0, 6.0)
DPI = 100
"""The PNG is ``1200 x 600`` pixels."""

ENVELOPE_COLUMNS = 1200
"""Most min/max pairs per channel in a waveform (about one per pixel column)."""

FFT_SIZE = 2048
HOP_SIZE = 512
SPECTROGRAM_COLUMNS = 600
"""Most time columns of a spectrogram (frames are averaged into them)."""

FREQUENCY_BANDS = 160
"""Log-spaced frequency bands from :data:`LOWEST_HZ` to Nyquist."""

LOWEST_HZ = 20.0
FLOOR_DB = -100.0
FREQUENCY_TICKS_HZ = (50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000)
CHANNEL_NAMES = {1: ("mono",), 2: ("left", "right")}


def _columns(first: int, count: int, total: int, n_columns: int) -> Tensor:
    """Column of each of ``count`` items from item ``first`` when ``total`` items share ``n_columns``."""
    return (torch.arange(first, first + count) * n_columns // max(total, 1)).clamp(max=n_columns - 1)


class Envelope:
    """Min and max per column of ``n_samples`` samples of ``channels`` signals, fed in order."""

    def __init__(self, n_samples: int, channels: int) -> None:
        self.n_samples = n_samples
        self.n_columns = max(1, min(ENVELOPE_COLUMNS, n_samples))
        self.low = torch.full((channels, self.n_columns), math.inf)
        self.high = torch.full((channels, self.n_columns), -math.inf)
        self.position = 0

    def add(self, audio: Tensor) -> None:
        """Take the next samples ``(channels, m)``."""
        if audio.size(1) == 0:
            return
        index = _columns(self.position, audio.size(1), self.n_samples, self.n_columns).expand(audio.size(0), -1)
        self.low.scatter_reduce_(1, index, audio, "amin")
        self.high.scatter_reduce_(1, index, audio, "amax")
        self.position += audio.size(1)


class Spectrogram:
    """Power per frequency bin, frames (``FFT_SIZE``, hop ``HOP_SIZE``, Hann) of the channel
    mean averaged per time column, fed in order."""

    def __init__(self, n_samples: int) -> None:
        self.n_frames = 1 + max(0, n_samples - FFT_SIZE) // HOP_SIZE
        self.n_columns = max(1, min(SPECTROGRAM_COLUMNS, self.n_frames))
        self.power = torch.zeros(FFT_SIZE // 2 + 1, self.n_columns, dtype=torch.float64)
        self.frames_per_column = torch.zeros(self.n_columns, dtype=torch.float64)
        self.window = torch.hann_window(FFT_SIZE)
        self.pending = torch.zeros(0)
        self.frames_done = 0

    def _frames(self, signal: Tensor, n_frames: int) -> None:
        spectrum = torch.stft(
            signal[: (n_frames - 1) * HOP_SIZE + FFT_SIZE], FFT_SIZE, HOP_SIZE, window=self.window, center=False,
            return_complex=True,
        )
        columns = _columns(self.frames_done, n_frames, self.n_frames, self.n_columns)
        self.power.index_add_(1, columns, spectrum.abs().square().to(torch.float64))
        self.frames_per_column.index_add_(0, columns, torch.ones(n_frames, dtype=torch.float64))
        self.frames_done += n_frames

    def add(self, audio: Tensor) -> None:
        """Take the next samples ``(channels, m)``."""
        if audio.size(1) == 0:
            return
        self.pending = torch.cat([self.pending, audio.mean(0)])
        n_frames = 1 + (self.pending.numel() - FFT_SIZE) // HOP_SIZE if self.pending.numel() >= FFT_SIZE else 0
        if n_frames:
            self._frames(self.pending, n_frames)
            self.pending = self.pending[n_frames * HOP_SIZE :]

    def bands_db(self, sample_rate: int) -> tuple[Tensor, Tensor]:
        """Band edges in Hz ``(bands + 1,)`` and level in dB (a full-scale sine at 0 dB)
        ``(bands, columns)``; a signal shorter than one frame is zero-padded to one."""
        if self.frames_done == 0:
            self._frames(torch.nn.functional.pad(self.pending, (0, FFT_SIZE - self.pending.numel())), 1)
        mean_power = self.power / self.frames_per_column.clamp(min=1.0)
        nyquist = sample_rate / 2.0
        lowest = min(max(LOWEST_HZ, sample_rate / FFT_SIZE), nyquist / 2.0)
        edges = torch.logspace(math.log10(lowest), math.log10(nyquist), FREQUENCY_BANDS + 1, dtype=torch.float64)
        bin_hz = torch.arange(FFT_SIZE // 2 + 1, dtype=torch.float64) * sample_rate / FFT_SIZE
        weights = torch.zeros(FREQUENCY_BANDS, bin_hz.numel(), dtype=torch.float64)
        for band in range(FREQUENCY_BANDS):
            inside = (bin_hz >= edges[band]) & (bin_hz < edges[band + 1])
            if inside.any():
                weights[band, inside] = 1.0 / float(inside.sum())
            else:  # a band narrower than a bin: interpolate at its centre
                position = float(torch.sqrt(edges[band] * edges[band + 1])) * FFT_SIZE / sample_rate
                below = min(int(position), bin_hz.numel() - 2)
                weights[band, below] = below + 1 - position
                weights[band, below + 1] = position - below
        full_scale = float(self.window.sum()) ** 2 / 4.0
        level = 10.0 * torch.log10(weights @ mean_power / full_scale + 1e-12)
        return edges, level.clamp(min=FLOOR_DB).to(torch.float32)


class SignalSummary:
    """What the picture shows of one signal: its envelope and its spectrogram."""

    def __init__(self, n_samples: int, channels: int) -> None:
        self.channels = channels
        self.envelope = Envelope(n_samples, channels)
        self.spectrogram = Spectrogram(n_samples)

    def add(self, audio: Tensor) -> None:
        """Take the next samples ``(channels, m)``."""
        self.envelope.add(audio)
        self.spectrogram.add(audio)


class RenderPicture:
    """Sums up a render as it runs and draws it as a PNG.

    Args:
        n_samples: host samples of the render (input and output alike).
        sample_rate: host rate in Hz.
        title: the figure's title (model, file, host setting, knob values).
        knob_names: the declared knobs by row of the ``(4, n)`` knob tensor.
    """

    def __init__(self, n_samples: int, sample_rate: int, title: str, knob_names: dict[int, str]) -> None:
        self.n_samples = n_samples
        self.sample_rate = sample_rate
        self.title = title
        self.knob_names = knob_names
        self.signals: dict[str, SignalSummary] = {}
        self.knob_sum = torch.zeros(4, max(1, min(ENVELOPE_COLUMNS, n_samples)), dtype=torch.float64)
        self.knob_count = torch.zeros(self.knob_sum.size(1), dtype=torch.float64)
        self.knob_position = 0

    def _signal(self, label: str, audio: Tensor) -> SignalSummary:
        if label not in self.signals:
            self.signals[label] = SignalSummary(self.n_samples, audio.size(0))
        return self.signals[label]

    def add(self, audio_in: Tensor, audio_out: Tensor, knobs: Tensor) -> None:
        """Take the next input samples ``(channels, m)`` with their knobs ``(4, m)`` (0..1) and
        the next output samples ``(channels, k)``; either may be empty."""
        if audio_in.numel():
            self._signal("input", audio_in).add(audio_in)
            columns = _columns(self.knob_position, knobs.size(1), self.n_samples, self.knob_sum.size(1))
            self.knob_sum.index_add_(1, columns, knobs.to(torch.float64))
            self.knob_count.index_add_(0, columns, torch.ones(knobs.size(1), dtype=torch.float64))
            self.knob_position += knobs.size(1)
        if audio_out.numel():
            self._signal("output", audio_out).add(audio_out)

    def save(self, path: str | Path) -> None:
        """Draw the picture into the PNG ``path``."""
        require_tool("matplotlib", "--plot")
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        figure = Figure(figsize=FIGURE_SIZE_INCHES, dpi=DPI, layout="constrained")
        FigureCanvasAgg(figure)
        ratios = [3, 1, 4] if self.knob_names else [3, 4]
        grid = figure.add_gridspec(len(ratios), 2, height_ratios=ratios)
        image = None
        spectrogram_axes = []
        for column, label in enumerate(("input", "output")):
            wave_axes = figure.add_subplot(grid[0, column])
            spec_axes = figure.add_subplot(grid[-1, column], sharex=wave_axes)
            spectrogram_axes.append(spec_axes)
            summary = self.signals.get(label)
            if summary is not None:
                self._draw_waveform(wave_axes, summary, label)
                image = self._draw_spectrogram(spec_axes, summary)
            if self.knob_names:
                self._draw_knobs(figure.add_subplot(grid[1, column], sharex=wave_axes))
            spec_axes.set_xlabel("time (s)")
        if image is not None:
            figure.colorbar(image, ax=spectrogram_axes, label="dB", pad=0.01)
        figure.suptitle(self.title, fontsize=10)
        figure.savefig(str(path), format="png", dpi=DPI)

    def _times(self, n_columns: int) -> Tensor:
        """Centre of each of ``n_columns`` equal spans of the render, in seconds."""
        return (torch.arange(n_columns) + 0.5) * (self.n_samples / self.sample_rate) / n_columns

    def _draw_waveform(self, axes: object, summary: SignalSummary, label: str) -> None:
        envelope = summary.envelope
        filled = envelope.high[0] >= envelope.low[0]
        seconds = self._times(envelope.n_columns)[filled].numpy()
        for channel, name in enumerate(CHANNEL_NAMES[summary.channels]):
            low, high = envelope.low[channel][filled].numpy(), envelope.high[channel][filled].numpy()
            axes.fill_between(seconds, low, high, linewidth=0.3, alpha=0.6, label=name)
        axes.set_title(f"{label} ({summary.channels} ch)", fontsize=9)
        axes.set_ylim(-1.05, 1.05)
        axes.set_xlim(0.0, self.n_samples / self.sample_rate)
        axes.set_ylabel("amplitude")
        axes.legend(loc="upper right", fontsize=7, ncols=summary.channels)

    def _draw_knobs(self, axes: object) -> None:
        means = self.knob_sum / self.knob_count.clamp(min=1.0)
        sent = self.knob_count > 0
        seconds = self._times(means.size(1))[sent].numpy()
        for index, name in sorted(self.knob_names.items()):
            axes.plot(seconds, means[index][sent].numpy(), linewidth=1.0, label=name)
        axes.set_ylim(-0.05, 1.05)
        axes.set_ylabel("knobs")
        axes.legend(loc="best", fontsize=7, ncols=len(self.knob_names))

    def _draw_spectrogram(self, axes: object, summary: SignalSummary) -> object:
        from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

        edges, level = summary.spectrogram.bands_db(self.sample_rate)
        duration = self.n_samples / self.sample_rate
        time_edges = torch.linspace(0.0, duration, level.size(1) + 1)
        image = axes.pcolormesh(
            time_edges.numpy(), edges.numpy(), level.numpy(), vmin=FLOOR_DB, vmax=0.0, cmap="magma", shading="flat",
            rasterized=True,
        )
        axes.set_yscale("log")
        axes.set_ylim(float(edges[0]), float(edges[-1]))
        axes.yaxis.set_major_locator(FixedLocator([f for f in FREQUENCY_TICKS_HZ if edges[0] <= f <= edges[-1]]))
        axes.yaxis.set_major_formatter(FuncFormatter(lambda hz, _: f"{hz / 1000:g}k" if hz >= 1000 else f"{hz:g}"))
        axes.yaxis.set_minor_locator(NullLocator())
        axes.set_ylabel("frequency (Hz)")
        return image
