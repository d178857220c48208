"""The metadata in the file is valid and the same wherever the host reads it."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from neutone_core.audio_io import wav_from_base64
from neutone_core.errors import ExportCheckError
from neutone_core.metadata import validate_metadata

if TYPE_CHECKING:
    from neutone_core.export import ExportContext

NAME = "metadata_valid"
DESCRIPTION = "metadata.json, get_metadata_json() and to_metadata() (all but the sounds) agree and keep the Neutone limits"


def check(context: ExportContext) -> str:
    """Validate the archive's metadata, compare it with the root's getters, decode the sounds."""
    metadata = context.metadata
    problems = validate_metadata(metadata)
    if problems:
        raise ExportCheckError("the stored metadata breaks the Neutone limits: " + "; ".join(problems))
    if json.loads(context.loaded.get_metadata_json()) != metadata:
        raise ExportCheckError("get_metadata_json() differs from the archive's metadata.json; export again")
    fields = {key: json.loads(value) for key, value in context.loaded.to_metadata().items()}
    expected = {key: value for key, value in metadata.items() if key != "sample_sound_files"}
    if fields != expected:
        differing = sorted(k for k in set(fields) | set(expected) if fields.get(k) != expected.get(k))
        raise ExportCheckError(f"to_metadata() differs from metadata.json in {differing}; export again")
    for i, pair in enumerate(metadata["sample_sound_files"]):
        for side in ("in", "out"):
            try:
                wav_from_base64(pair[side])
            except Exception as exc:
                raise ExportCheckError(f"sample_sound_files[{i}][{side!r}] is not base64 16-bit WAV: {exc}") from exc
    return f"metadata valid ({len(json.dumps(metadata)) // 1024} KiB, {len(metadata['sample_sound_files'])} sample sounds)"
