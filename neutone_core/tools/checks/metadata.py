"""The metadata in the file is valid and the same wherever the host reads it."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from neutone_core.errors import ExportCheckError
from neutone_core.tools.validate.contract import metadata_problems

if TYPE_CHECKING:
    from neutone_core.export import ExportContext

NAME = "metadata_valid"
DESCRIPTION = "metadata.json, get_metadata_json() and to_metadata() agree and keep the Neutone limits"


def check(context: ExportContext) -> str:
    """Validate the archive's metadata and compare it with what the root's getters return, as
    ``neutone validate``'s host contract check does."""
    problems = metadata_problems(context.loaded, context.metadata)
    if problems:
        raise ExportCheckError(problems[0])
    return f"metadata valid ({len(json.dumps(context.metadata)) // 1024} KiB without the sample sounds)"
