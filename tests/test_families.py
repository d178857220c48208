"""Model families: typed options, metadata at compose, collisions, failures, the CLI listing."""

import importlib.util
import json
import re
import sys
import textwrap
import warnings
import zipfile
from pathlib import Path
from typing import Any, Callable

import pytest
import torch
from click.testing import CliRunner

from neutone_core import FamilyError, FamilyOption, MetadataError, hookimpl, load_torchscript_source
from neutone_core.families import parse_family_options
from neutone_core.plugins import get_registry
from neutone_core.testing import PassThroughWrapper
from neutone_core.tools.cli import cli
from neutone_core.tools.sources import build_wrapper


class GainWrapper(PassThroughWrapper):
    """A pass-through with the gain its family was given (knob: "mix")."""

    def get_neutone_parameters(self) -> list[Any]:
        from neutone_core import NeutoneParameter

        return [NeutoneParameter("mix", "how much", default_value=0.5)]


def typed_family(source: str, options: dict[str, Any]) -> PassThroughWrapper:
    if source == "missing":
        raise FamilyError("expected a source named 'gain', got 'missing'")
    if source == "bug":
        raise KeyError("layers")
    wrapper = GainWrapper(input_mono=options["mono"])
    wrapper.seen = dict(options)
    return wrapper


TYPED_OPTIONS = {
    "mono": FamilyOption("one channel", bool, default=False),
    "depth": FamilyOption("layers", int, default=4, minimum=1, maximum=12),
    "drive": FamilyOption("input gain in dB", float, default=6.0),
    "activation": FamilyOption("nonlinearity", default="tanh", choices=("tanh", "sin")),
    "layers": FamilyOption("layer names", list),
    "rate": FamilyOption("native rate in Hz", int, minimum=1),
}


class TypedFamily:
    @staticmethod
    @hookimpl
    def register_model_families(register: Callable[..., None]) -> None:
        register("typed", typed_family, description="typed options", options=TYPED_OPTIONS)


class LegacyFamily:
    seen: list[dict[str, Any]] = []

    @staticmethod
    @hookimpl
    def register_model_families(register: Callable[..., None]) -> None:
        def build(source: str, options: dict[str, Any]) -> PassThroughWrapper:
            LegacyFamily.seen.append(dict(options))
            return PassThroughWrapper(input_mono=options.get("mono", "false") == "true")

        register("legacy", build, description="registered the older way", options={"mono": "true: one channel"})


def twin(source: str, options: dict[str, Any]) -> PassThroughWrapper:
    return PassThroughWrapper()


class TwinA:
    @staticmethod
    @hookimpl
    def register_model_families(register: Callable[..., None]) -> None:
        register("twin", twin, description="first")


class TwinB:
    @staticmethod
    @hookimpl
    def register_model_families(register: Callable[..., None]) -> None:
        register("twin", twin, description="second")


@pytest.fixture
def typed(register_plugin: Callable[[Any, str], Any]) -> None:
    register_plugin(TypedFamily(), "typed-family")


def test_typed_options_are_parsed_and_defaults_filled(typed: None) -> None:
    wrapper = build_wrapper(get_registry(), "gain", "typed", {"depth": "7", "mono": "yes", "layers": "a, b,c", "drive": "-3.5"})
    assert wrapper.seen == {"mono": True, "depth": 7, "drive": -3.5, "activation": "tanh", "layers": ["a", "b", "c"]}


def test_every_bad_option_is_listed_at_once(typed: None) -> None:
    with pytest.raises(FamilyError) as error:
        build_wrapper(get_registry(), "gain", "typed", {"depth": "13", "mono": "maybe", "activation": "relu", "speed": "2"})
    message = str(error.value)
    assert message.startswith("model family 'typed': no option 'speed'; ")
    for part in ("option mono='maybe' must be true or false", "option depth='13' must be <= 12",
                 "option activation='relu' must be one of tanh, sin", "It accepts: mono (bool, default false): one channel"):
        assert part in message
    assert "\n" not in message


def test_older_registrations_with_description_strings_keep_working(register_plugin: Callable[[Any, str], Any]) -> None:
    register_plugin(LegacyFamily(), "legacy-family")
    LegacyFamily.seen.clear()
    assert build_wrapper(get_registry(), "x", "legacy", {"mono": "true"}).is_input_mono()
    assert not build_wrapper(get_registry(), "x", "legacy", {}).is_input_mono()
    assert LegacyFamily.seen == [{"mono": "true"}, {}]
    assert get_registry().families["legacy"].options["mono"].describe() == "str"


