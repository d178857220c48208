"""Model metadata: read from a wrapper in the Neutone SDK 1.5.2 layout, checked against its limits.

The layout is what an SDK-exported ``metadata.json`` holds (``date_created`` in seconds since
the epoch, ``neutone_parameters`` ``p1``..``p4`` as each parameter class writes itself), plus
``neutone_version``. ``sdk_version`` names the SDK release whose host contract the file
implements, so hosts that read it treat the file like one that release exported.
"""

from __future__ import annotations

import json
import math
import time
from importlib import metadata as importlib_metadata
from typing import Any

import torch

from neutone_core.errors import MetadataError
from neutone_core.parameters import MAX_N_PARAMS, unused_slot_metadata

SDK_CONTRACT_VERSION = "1.5.2"
"""The Neutone SDK release whose host contract and metadata layout exported files follow."""

MAX_NATIVE_SAMPLE_RATE = 96000
"""Highest native sample rate (Hz) a model may declare."""

MAX_SAMPLE_SOUNDS = 3
"""Most in/out sample sound pairs stored in the metadata."""

_TEXT_LIMITS = {
    "model_name": 30,
    "model_short_description": 150,
    "model_long_description": 500,
    "technical_description": 500,
    "citation": 300,
}

GETTERS = {
    "model_name": "get_model_name",
    "model_authors": "get_model_authors",
    "model_version": "get_model_version",
    "model_short_description": "get_model_short_description",
    "model_long_description": "get_model_long_description",
    "technical_description": "get_technical_description",
    "technical_links": "get_technical_links",
    "tags": "get_tags",
    "citation": "get_citation",
    "is_experimental": "is_experimental",
    "wet_default_value": "get_wet_default_value",
    "dry_default_value": "get_dry_default_value",
    "input_gain_default_value": "get_input_gain_default_value",
    "output_gain_default_value": "get_output_gain_default_value",
    "is_input_mono": "is_input_mono",
    "is_output_mono": "is_output_mono",
    "native_sample_rates": "get_native_sample_rates",
    "native_buffer_sizes": "get_native_buffer_sizes",
    "look_behind_samples": "get_look_behind_samples",
}
"""Metadata field -> the wrapper getter it comes from."""


def neutone_version() -> str:
    """Version of the installed ``neutone`` distribution."""
    try:
        return importlib_metadata.version("neutone")
    except importlib_metadata.PackageNotFoundError:
        return "0+unknown"


def model_type(input_mono: bool, output_mono: bool) -> str:
    """``"mono-mono"``, ``"mono-stereo"``, ``"stereo-mono"`` or ``"stereo-stereo"``."""
    return f"{'mono' if input_mono else 'stereo'}-{'mono' if output_mono else 'stereo'}"


def _call(wrapper: Any, getter: str, problems: list[str]) -> Any:
    try:
        return getattr(wrapper, getter)()
    except Exception as exc:  # a getter's own failure is a metadata problem to report
        problems.append(f"{getter}(): raised {type(exc).__name__}: {exc}")
        return None


def parameters_metadata(wrapper: Any) -> dict[str, dict[str, Any]]:
    """``neutone_parameters``: slots ``p1``..``p4``, each declared knob as its class writes it."""
    declared = wrapper.neutone_parameters()
    return {f"p{i + 1}": declared[i].to_metadata() if i < len(declared) else unused_slot_metadata() for i in range(MAX_N_PARAMS)}


def build_metadata(wrapper: Any) -> dict[str, Any]:
    """Collect a wrapper's metadata in the SDK layout and validate it; the wrapper's protocol
    mistakes (an unimplemented ``do_forward_pass``, a misspelled method) count too.

    Raises :class:`MetadataError` listing every violation, by field.
    """
    problems: list[str] = list(wrapper.neutone_protocol_problems())
    meta: dict[str, Any] = {field: _call(wrapper, getter, problems) for field, getter in GETTERS.items()}
    meta["neutone_parameters"] = parameters_metadata(wrapper)
    meta["model_type"] = model_type(bool(meta["is_input_mono"]), bool(meta["is_output_mono"]))
    meta["sample_sound_files"] = []
    meta["sdk_version"] = SDK_CONTRACT_VERSION
    meta["neutone_version"] = neutone_version()
    meta["pytorch_version"] = torch.__version__
    meta["date_created"] = time.time()
    problems.extend(validate_metadata(meta))
    if problems:
        raise MetadataError(problems)
    return meta


