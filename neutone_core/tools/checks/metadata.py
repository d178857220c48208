"""The metadata in the file is valid and the same wherever the host reads it."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from neutone_core.errors import ExportCheckError
from neutone_core.metadata import validate_metadata

if TYPE_CHECKING:
    from neutone_core.export import ExportContext

NAME = "metadata_valid"
DESCRIPTION = "metadata.json, get_metadata_json() and to_metadata() agree and keep the Neutone limits"


def _as_json(value: Any) -> Any:
    return json.loads(json.dumps(value, sort_keys=True))


def check(context: ExportContext) -> str:
    """Validate the archive's metadata and compare it with what the root's getters return
    (``to_metadata()`` with its own value types, ``get_metadata_json()`` as text)."""
    metadata = context.metadata
    problems = validate_metadata(metadata)
    if problems:
        raise ExportCheckError("the stored metadata breaks the Neutone limits: " + "; ".join(problems))
    expected = _as_json({key: value for key, value in metadata.items() if key != "sample_sound_files"})
    if json.loads(context.loaded.get_metadata_json()) != expected:
        raise ExportCheckError("get_metadata_json() differs from the archive's metadata.json; export again")
    fields = _as_json(dict(context.loaded.to_metadata()))
    if fields != expected:
        differing = sorted(k for k in set(fields) | set(expected) if fields.get(k) != expected.get(k))
        raise ExportCheckError(f"to_metadata() differs from metadata.json in {differing}; export again")
    typed = context.loaded.w2w_base.to_metadata()
    if not isinstance(typed["is_experimental"], bool) or not isinstance(typed["native_sample_rates"], list):
        raise ExportCheckError("to_metadata() must return each field with its own type (bools, lists), as the SDK's root")
    return f"metadata valid ({len(json.dumps(metadata)) // 1024} KiB without the sample sounds)"
