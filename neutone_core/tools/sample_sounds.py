"""Sample sounds the export renders through every model and stores in its metadata.

Three short signals are synthesized deterministically at 48 kHz (nothing is downloaded):
a drum loop, a keys phrase and a stereo ambience texture. Each is rendered through the
exported graph as a host at 48 kHz / 512 samples with delay compensation, and stored in
``sample_sound_files`` as ``{"in": ..., "out": ...}``: base64 text of 16-bit PCM WAV files
(see :func:`neutone_core.tools.audio_io.wav_base64`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import torch
from torch import Tensor

from neutone_core.tools.audio_io import wav_base64, wav_from_base64
from neutone_core.tools.render import render

SAMPLE_RATE = 48000
"""Rate (Hz) the sample sounds are synthesized and rendered at."""

BLOCK_SIZE = 512
"""Host buffer size (samples) the sample sounds are rendered with."""

DURATION_SECONDS = 1.0
"""Length of each sample sound."""

PEAK = 0.8
"""Peak level of each synthesized input."""


def _time(n: int) -> Tensor:
    return torch.arange(n, dtype=torch.float64) / SAMPLE_RATE


def _normalise(audio: Tensor) -> Tensor:
    return (audio * (PEAK / audio.abs().max())).to(torch.float32)


def drums() -> Tensor:
    """A 120 BPM loop of kick, snare and closed hats, mono ``(1, n)``."""
    n = int(DURATION_SECONDS * SAMPLE_RATE)
    generator = torch.Generator().manual_seed(1)
    out = torch.zeros(n, dtype=torch.float64)
    eighth = SAMPLE_RATE // 4
    for step in range(n // eighth + 1):
        start = step * eighth
        length = min(n - start, eighth)
        if length <= 0:
            break
        t = _time(length)
        if step % 4 == 0:
            phase = 2 * math.pi * (45.0 * t + (110.0 / 30.0) * (1 - torch.exp(-30.0 * t)))
            out[start : start + length] += torch.sin(phase) * torch.exp(-9.0 * t)
        if step % 4 == 2:
            noise = torch.rand(length, generator=generator, dtype=torch.float64) * 2 - 1
            out[start : start + length] += (0.5 * noise + 0.4 * torch.sin(2 * math.pi * 185.0 * t)) * torch.exp(-22.0 * t)
        noise = torch.rand(length + 1, generator=generator, dtype=torch.float64) * 2 - 1
        out[start : start + length] += 0.25 * (noise[1:] - noise[:-1]) * torch.exp(-90.0 * t)
    return _normalise(out[None])


def keys() -> Tensor:
    """A phrase of electric-piano-like notes (C, E, G, B, A), mono ``(1, n)``."""
    n = int(DURATION_SECONDS * SAMPLE_RATE)
    out = torch.zeros(n, dtype=torch.float64)
    notes = (60, 64, 67, 71, 69)
    step = n // len(notes)
    for i, note in enumerate(notes):
        start = i * step
        t = _time(n - start)
        frequency = 440.0 * 2 ** ((note - 69) / 12)
        tone = sum(torch.sin(2 * math.pi * k * frequency * t) / k**1.5 for k in (1, 2, 3, 4))
        attack = torch.clamp(t / 0.005, max=1.0)
        out[start:] += tone * attack * torch.exp(-3.0 * t)
    return _normalise(out[None])


def ambience() -> Tensor:
    """A slowly breathing stereo texture: filtered noise and a detuned pad, ``(2, n)``."""
    n = int(DURATION_SECONDS * SAMPLE_RATE)
    generator = torch.Generator().manual_seed(2)
    t = _time(n)
    channels = []
    for side, detune in ((0, -0.7), (1, 0.7)):
        noise = torch.rand(n, generator=generator, dtype=torch.float64) * 2 - 1
        kernel = torch.hann_window(64, dtype=torch.float64)
        smooth = torch.nn.functional.conv1d(noise[None, None], (kernel / kernel.sum())[None, None], padding=32)[0, 0, :n]
        pad = sum(torch.sin(2 * math.pi * (f + detune) * t + side) for f in (220.0, 277.2, 329.6))
        swell = 0.6 + 0.4 * torch.sin(2 * math.pi * 0.7 * t + side * math.pi / 2)
        channels.append((4.0 * smooth + 0.15 * pad) * swell)
    return _normalise(torch.stack(channels))


SAMPLE_SOUNDS: dict[str, Callable[[], Tensor]] = {"drums": drums, "keys": keys, "ambience": ambience}
"""The sample signals, by name, in the order they are stored."""


@lru_cache(maxsize=1)
def sample_signals() -> tuple[Tensor, ...]:
    """The synthesized sample sounds at :data:`SAMPLE_RATE`, in :data:`SAMPLE_SOUNDS` order,
    rounded to 16 bits as stored, so the stored input is exactly what the model heard (made
    once per process; treat them as read-only)."""
    return tuple(wav_from_base64(wav_base64(make(), SAMPLE_RATE))[0] for make in SAMPLE_SOUNDS.values())


def builtin_sample_inputs() -> list[tuple[Tensor, int]]:
    """The synthesized sample sounds as ``(audio (channels, n), rate Hz)`` pairs."""
    return [(audio, SAMPLE_RATE) for audio in sample_signals()]


def render_sample_sounds(model: Any, inputs: list[tuple[Tensor, int]]) -> list[dict[str, str]]:
    """Render each input ``(audio, rate)`` through a root module as a host at the input's own
    rate in blocks of :data:`BLOCK_SIZE`, delay compensated: ``[{"in": wav, "out": wav}, ...]``
    (16-bit WAV as base64 text; the input is rounded to 16 bits first, so the stored input is
    exactly what the model heard)."""
    pairs = []
    for audio, sample_rate in inputs:
        heard = wav_from_base64(wav_base64(audio.to(torch.float32), sample_rate))[0]
        out = render(model, heard, sample_rate, BLOCK_SIZE, compensate_delay=True)
        pairs.append({"in": wav_base64(heard, sample_rate), "out": wav_base64(out, sample_rate)})
    return pairs