def _check_text(meta: dict[str, Any], field: str, limit: int, problems: list[str]) -> None:
    value = meta.get(field)
    if not isinstance(value, str):
        problems.append(f"{field}: must be a string, got {type(value).__name__}")
    elif len(value) > limit:
        problems.append(f"{field}: {len(value)} characters, at most {limit} allowed")


def _check_unique_strings(meta: dict[str, Any], field: str, max_items: int, max_chars: int | None, problems: list[str]) -> None:
    value = meta.get(field)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problems.append(f"{field}: must be a list of strings")
        return
    if len(value) > max_items:
        problems.append(f"{field}: {len(value)} items, at most {max_items} allowed")
    if len(set(value)) != len(value):
        problems.append(f"{field}: items must be unique, got duplicates {sorted({v for v in value if value.count(v) > 1})}")
    if max_chars is not None:
        for v in value:
            if len(v) > max_chars:
                problems.append(f"{field}: {v!r} has {len(v)} characters, at most {max_chars} allowed")


def _check_unit_float(meta: dict[str, Any], field: str, problems: list[str]) -> None:
    value = meta.get(field)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= float(value) <= 1.0:
        problems.append(f"{field}: {value!r} must be a number in [0, 1]")


def _int_list(meta: dict[str, Any], field: str, unit: str, problems: list[str]) -> list[int]:
    values = meta.get(field)
    if not isinstance(values, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        problems.append(f"{field}: must be a list of integers ({unit}); empty means any")
        return []
    if len(set(values)) != len(values):
        problems.append(f"{field}: duplicate values")
    return values


def validate_metadata(meta: dict[str, Any]) -> list[str]:
    """Every violation of the published Neutone limits in ``meta``, as ``"field: problem"``."""
    problems: list[str] = []
    for field, limit in _TEXT_LIMITS.items():
        _check_text(meta, field, limit, problems)
    if isinstance(meta.get("model_name"), str) and not meta["model_name"].strip():
        problems.append("model_name: must not be empty")
    if not isinstance(meta.get("model_version"), str):
        problems.append("model_version: must be a string such as '1.0.0'")
    _check_unique_strings(meta, "model_authors", 5, None, problems)
    if isinstance(meta.get("model_authors"), list) and not meta["model_authors"]:
        problems.append("model_authors: name at least one author")
    _check_unique_strings(meta, "tags", 7, 15, problems)
    links = meta.get("technical_links")
    if not isinstance(links, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in links.items()):
        problems.append("technical_links: must be a dict of label -> URL strings")
    elif len(links) > 3:
        problems.append(f"technical_links: {len(links)} links, at most 3 allowed")
    for field in ("is_experimental", "is_input_mono", "is_output_mono"):
        if not isinstance(meta.get(field), bool):
            problems.append(f"{field}: must be True or False, got {meta.get(field)!r}")
    for field in ("wet_default_value", "dry_default_value", "input_gain_default_value", "output_gain_default_value"):
        _check_unit_float(meta, field, problems)
    for rate in _int_list(meta, "native_sample_rates", "Hz", problems):
        if not 1 <= rate <= MAX_NATIVE_SAMPLE_RATE:
            problems.append(f"native_sample_rates: {rate} Hz outside 1..{MAX_NATIVE_SAMPLE_RATE}")
    for size in _int_list(meta, "native_buffer_sizes", "samples", problems):
        if size < 1:
            problems.append(f"native_buffer_sizes: {size} in get_native_buffer_sizes(): sizes must be >= 1")
    look_behind = meta.get("look_behind_samples")
    if isinstance(look_behind, bool) or not isinstance(look_behind, int) or look_behind < 0:
        problems.append(f"look_behind_samples: {look_behind!r} must be an integer >= 0")
    sounds = meta.get("sample_sound_files")
    if not isinstance(sounds, list) or len(sounds) > MAX_SAMPLE_SOUNDS:
        problems.append(f"sample_sound_files: must be a list of at most {MAX_SAMPLE_SOUNDS} in/out pairs")
    elif not all(isinstance(s, dict) and set(s) == {"in", "out"} for s in sounds):
        problems.append("sample_sound_files: each item must be a dict with keys 'in' and 'out'")
    created = meta.get("date_created")
    if isinstance(created, bool) or not isinstance(created, (int, float)) or not math.isfinite(created):
        problems.append(f"date_created: {created!r} must be seconds since the epoch (a number)")
    return problems


def metadata_json(meta: dict[str, Any]) -> str:
    """The metadata as the JSON text stored in ``model.nm`` and ``metadata.json``."""
    return json.dumps(meta, indent=2, sort_keys=True)
