"""Metadata given at compose, over what the wrapper declares: a TOML file or ``--option FIELD=VALUE``.

The keys are the ``metadata.json`` field names::

    model_name = "tape echo"                 # at most 30 characters
    model_authors = ["Ada Lovelace"]
    model_version = "1.0.0"
    model_short_description = "..."
    model_long_description = "..."
    technical_description = "..."
    tags = ["echo", "tape"]
    citation = "..."
    is_experimental = false

    [technical_links]
    Paper = "https://arxiv.org/abs/..."

    [knobs.drive]                            # a knob the model declares, by name
    description = "input gain into the network"
    default = 12.0                           # in the knob's own range

The text fields and the lists (comma-separated) can also be given as options, which win
over the file. The result is validated as at every export, and every violation is listed at
once in one :class:`~neutone_core.errors.MetadataError`.
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from neutone_core.errors import MetadataError
from neutone_core.families import FamilyOption, parse_family_options
from neutone_core.metadata import GETTERS, build_metadata
from neutone_core.parameters import NeutoneParameter
from neutone_core.wrapper import WaveformToWaveformBase

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

METADATA_FIELDS = (
    "model_name",
    "model_authors",
    "model_version",
    "model_short_description",
    "model_long_description",
    "technical_description",
    "technical_links",
    "tags",
    "citation",
    "is_experimental",
)
"""The metadata a compose may set, by ``metadata.json`` field name."""

KNOBS = "knobs"
KNOB_FIELDS = ("description", "default")
"""What ``[knobs.NAME]`` may set of a declared knob (the default in the knob's own range)."""

METADATA_OPTIONS: dict[str, FamilyOption] = {
    "model_name": FamilyOption("model name the host shows, at most 30 characters"),
    "model_authors": FamilyOption("up to 5 authors, comma-separated", list),
    "model_version": FamilyOption("model version, e.g. 1.0.0"),
    "model_short_description": FamilyOption("one line, at most 150 characters"),
    "model_long_description": FamilyOption("at most 500 characters"),
    "technical_description": FamilyOption("how the model works, at most 500 characters"),
    "tags": FamilyOption("up to 7 tags of at most 15 characters, comma-separated", list),
    "citation": FamilyOption("how to cite the model, at most 300 characters"),
}
"""The metadata every compose accepts as ``--option FIELD=VALUE``, whatever the family."""


def read_metadata_file(path: str | Path) -> dict[str, Any]:
    """The tables of a metadata TOML file; raises :class:`MetadataError` when it cannot be read."""
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MetadataError([f"{path}: no such file; give a TOML file of metadata fields (see neutone compose --help)"]) from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise MetadataError([f"{path}: not a TOML file ({exc})"]) from exc


def split_metadata_options(options: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """``--option`` pairs split into metadata fields (parsed) and the rest (for the family)."""
    given = {key: value for key, value in options.items() if key in METADATA_OPTIONS}
    rest = {key: value for key, value in options.items() if key not in METADATA_OPTIONS}
    return parse_family_options(METADATA_OPTIONS, given), rest


def _returning(value: Any) -> Any:
    def getter(self: WaveformToWaveformBase) -> Any:
        return copy.deepcopy(value)

    return getter


def _knobs_with(declared: list[NeutoneParameter], knobs: Any, problems: list[str]) -> list[NeutoneParameter]:
    """Copies of the declared knobs with the ``[knobs.NAME]`` settings; problems appended."""
    if not isinstance(knobs, Mapping):
        problems.append(f"{KNOBS}: must be a table of knob name -> {{{', '.join(KNOB_FIELDS)}}}")
        return declared
    by_name = {param.name: copy.copy(param) for param in declared}
    for name, settings in knobs.items():
        param = by_name.get(name)
        if param is None:
            problems.append(f"{KNOBS}.{name}: the model has no knob {name!r} (its knobs: {', '.join(by_name) or 'none'})")
            continue
        if not isinstance(settings, Mapping):
            problems.append(f"{KNOBS}.{name}: must be a table with {' and/or '.join(KNOB_FIELDS)}")
            continue
        unknown = [key for key in settings if key not in KNOB_FIELDS]
        problems.extend(f"{KNOBS}.{name}.{key}: not a knob setting ({', '.join(KNOB_FIELDS)})" for key in unknown)
        param.description = settings.get("description", param.description)
        param.default_value = settings.get("default", param.default_value)
        problems.extend(f"{KNOBS}.{name}: {problem}" for problem in param.problems())
    return list(by_name.values())


def with_metadata(wrapper: WaveformToWaveformBase, metadata: Mapping[str, Any]) -> WaveformToWaveformBase:
    """The wrapper with its metadata getters (and knob descriptions and defaults) answering
    ``metadata`` instead; validated as at export. Raises :class:`MetadataError` listing every
    unknown field and every violation at once."""
    problems = [
        f"{key}: not a metadata field that can be set (fields: {', '.join(METADATA_FIELDS)}, {KNOBS})"
        for key in metadata
        if key not in METADATA_FIELDS and key != KNOBS
    ]
    overrides = {GETTERS[key]: _returning(value) for key, value in metadata.items() if key in METADATA_FIELDS}
    if KNOBS in metadata:
        knob_problems: list[str] = []
        knobs = _knobs_with(wrapper.neutone_parameters(), metadata[KNOBS], knob_problems)
        problems.extend(knob_problems)
        if not knob_problems:
            overrides["get_neutone_parameters"] = _returning(knobs)
    if overrides:
        cls = type(wrapper)
        # a subclass answering the given metadata; its name stays the wrapper's (it names the class in the archive)
        names = {"__module__": cls.__module__, "__qualname__": cls.__qualname__}
        wrapper.__class__ = type(cls.__name__, (cls,), {**names, **overrides})
    try:
        build_metadata(wrapper)
    except MetadataError as exc:
        problems.extend(exc.violations)
    if problems:
        raise MetadataError(problems)
    return wrapper
