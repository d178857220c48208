"""The stored sample sounds are what the file produces (rendered again through it)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from neutone_core.audio_io import wav_from_base64
from neutone_core.errors import ExportCheckError
from neutone_core.render import render
from neutone_core.sample_sounds import BLOCK_SIZE, SAMPLE_SOUNDS

if TYPE_CHECKING:
    from neutone_core.export import ExportContext

NAME = "sample_sounds"
DESCRIPTION = "sample sounds rendered into the metadata (skip this check to export without them)"

TOLERANCE = 1.5 / 32767.0
"""One 16-bit step (with rounding slack): the stored sounds are 16-bit WAV."""


def check(context: ExportContext) -> str:
    """Render every stored input through the loaded file and compare with the stored output."""
    pairs = context.metadata["sample_sound_files"]
    if len(pairs) != len(SAMPLE_SOUNDS):
        raise ExportCheckError(f"{len(pairs)} sample sounds stored, expected {len(SAMPLE_SOUNDS)}")
    for name, pair in zip(SAMPLE_SOUNDS, pairs, strict=True):
        audio, sample_rate = wav_from_base64(pair["in"])
        stored, _ = wav_from_base64(pair["out"])
        out = render(context.loaded, audio, sample_rate, BLOCK_SIZE, compensate_delay=True).clamp(-1.0, 1.0)
        difference = float((out - stored).abs().max())
        if difference > TOLERANCE:
            raise ExportCheckError(f"the stored {name!r} output differs from what the file renders by {difference:.3g}")
    size = sum(len(pair["in"]) + len(pair["out"]) for pair in pairs)
    return f"{len(pairs)} sample sounds ({', '.join(SAMPLE_SOUNDS)}) stored as 16-bit WAV, {size // 1024} KiB of base64"
