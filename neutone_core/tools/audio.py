"""The Neutone SDK's audio sample helpers: your own sample sounds for ``save_neutone_model``.

``AudioSample(audio, sr)`` holds ``(channels, n)`` samples at ``sr`` Hz; ``AudioSamplePair``
an input and what the model made of it; :func:`render_audio_sample` renders a sample through
a wrapper or an exported model as a host does. ``save_neutone_model(...,
audio_sample_pairs=pairs)`` renders each pair's input through the exported file and stores
that, so the stored output is exactly what the file produces.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from neutone_core.export import compose
from neutone_core.tools.audio_io import read_audio
from neutone_core.tools.render import host_signal, render
from neutone_core.wrapper import WaveformToWaveformBase

DEFAULT_BLOCK_SIZE = 512
"""Host block (samples) a model without native sizes is rendered with."""


@dataclass
class AudioSample:
    """Audio ``(channels, n)`` (1 or 2 channels, float) at ``sr`` Hz."""

    audio: Tensor
    sr: int

    def __post_init__(self) -> None:
        if self.audio.dim() != 2 or self.audio.size(0) not in (1, 2):
            raise ValueError(f"AudioSample audio of shape {tuple(self.audio.shape)}: expected (1 or 2 channels, samples)")
        if self.sr < 1:
            raise ValueError(f"AudioSample rate {self.sr} Hz: must be >= 1")

    def is_mono(self) -> bool:
        """Whether the sample has one channel."""
        return self.audio.size(0) == 1

    @classmethod
    def from_file(cls, path: str | Path) -> AudioSample:
        """Read a WAV / FLAC / MP3 file (needs ``neutone[tools]``)."""
        audio, sample_rate = read_audio(path)
        return cls(audio, sample_rate)


@dataclass
class AudioSamplePair:
    """An input sample and the model's output for it (a one-item list, as the SDK's
    ``render_audio_sample`` returns, is accepted too)."""

    input: AudioSample
    output: AudioSample

    def __post_init__(self) -> None:
        if isinstance(self.output, list):
            if len(self.output) != 1:
                raise ValueError(f"AudioSamplePair output: a list of {len(self.output)} samples, expected one AudioSample")
            self.output = self.output[0]


def render_audio_sample(
    model: Any, input_sample: AudioSample, params: Tensor | None = None, output_sr: int = 44100
) -> list[AudioSample]:
    """Render ``input_sample`` through ``model`` (a wrapper, or an exported root module) as a
    host at the sample's own rate, in the model's first native block size (or 512), delay
    compensated; returns ``[AudioSample]`` at ``output_sr`` Hz, as the Neutone SDK does.

    Args:
        model: a :class:`WaveformToWaveformBase` wrapper (composed for the render) or a root module.
        input_sample: the input; a mono model hears the channels' average.
        params: knobs ``(4,)`` held constant or ``(4, n)`` per sample (0..1), None for the defaults.
        output_sr: rate (Hz) of the returned sample.
    """
    root = compose(model).scripted if isinstance(model, WaveformToWaveformBase) else model
    sizes = list(root.get_native_buffer_sizes())
    block_size = sizes[0] if sizes else DEFAULT_BLOCK_SIZE
    audio = input_sample.audio.to(torch.float32)
    n = audio.size(1)
    knobs = None
    if params is not None:
        knobs = params.reshape(4, 1).expand(4, n).contiguous() if params.dim() == 1 else params.to(torch.float32)
        if tuple(knobs.shape) != (4, n):
            raise ValueError(f"params of shape {tuple(params.shape)}: expected (4,) or (4, {n})")
    out = render(root, audio, input_sample.sr, block_size, knobs, compensate_delay=True)
    if output_sr != input_sample.sr:
        out = host_signal(out, input_sample.sr, output_sr, mono=out.size(0) == 1)
    return [AudioSample(out, output_sr)]
