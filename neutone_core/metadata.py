"""Model metadata: read from a wrapper, checked against the published Neutone limits."""

from __future__ import annotations

import datetime
import json
from importlib import metadata as importlib_metadata
from typing import Any

import torch

from neutone_core.errors import MetadataError
from neutone_core.parameters import MAX_N_PARAMS
from neutone_core.wrapper import WaveformToWaveformBase

MAX_NATIVE_SAMPLE_RATE = 96000
"""Highest native sample rate (Hz) a model may declare."""

_TEXT_LIMITS = {
    "model_name": 30,
    "model_short_description": 150,
    "model_long_description": 500,
    "technical_description": 500,
    "citation": 300,
}


def sdk_version() -> str:
    """Version of the installed ``neutone`` distribution."""
    try:
        return importlib_metadata.version("neutone")
    except importlib_metadata.PackageNotFoundError:
        return "0+unknown"


def model_type(input_mono: bool, output_mono: bool) -> str:
    """``"mono-mono"``, ``"mono-stereo"``, ``"stereo-mono"`` or ``"stereo-stereo"``."""
    return f"{'mono' if input_mono else 'stereo'}-{'mono' if output_mono else 'stereo'}"


def _call(wrapper: WaveformToWaveformBase, getter: str, problems: list[str]) -> Any:
    try:
        return getattr(wrapper, getter)()
    except Exception as exc:  # a getter's own failure is a metadata problem to report
        problems.append(f"{getter}(): raised {type(exc).__name__}: {exc}")
        return None


def build_metadata(wrapper: WaveformToWaveformBase) -> dict[str, Any]:
    """Collect the wrapper's metadata into the published Neutone layout and validate it.

    Raises :class:`MetadataError` listing every violation, by field.
    """
    problems: list[str] = []
    input_mono = _call(wrapper, "is_input_mono", problems)
    output_mono = _call(wrapper, "is_output_mono", problems)
    declared = wrapper.neutone_parameters()
    params: dict[str, dict[str, object]] = {}
    for i in range(MAX_N_PARAMS):
        key = f"p{i + 1}"
        if i < len(declared):
            params[key] = declared[i].to_metadata(used=True)
        else:
            params[key] = {"name": "", "description": "", "default_value": 0.0, "used": False, "type": "continuous"}
    meta: dict[str, Any] = {
        "model_name": _call(wrapper, "get_model_name", problems),
        "model_authors": _call(wrapper, "get_model_authors", problems),
        "model_version": _call(wrapper, "get_model_version", problems),
        "model_short_description": _call(wrapper, "get_model_short_description", problems),
        "model_long_description": _call(wrapper, "get_model_long_description", problems),
        "technical_description": _call(wrapper, "get_technical_description", problems),
        "technical_links": _call(wrapper, "get_technical_links", problems),
        "tags": _call(wrapper, "get_tags", problems),
        "citation": _call(wrapper, "get_citation", problems),
        "is_experimental": _call(wrapper, "is_experimental", problems),
        "neutone_parameters": params,
        "wet_default_value": _call(wrapper, "get_wet_default_value", problems),
        "dry_default_value": _call(wrapper, "get_dry_default_value", problems),
        "input_gain_default_value": _call(wrapper, "get_input_gain_default_value", problems),
        "output_gain_default_value": _call(wrapper, "get_output_gain_default_value", problems),
        "is_input_mono": input_mono,
        "is_output_mono": output_mono,
        "model_type": model_type(bool(input_mono), bool(output_mono)),
        "native_sample_rates": _call(wrapper, "get_native_sample_rates", problems),
        "native_buffer_sizes": _call(wrapper, "get_native_buffer_sizes", problems),
        "look_behind_samples": _call(wrapper, "get_look_behind_samples", problems),
        "sample_sound_files": [],
        "sdk_version": sdk_version(),
        "pytorch_version": torch.__version__,
        "date_created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
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
    rates = meta.get("native_sample_rates")
    if not isinstance(rates, list) or not all(isinstance(r, int) and not isinstance(r, bool) for r in rates):
        problems.append("native_sample_rates: must be a list of integers (Hz); empty means any rate")
    else:
        for r in rates:
            if not 1 <= r <= MAX_NATIVE_SAMPLE_RATE:
                problems.append(f"native_sample_rates: {r} Hz outside 1..{MAX_NATIVE_SAMPLE_RATE}")
        if len(set(rates)) != len(rates):
            problems.append("native_sample_rates: duplicate rates")
    sizes = meta.get("native_buffer_sizes")
    if not isinstance(sizes, list) or not all(isinstance(s, int) and not isinstance(s, bool) for s in sizes):
        problems.append("native_buffer_sizes: must be a list of integers (samples); empty means any size")
    else:
        for s in sizes:
            if s < 1:
                problems.append(f"native_buffer_sizes: {s} in get_native_buffer_sizes(): sizes must be >= 1")
        if len(set(sizes)) != len(sizes):
            problems.append("native_buffer_sizes: duplicate sizes")
    look_behind = meta.get("look_behind_samples")
    if isinstance(look_behind, bool) or not isinstance(look_behind, int) or look_behind < 0:
        problems.append(f"look_behind_samples: {look_behind!r} must be an integer >= 0")
    sounds = meta.get("sample_sound_files")
    if not isinstance(sounds, list) or len(sounds) > 3:
        problems.append("sample_sound_files: must be a list of at most 3 in/out pairs")
    elif not all(isinstance(s, dict) and set(s) == {"in", "out"} for s in sounds):
        problems.append("sample_sound_files: each item must be a dict with keys 'in' and 'out'")
    return problems


def metadata_json(meta: dict[str, Any]) -> str:
    """The metadata as the JSON text stored in ``model.nm`` and ``metadata.json``."""
    return json.dumps(meta, indent=2, sort_keys=True)
