import json
from typing import Dict, List

import pytest

from neutone_core import MetadataError
from neutone_core.metadata import build_metadata, metadata_json, validate_metadata
from neutone_core.testing import PassThroughWrapper

PUBLISHED_FIELDS = {
    "model_name", "model_authors", "model_version", "model_short_description", "model_long_description",
    "technical_description", "technical_links", "tags", "citation", "is_experimental", "neutone_parameters",
    "wet_default_value", "dry_default_value", "input_gain_default_value", "output_gain_default_value",
    "is_input_mono", "is_output_mono", "model_type", "native_sample_rates", "native_buffer_sizes",
    "look_behind_samples", "sample_sound_files", "sdk_version", "neutone_version", "pytorch_version", "date_created",
}


def test_clipper_metadata_has_every_published_field(clipper_wrapper) -> None:
    meta = build_metadata(clipper_wrapper)
    assert set(meta) == PUBLISHED_FIELDS
    assert meta["model_type"] == "stereo-stereo"
    assert meta["neutone_parameters"]["p1"] == {
        "name": "min", "description": "min clip threshold", "default_value": 0.5, "used": True, "type": "continuous"
    }
    assert meta["neutone_parameters"]["p4"]["used"] is False
    assert meta["sdk_version"] == "1.5.2" and isinstance(meta["date_created"], float)
    assert json.loads(metadata_json(meta)) == meta


@pytest.mark.parametrize(
    ("input_mono", "output_mono", "expected"),
    [(True, True, "mono-mono"), (True, False, "mono-stereo"), (False, True, "stereo-mono"), (False, False, "stereo-stereo")],
)
def test_model_type_follows_channels(input_mono: bool, output_mono: bool, expected: str) -> None:
    meta = build_metadata(PassThroughWrapper(input_mono=input_mono, output_mono=output_mono))
    assert meta["model_type"] == expected


class BadMetadata(PassThroughWrapper):
    def get_model_name(self) -> str:
        return "n" * 31

    def get_model_authors(self) -> List[str]:
        return ["a", "a", "b", "c", "d", "e"]

    def get_model_short_description(self) -> str:
        return "s" * 151

    def get_model_long_description(self) -> str:
        return "l" * 501

    def get_technical_description(self) -> str:
        return "t" * 501

    def get_tags(self) -> List[str]:
        return ["a-very-long-tag-name", "x", "x", "1", "2", "3", "4", "5"]

    def get_technical_links(self) -> Dict[str, str]:
        return {str(i): "https://example.org" for i in range(4)}

    def get_citation(self) -> str:
        return "c" * 301

    def get_wet_default_value(self) -> float:
        return 1.5

    def get_native_sample_rates(self) -> List[int]:
        return [0, 192000]

    def get_native_buffer_sizes(self) -> List[int]:
        return [0]

    def get_look_behind_samples(self) -> int:
        return -1

    def is_experimental(self) -> bool:
        return "no"  # type: ignore[return-value]


def test_every_violation_is_listed_by_field() -> None:
    with pytest.raises(MetadataError) as info:
        build_metadata(BadMetadata())
    violations = info.value.violations
    expected = [
        "model_name: 31 characters, at most 30 allowed",
        "model_short_description: 151 characters, at most 150 allowed",
        "model_long_description: 501 characters, at most 500 allowed",
        "technical_description: 501 characters, at most 500 allowed",
        "citation: 301 characters, at most 300 allowed",
        "model_authors: 6 items, at most 5 allowed",
        "model_authors: items must be unique, got duplicates ['a']",
        "tags: 8 items, at most 7 allowed",
        "tags: items must be unique, got duplicates ['x']",
        "tags: 'a-very-long-tag-name' has 20 characters, at most 15 allowed",
        "technical_links: 4 links, at most 3 allowed",
        "is_experimental: must be True or False, got 'no'",
        "wet_default_value: 1.5 must be a number in [0, 1]",
        "native_sample_rates: 0 Hz outside 1..96000",
        "native_sample_rates: 192000 Hz outside 1..96000",
        "native_buffer_sizes: 0 in get_native_buffer_sizes(): sizes must be >= 1",
        "look_behind_samples: -1 must be an integer >= 0",
    ]
    assert sorted(violations) == sorted(expected)
    assert "17 problems" in str(info.value)


def test_a_getter_that_raises_is_reported_not_crashed() -> None:
    class Broken(PassThroughWrapper):
        def get_tags(self) -> List[str]:
            raise RuntimeError("tags file missing")

    with pytest.raises(MetadataError, match=r"get_tags\(\): raised RuntimeError: tags file missing"):
        build_metadata(Broken())


def test_valid_metadata_has_no_violations(clipper_wrapper) -> None:
    assert validate_metadata(build_metadata(clipper_wrapper)) == []


def test_sample_sound_files_limit() -> None:
    meta = build_metadata(PassThroughWrapper())
    meta["sample_sound_files"] = [{"in": "", "out": ""}] * 4
    assert validate_metadata(meta) == ["sample_sound_files: must be a list of at most 3 in/out pairs"]