@pytest.mark.parametrize(
    ("option", "problem"),
    [
        (lambda: FamilyOption("x", int, default="4"), "default '4': not a int"),
        (lambda: FamilyOption("x", int, default=0, minimum=1), "default 0: must be >= 1"),
        (lambda: FamilyOption("x", dict), "must be one of str, int, float, bool, list"),
    ],
)
def test_a_bad_option_declaration_is_refused(option: Callable[[], FamilyOption], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        option()


def test_a_family_declaring_bad_options_is_reported_by_plugins(register_plugin: Callable[[Any, str], Any]) -> None:
    class Broken:
        @staticmethod
        @hookimpl
        def register_model_families(register: Callable[..., None]) -> None:
            register("broken", twin, options={"a b": "spaces"})

    register_plugin(Broken(), "broken-family")
    registry = get_registry()
    assert "broken" not in registry.families
    [failure] = [f for f in registry.failures if f.plugin == "broken-family"]
    assert failure.error == "ValueError: option name 'a b': use letters, digits, '_', '-' and '.'"


def test_two_families_with_one_name_are_an_error_naming_both(register_plugin: Callable[[Any, str], Any]) -> None:
    register_plugin(TwinA(), "twin-a")
    register_plugin(TwinB(), "twin-b")
    with pytest.raises(FamilyError) as error:
        build_wrapper(get_registry(), "x", "twin")
    assert str(error.value) == (
        "model family 'twin' is registered by (in-process) (plugin twin-a) and (in-process) (plugin twin-b); "
        "uninstall one of them (pip uninstall (in-process))"
    )


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("missing", "model family 'typed' cannot build from 'missing': expected a source named 'gain', got 'missing'"),
        ("bug", "model family 'typed' failed on 'bug': KeyError: 'layers'"),
    ],
)
def test_a_family_failing_on_a_source_is_one_error_naming_family_and_source(typed: None, source: str, message: str) -> None:
    with pytest.raises(FamilyError) as error:
        build_wrapper(get_registry(), source, "typed")
    assert str(error.value) == message


def scripted_file(path: Path) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.save(torch.jit.script(torch.nn.Tanh()), str(path))
    return path


def rewritten(path: Path, out: Path, rewrite: Callable[[str, bytes], bytes]) -> str:
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            target.writestr(info, rewrite(info.filename, source.read(info.filename)))
    return str(out)


def test_a_file_from_a_newer_torch_says_so(tmp_path: Path) -> None:
    good = scripted_file(tmp_path / "tanh.pt")
    newer_format = rewritten(good, tmp_path / "format.pt", lambda name, data: b"99\n" if name.endswith("/version") else data)
    with pytest.raises(FamilyError, match=r"saved by a newer torch \(archive format 99; torch [\d.]+ reads up to \d+\)"):
        load_torchscript_source(newer_format)
    newer_operator = rewritten(good, tmp_path / "op.pt", lambda name, data: data.replace(b"torch.tanh(", b"torch.tanh_v2("))
    with pytest.raises(FamilyError, match=r"calls aten::tanh_v2, which torch [\d.]+ lacks: it was scripted with a newer torch"):
        load_torchscript_source(newer_operator)
    (tmp_path / "notes.txt").write_text("not a model")
    with pytest.raises(FamilyError, match=r"the file is not TorchScript \(.*\); expected one saved with torch.jit.save"):
        load_torchscript_source(str(tmp_path / "notes.txt"))


META = """
model_name = "gain stage"
model_authors = ["Ada Lovelace", "Alan Turing"]
tags = ["gain"]
citation = "Lovelace (1843)"

[technical_links]
Paper = "https://example.org/paper"

[knobs.mix]
description = "dry to wet"
default = 0.25
"""


def test_metadata_from_a_file_and_options_options_winning(typed: None, tmp_path: Path) -> None:
    (tmp_path / "meta.toml").write_text(META)
    wrapper = build_wrapper(get_registry(), "gain", "typed", {"model_authors": "Grace Hopper", "tags": "gain,clean"},
                            tmp_path / "meta.toml")
    metadata = wrapper.to_metadata()
    assert (metadata["model_name"], metadata["model_authors"]) == ("gain stage", ["Grace Hopper"])
    assert metadata["tags"] == ["gain", "clean"]
    assert metadata["technical_links"] == {"Paper": "https://example.org/paper"}
    assert metadata["neutone_parameters"]["p1"] == {
        "name": "mix", "description": "dry to wet", "default_value": 0.25, "used": True, "type": "continuous"
    }


