"""Sample sounds: rendered through the exported file and stored in its metadata."""

from __future__ import annotations

from typing import TYPE_CHECKING

from neutone_core.errors import ExportCheckError
from neutone_core.tools.audio_io import wav_from_base64
from neutone_core.tools.sample_sounds import SAMPLE_SOUNDS, builtin_sample_inputs, render_sample_sounds

if TYPE_CHECKING:
    from neutone_core.export import ExportContext

NAME = "sample_sounds"
DESCRIPTION = "sample sounds rendered through the file and stored in its metadata (skip this check to export without them)"


def check(context: ExportContext) -> str:
    """Render the user's sounds (or the built-in drums, keys and ambience) through the file
    as a host does, delay compensated, and store them as 16-bit WAV in/out pairs."""
    builtin = context.sample_inputs is None
    inputs = (builtin_sample_inputs() if builtin else context.sample_inputs)[: context.max_sample_sounds]
    pairs = render_sample_sounds(context.loaded, inputs)
    for i, pair in enumerate(pairs):
        for side in ("in", "out"):
            audio, _ = wav_from_base64(pair[side])
            if not bool(audio.isfinite().all()):
                raise ExportCheckError(f"sample sound {i} ({side}) holds non-finite samples")
    context.store("sample_sound_files", pairs)
    names = ", ".join(list(SAMPLE_SOUNDS)[: len(pairs)]) if builtin else "your own"
    size = sum(len(pair["in"]) + len(pair["out"]) for pair in pairs)
    return f"{len(pairs)} sample sounds ({names}) stored as 16-bit WAV, {size // 1024} KiB of base64"
