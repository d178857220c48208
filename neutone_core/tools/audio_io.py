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


def read_audio(path: str | Path) -> tuple[Tensor, int]:
    """Read an audio file: float32 samples ``(channels, n)`` in -1..1 and the rate in Hz."""
    soundfile = require_tool("soundfile", "reading audio files")
    try:
        data, sample_rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    except Exception as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise AudioFileError(f"{path}: cannot read audio ({reason}); use a WAV, FLAC or MP3 file") from exc
    if data.shape[0] == 0:
        raise AudioFileError(f"{path}: the file holds no samples")
    return torch.from_numpy(data.T.copy()), int(sample_rate)


def write_audio(path: str | Path, audio: Tensor, sample_rate: int) -> None:
    """Write ``(channels, n)`` samples at ``sample_rate`` Hz; the suffix picks the format.

    WAV and AIFF are 32-bit float (nothing clips), FLAC 24-bit, MP3 the encoder's default.
    """
    soundfile = require_tool("soundfile", "writing audio files")
    path = Path(path)
    subtype = _WRITE_SUBTYPES.get(path.suffix.lower())
    data = audio.detach().to(torch.float32).T.contiguous().numpy()
    if subtype == "PCM_24":
        data = data.clip(-1.0, 1.0)
    try:
        soundfile.write(str(path), data, sample_rate, subtype=subtype)
    except Exception as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise AudioFileError(f"{path}: cannot write audio ({reason}); use a .wav, .flac or .mp3 name") from exc


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
