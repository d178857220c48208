"""An audio file as a host would send it, a few seconds at a time: its channels laid out for a
mono or stereo host and converted to the host's rate, so a long file never sits in memory.

Rate conversion uses the installed ``sample_rate`` adapter's whole-signal converter on
overlapping pieces: each piece starts and ends on the rate pair's period (where input and
output samples fall at the same instant) and carries :data:`MARGIN_SECONDS` of its neighbours
on both sides, which the converter's filter reaches into and which are cut from its output.
The pieces join into what the converter gives for the whole file, to float rounding.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from neutone_core.distributions import install_command
from neutone_core.errors import AudioFileError, MissingAdapterError
from neutone_core.tools.audio_io import open_audio, read_block

CHUNK_FRAMES = 1 << 20
"""File frames per piece (about 24 s at 44.1 kHz, 8 MiB of stereo float32; rounded to the rate
pair's period): a whole-signal converter designs its filter on every call (about 0.5 s for the
first-party resampler), so pieces are long."""

MARGIN_SECONDS = 0.05
"""Context on each side of a piece for the converter's filter (the first-party resampler
reaches 10 ms at 192 -> 8 kHz, 1 ms at 44.1 -> 48 kHz)."""


def host_layout(audio: Tensor, mono: bool) -> Tensor:
    """``(file_channels, n)`` as a mono (their mean) or stereo (mono duplicated) host sends it."""
    if audio.size(0) > 2:
        raise AudioFileError(f"{audio.size(0)} channels: hosts send 1 or 2, downmix the file first")
    if mono:
        return audio.mean(0, keepdim=True)
    return audio.repeat(2, 1) if audio.size(0) == 1 else audio


def offline_converter(file_rate: int, host_rate: int) -> Callable[..., Tensor]:
    """The highest-priority installed ``sample_rate`` adapter's whole-signal converter
    ``(audio (channels, n), in_rate, out_rate) -> (channels, ceil(n * out_rate / in_rate))``."""
    from neutone_core.plugins import get_registry

    for spec in get_registry().adapters_for("sample_rate"):
        if spec.offline is not None:
            return spec.offline
    raise MissingAdapterError(
        f"the file is at {file_rate} Hz and the host at {host_rate} Hz; converting it needs a sample_rate adapter: "
        f"{install_command('neutone-adapter-resample', 'resample')} (or render at --sr {file_rate})"
    )


@dataclass(frozen=True)
class HostFile:
    """A file and the host stream it becomes.

    Attributes:
        path: the audio file.
        file_rate: its rate in Hz.
        host_rate: the host's rate in Hz.
        channels: what the host sends, 1 or 2.
        file_frames: samples per channel in the file.
    """

    path: Path
    file_rate: int
    host_rate: int
    channels: int
    file_frames: int

    @property
    def host_frames(self) -> int:
        """Samples per channel the host sends: ``ceil(file_frames * host_rate / file_rate)``."""
        return -(-self.file_frames * self.host_rate // self.file_rate)


def open_host_file(path: Path, host_rate: int | None, mono: bool) -> HostFile:
    """Read ``path``'s header: the host stream at ``host_rate`` Hz (None: the file's rate)."""
    with open_audio(path) as file:
        if file.channels > 2:
            raise AudioFileError(f"{path}: {file.channels} channels: hosts send 1 or 2, downmix the file first")
        file_rate = int(file.samplerate)
        return HostFile(path, file_rate, host_rate or file_rate, 1 if mono else 2, int(file.frames))


def host_chunks(source: HostFile) -> Iterator[Tensor]:
    """The host signal of ``source`` in pieces ``(channels, m)``, in order, about
    :data:`CHUNK_FRAMES` file frames each; a missing converter is an error now, not at the
    first piece."""
    if source.file_rate == source.host_rate:
        return _as_read(source)
    return _converted(source, offline_converter(source.file_rate, source.host_rate))


def _as_read(source: HostFile) -> Iterator[Tensor]:
    with open_audio(source.path) as file:
        while (block := read_block(file, CHUNK_FRAMES)).size(1):
            yield host_layout(block, source.channels == 1)


def _converted(source: HostFile, convert: Callable[..., Tensor]) -> Iterator[Tensor]:
    with open_audio(source.path) as file:
        yield from _converted_pieces(file, source, convert)


def _converted_pieces(file: Any, source: HostFile, convert: Callable[..., Tensor]) -> Iterator[Tensor]:
    mono = source.channels == 1
    file_rate, host_rate, n = source.file_rate, source.host_rate, source.file_frames
    period = file_rate // math.gcd(file_rate, host_rate)
    chunk = max(1, CHUNK_FRAMES // period) * period
    margin = math.ceil(MARGIN_SECONDS * file_rate / period) * period
    held = torch.zeros(source.channels, 0)
    held_start = 0
    start = 0
    while start < n:
        end = min(start + chunk, n)
        wanted = min(end + margin, n)
        while held_start + held.size(1) < wanted:
            block = read_block(file, wanted - held_start - held.size(1))
            if block.size(1) == 0:
                break
            held = torch.cat([held, host_layout(block, mono)], dim=1)
        piece_start = max(0, start - margin)
        converted = convert(held[:, piece_start - held_start : wanted - held_start], file_rate, host_rate)
        skip = (start - piece_start) * host_rate // file_rate
        yield converted[:, skip : skip - (-(end - start) * host_rate // file_rate)]
        keep = max(0, end - margin)
        held, held_start = held[:, keep - held_start :], keep
        start = end