def test_every_metadata_violation_is_listed_at_once(typed: None, tmp_path: Path) -> None:
    long_name = "a name far longer than thirty characters"
    (tmp_path / "meta.toml").write_text(textwrap.dedent(f"""
        model_name = "{long_name}"
        model_authors = "Ada"
        colour = "red"
        tags = ["x", "x"]
        [knobs.mix]
        default = 2.0
        [knobs.volume]
        default = 0.1
    """))
    with pytest.raises(MetadataError) as error:
        build_wrapper(get_registry(), "gain", "typed", {"citation": "c" * 301}, tmp_path / "meta.toml")
    assert error.value.violations == [
        "colour: not a metadata field that can be set (fields: model_name, model_authors, model_version, "
        "model_short_description, model_long_description, technical_description, technical_links, tags, citation, "
        "is_experimental, knobs)",
        "knobs.mix: default_value 2.0 outside 0..1; the host sends 0..1 (use ContinuousNeutoneParameter(min_value=, "
        "max_value=) for another range)",
        "knobs.volume: the model has no knob 'volume' (its knobs: mix)",
        f"model_name: {len(long_name)} characters, at most 30 allowed",
        "citation: 301 characters, at most 300 allowed",
        "model_authors: must be a list of strings",
        "tags: items must be unique, got duplicates ['x']",
    ]


def test_a_metadata_file_that_is_not_toml_is_named(tmp_path: Path) -> None:
    (tmp_path / "meta.toml").write_text("model_name = ")
    with pytest.raises(MetadataError, match=r"meta.toml: not a TOML file \(Invalid value"):
        build_wrapper(get_registry(), f"{tmp_path}/x.py:W", metadata_file=tmp_path / "meta.toml")


def test_options_other_than_metadata_need_a_family() -> None:
    with pytest.raises(FamilyError, match=r"option depth needs --family; without one only metadata options apply \(model_name"):
        build_wrapper(get_registry(), "x.py:W", options={"depth": "3", "model_name": "x"})


def test_parse_family_options_without_declared_options() -> None:
    with pytest.raises(FamilyError, match="no option 'x'. It accepts: no options"):
        parse_family_options({}, {"x": "1"})


def test_plugins_and_compose_help_list_each_family_with_typed_options(typed: None) -> None:
    report = json.loads(CliRunner().invoke(cli, ["plugins", "--json"]).output)
    [entry] = [p for p in report["plugins"] if p["plugin"] == "typed-family"]
    [family] = entry["model_families"]
    assert family["options"]["depth"] == {"type": "int", "default": 4, "choices": [], "minimum": 1, "maximum": 12,
                                          "description": "layers"}
    table = CliRunner().invoke(cli, ["plugins"]).output
    assert "  model family typed: typed options\n    option mono (bool, default false): one channel\n" in table
    assert "    option activation (tanh|sin, default tanh): nonlinearity\n" in table
    help_text = CliRunner().invoke(cli, ["compose", "--help"]).output
    assert "Model families (--family NAME, --option KEY=VALUE):" in help_text
    assert "  typed: typed options\n    mono (bool, default false): one channel\n" in help_text
    assert "\n    depth (int 1..12, default 4): layers\n" in help_text
    assert "\n  model_authors (list): up to 5 authors, comma-separated\n" in help_text


def test_compose_with_a_family_and_a_metadata_file(typed: None, tmp_path: Path) -> None:
    (tmp_path / "meta.toml").write_text(META)
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["compose", "gain", "--family", "typed", "--meta", str(tmp_path / "meta.toml"),
                                      "--option", "mono=true", "-o", str(out), "--skip-check", "sample_sounds"])
    assert result.exit_code == 0, result.output
    metadata = json.loads((out / "metadata.json").read_text())
    assert (metadata["model_name"], metadata["model_type"]) == ("gain stage", "mono-stereo")
    assert metadata["neutone_parameters"]["p1"]["default_value"] == 0.25


README = (Path(__file__).parents[1] / "README.md").read_text()


def readme_block(marker: str) -> str:
    [code] = [block for block in re.findall(r"```python\n(.*?)```", README, re.S) if marker in block]
    return code


def test_the_readme_family_and_its_test_run(register_plugin: Callable[[Any, str], Any], tmp_path: Path) -> None:
    (tmp_path / "readme_gain_family.py").write_text(readme_block("class FixedGain"))
    spec = importlib.util.spec_from_file_location("readme_gain_family", tmp_path / "readme_gain_family.py")
    assert spec is not None and spec.loader is not None
    plugin = importlib.util.module_from_spec(spec)
    sys.modules["readme_gain_family"] = plugin
    spec.loader.exec_module(plugin)
    register_plugin(plugin, "readme-gain-family")
    namespace: dict[str, Any] = {}
    exec(readme_block("def test_gain_family"), namespace)
    namespace["test_gain_family"](tmp_path / "out")
    with pytest.raises(FamilyError, match="model family 'gain' cannot build from 'loud': expected a gain factor such as 0.5"):
        build_wrapper(get_registry(), "loud", "gain")
