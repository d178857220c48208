"""Audio files for the host tools: WAV / FLAC / MP3 through soundfile, and 16-bit WAV text.

``read_audio`` / ``write_audio`` need the optional ``neutone[tools]`` extra (soundfile).
``wav_base64`` / ``wav_from_base64`` use only the standard library: the sample sounds stored
in a model's metadata are base64 text of 16-bit PCM WAV files.
"""

from __future__ import annotations

import array
import base64
import importlib
import io
import sys
import wave
from pathlib import Path
from types import ModuleType
from typing import Any

import torch
from torch import Tensor

from neutone_core.errors import AudioFileError, MissingToolError

AUDIO_SUFFIXES = (".wav", ".flac", ".mp3", ".ogg", ".aif", ".aiff")
"""File suffixes a folder render picks up (MP3 where libsndfile supports it)."""

_WRITE_SUBTYPES = {".wav": "FLOAT", ".flac": "PCM_24", ".aif": "FLOAT", ".aiff": "FLOAT"}


def require_tool(module_name: str, what: str) -> ModuleType:
    """Import an optional dependency of the host tools or raise :class:`MissingToolError`."""
    try:
        return importlib.import_module(module_name)
    except ImportError as exc:
        raise MissingToolError(f"{what} needs {module_name}: pip install 'neutone[tools]'") from exc


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def open_audio(path: str | Path) -> Any:
    """An audio file open for reading block by block (a ``soundfile.SoundFile``: ``.frames``,
    ``.samplerate``, ``.channels``, ``.read(n)``); a context manager."""
    soundfile = require_tool("soundfile", "reading audio files")
    try:
        file = soundfile.SoundFile(str(path))
    except Exception as exc:
        raise AudioFileError(f"{path}: cannot read audio ({_first_line(exc)}); use a WAV, FLAC or MP3 file") from exc
    if file.frames == 0:
        file.close()
        raise AudioFileError(f"{path}: the file holds no samples")
    return file


def read_block(file: Any, n_frames: int) -> Tensor:
    """The next ``n_frames`` (fewer at the end) of a file from :func:`open_audio`: float32
    ``(channels, n)`` in -1..1."""
    return torch.from_numpy(file.read(n_frames, dtype="float32", always_2d=True).T.copy())


class AudioWriter:
    """Writes ``(channels, n)`` blocks at ``sample_rate`` Hz to ``path``, the suffix picking the
    format: WAV and AIFF 32-bit float (nothing clips), FLAC 24-bit (clipped to -1..1), MP3 the
    encoder's default. A context manager."""

    def __init__(self, path: str | Path, sample_rate: int, channels: int) -> None:
        soundfile = require_tool("soundfile", "writing audio files")
        self.path = Path(path)
        subtype = _WRITE_SUBTYPES.get(self.path.suffix.lower())
        self.clip = subtype == "PCM_24"
        try:
            self.file = soundfile.SoundFile(str(self.path), "w", sample_rate, channels, subtype)
        except Exception as exc:
            raise AudioFileError(
                f"{self.path}: cannot write audio ({_first_line(exc)}); use a .wav, .flac or .mp3 name"
            ) from exc

    def write(self, audio: Tensor) -> None:
        """Append ``audio`` ``(channels, n)``."""
        data = audio.detach().to(torch.float32).T.contiguous().numpy()
        self.file.write(data.clip(-1.0, 1.0) if self.clip else data)

    def __enter__(self) -> AudioWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.file.close()


def read_audio(path: str | Path) -> tuple[Tensor, int]:
    """Read a whole audio file: float32 samples ``(channels, n)`` in -1..1 and the rate in Hz."""
    with open_audio(path) as file:
        return read_block(file, file.frames), int(file.samplerate)


def write_audio(path: str | Path, audio: Tensor, sample_rate: int) -> None:
    """Write ``(channels, n)`` samples at ``sample_rate`` Hz (formats as :class:`AudioWriter`)."""
    with AudioWriter(path, sample_rate, audio.size(0)) as writer:
        writer.write(audio)


def wav_base64(audio: Tensor, sample_rate: int) -> str:
    """``(channels, n)`` in -1..1 as base64 text of a 16-bit PCM WAV file (clipped, rounded)."""
    pcm = array.array("h", (audio.clamp(-1.0, 1.0) * 32767.0).round().to(torch.int16).T.flatten().tolist())
    if sys.byteorder == "big":
        pcm.byteswap()
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(audio.size(0))
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)
        wav.writeframes(pcm.tobytes())
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def wav_from_base64(text: str) -> tuple[Tensor, int]:
    """Decode :func:`wav_base64` text: float32 ``(channels, n)`` and the rate in Hz."""
    with wave.open(io.BytesIO(base64.b64decode(text, validate=True)), "rb") as wav:
        if wav.getsampwidth() != 2:
            raise ValueError(f"{8 * wav.getsampwidth()}-bit WAV: sample sounds are 16-bit")
        n_channels = wav.getnchannels()
        frames = wav.readframes(wav.getnframes())
        sample_rate = wav.getframerate()
    pcm = array.array("h")
    pcm.frombytes(frames)
    if sys.byteorder == "big":
        pcm.byteswap()
    samples = torch.frombuffer(bytearray(pcm.tobytes()), dtype=torch.int16).to(torch.float32)
    samples = samples.reshape(-1, n_channels).T.contiguous()
    return samples / 32767.0, sample_rate
