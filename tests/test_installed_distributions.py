"""Install the core alone into a fresh virtual environment, then real plugin distributions."""

import json
import textwrap
import venv
from pathlib import Path

import pytest
import torch

from .clean_subprocess import run

ROOT = Path(__file__).parents[1]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def core_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with torch and the core distribution only (no adapter)."""
    path = tmp_path_factory.mktemp("core-venv") / "venv"
    venv.create(path, with_pip=True)
    pip = [str(path / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    run([*pip, f"torch=={torch.__version__.split('+')[0]}"])
    run([*pip, str(ROOT)])
    return path


def write_plugin(folder: Path, distribution: str, entry_point: str, package: str, code: str) -> Path:
    """A plugin distribution with one module of hook implementations."""
    (folder / package).mkdir(parents=True)
    (folder / package / "__init__.py").write_text(textwrap.dedent(code))
    (folder / "pyproject.toml").write_text(
        textwrap.dedent(
            f"""
            [build-system]
            requires = ["setuptools>=68"]
            build-backend = "setuptools.build_meta"

            [project]
            name = "{distribution}"
            version = "0.0.1"

            [project.entry-points.neutone]
            {entry_point} = "{package}"

            [tool.setuptools]
            packages = ["{package}"]
            """
        )
    )
    return folder


REGISTERS_SHARED_CHECK = """
from neutone_core import hookimpl

@hookimpl
def register_checks(register):
    register("shared", lambda context: "ok", "registered by two distributions")
"""


def write_broken_plugin(folder: Path) -> Path:
    """A distribution whose entry point raises on import."""
    (folder / "neutone_broken_plugin").mkdir(parents=True)
    (folder / "neutone_broken_plugin" / "__init__.py").write_text("raise ImportError('needs libfoo 2.0')\n")
    (folder / "pyproject.toml").write_text(
        textwrap.dedent(
            """
            [build-system]
            requires = ["setuptools>=68"]
            build-backend = "setuptools.build_meta"

            [project]
            name = "neutone-broken-plugin"
            version = "0.0.1"

            [project.entry-points.neutone]
            broken = "neutone_broken_plugin"

            [tool.setuptools]
            packages = ["neutone_broken_plugin"]
            """
        )
    )
    return folder


def test_core_alone_says_what_it_can_do_and_names_the_install_from_its_checkout(core_venv: Path, tmp_path: Path) -> None:
    # the core alone ships no channels rule (a second mixer, or a dependency cycle): it says so
    neutone = str(core_venv / "bin" / "neutone")
    mixer_folder = ROOT / "neutone_adapters" / "mixer"
    plugins = json.loads(run([neutone, "plugins", "--json"], cwd=tmp_path).stdout)
    assert [p["distribution"] for p in plugins["plugins"]] == ["neutone"]
    [mixer] = [m for m in plugins["not_installed"] if m["distribution"] == "neutone-adapter-mixer"]
    assert mixer["needs"] == ["channels"] and mixer["install"] == f"pip install {mixer_folder}"
    table = run([neutone, "plugins"], cwd=tmp_path).stdout
    assert "not installed: neutone-adapter-mixer (channels): every wrapper declares mono or stereo, so no model exports" in table
    done = run([neutone, "compose", f"{ROOT}/examples/clipper.py:ClipperModelWrapper", "-o", "out"], cwd=tmp_path, check=False)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "Error: the model needs what the host does not offer (stereo-in stereo-out, rates any, blocks any):",
        "  - stereo-in stereo-out while hosts send mono or stereo: no installed plugin serves channels. Install the "
        f"first-party adapter neutone-adapter-mixer: pip install {mixer_folder}",
    ]
    assert not (tmp_path / "out" / "model.nm").exists()


def test_installed_plugins_are_discovered_and_a_broken_one_is_reported(core_venv: Path, tmp_path: Path) -> None:
    pip = [str(core_venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-deps", "--disable-pip-version-check"]
    broken = write_broken_plugin(tmp_path / "broken")
    run([*pip, str(ROOT / "neutone_adapters" / "mixer"), str(ROOT / "plugins" / "neutone-torchscript"), str(broken)])
    neutone = str(core_venv / "bin" / "neutone")
    report = json.loads(run([neutone, "plugins", "--json"]).stdout)
    by_distribution = {p["distribution"]: p for p in report["plugins"]}
    assert [(a["name"], a["need"], a["rank"]) for a in by_distribution["neutone-adapter-mixer"]["adapters"]] == [
        ("mixer", "channels", 300)
    ]
    assert [f["name"] for f in by_distribution["neutone-torchscript"]["model_families"]] == ["torchscript"]
    assert report["failures"] == [
        {"plugin": "broken", "distribution": "neutone-broken-plugin", "stage": "import", "error": "ImportError: needs libfoo 2.0"}
    ]
    table = run([neutone, "plugins"]).stdout
    assert "broken (neutone-broken-plugin) at import: ImportError: needs libfoo 2.0" in table
    out = tmp_path / "out"
    composed = run([neutone, "compose", f"{ROOT}/examples/clipper.py:ClipperModelWrapper", "-o", str(out)])
    assert "plan: root -> mixer -> model" in composed.stdout
    assert "check finite_output: output finite for silence and loud noise" in composed.stdout
    assert (out / "model.nm").is_file()


def test_plugin_loading_does_not_depend_on_install_order(core_venv: Path, tmp_path: Path) -> None:
    pip = [str(core_venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-deps", "--disable-pip-version-check"]
    late = write_plugin(tmp_path / "z", "neutone-z-checks", "z-checks", "neutone_z_checks", REGISTERS_SHARED_CHECK)
    early = write_plugin(tmp_path / "a", "neutone-a-checks", "a-checks", "neutone_a_checks", REGISTERS_SHARED_CHECK)
    copycat = write_plugin(tmp_path / "c", "neutone-copycat", "mixer", "neutone_copycat", REGISTERS_SHARED_CHECK)
    run([*pip, str(late)])
    run([*pip, str(early)])
    run([*pip, str(ROOT / "neutone_adapters" / "mixer"), str(copycat)])
    neutone = str(core_venv / "bin" / "neutone")
    report = json.loads(run([neutone, "plugins", "--json"]).stdout)
    by_distribution = {p["distribution"]: p for p in report["plugins"]}
    assert [c["name"] for c in by_distribution["neutone-a-checks"]["checks"]] == ["shared"]
    assert by_distribution["neutone-z-checks"]["checks"] == []
    failures = {(f["plugin"], f["distribution"]): f for f in report["failures"]}
    assert (
        "check 'shared' is already registered by neutone-a-checks (a-checks)"
        in failures[("z-checks", "neutone-z-checks")]["error"]
    )
    assert failures[("mixer", "neutone-copycat")]["error"] == (
        "entry point name 'mixer' is taken by neutone-adapter-mixer; skipped"
    )
    assert failures[("mixer", "neutone-copycat")]["stage"] == "load"


SMOOTHED_MODEL = """
from typing import Any, Dict, List

from torch import Tensor

from neutone_core import NeutoneParameter, WaveformToWaveformBase


class SmoothedGain(WaveformToWaveformBase):
    def get_model_name(self) -> str:
        return "smoothed gain"

    def get_model_authors(self) -> List[str]:
        return ["neutone tests"]

    def get_neutone_parameters(self) -> List[NeutoneParameter]:
        return [NeutoneParameter("gain", "output gain", 0.5)]

    def is_input_mono(self) -> bool:
        return True

    def is_output_mono(self) -> bool:
        return True

    def get_native_sample_rates(self) -> List[int]:
        return [44100]

    def get_extra_needs(self) -> Dict[str, Any]:
        return {"knob_smoothing_ms": 10.0}

    def do_forward_pass(self, x: Tensor, params: Dict[str, Tensor]) -> Tensor:
        return x * params["gain"]
"""


def test_a_third_party_adapter_for_a_new_need_composes_with_no_core_change(core_venv: Path, tmp_path: Path) -> None:
    pip = [str(core_venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-deps", "--disable-pip-version-check"]
    adapters = ROOT / "neutone_adapters"
    run([*pip, str(adapters / "mixer"), str(adapters / "resample"), str(ROOT / "plugins" / "neutone-knob-smoother")])
    neutone = str(core_venv / "bin" / "neutone")
    report = json.loads(run([neutone, "plugins", "--json"]).stdout)
    [smoother] = [p for p in report["plugins"] if p["distribution"] == "neutone-knob-smoother"]
    assert [(a["name"], a["need"], a["rank"]) for a in smoother["adapters"]] == [("knob-smoother", "knob_smoothing_ms", 250)]
    (tmp_path / "smoothed_gain.py").write_text(textwrap.dedent(SMOOTHED_MODEL))
    out = tmp_path / "out"
    composed = run(
        [neutone, "compose", f"{tmp_path}/smoothed_gain.py:SmoothedGain", "-o", str(out), "--skip-check", "sample_sounds"]
    )
    assert "plan: root -> mixer -> knob-smoother -> resample -> model" in composed.stdout
    assert "  knob-smoother: the model asks for knobs smoothed over 10.0 ms" in composed.stdout
    inspected = run([neutone, "inspect", str(out / "model.nm"), "--sr", "48000"]).stdout
    assert "active   knob-smoother: one-pole, 10 ms (85 samples from here to the output)" in inspected


REGISTERS_TWIN_FAMILY = """
from neutone_core import hookimpl

@hookimpl
def register_model_families(register):
    register("twin", lambda source, options: None, description="registered by two distributions")
"""


def test_a_third_party_model_family_installs_and_composes(core_venv: Path, tmp_path: Path) -> None:
    pip = [str(core_venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-deps", "--disable-pip-version-check"]
    run([*pip, str(ROOT / "neutone_adapters" / "mixer"), str(ROOT / "plugins" / "neutone-blocks"),
         str(ROOT / "plugins" / "neutone-ronn")])
    neutone = str(core_venv / "bin" / "neutone")
    report = json.loads(run([neutone, "plugins", "--json"]).stdout)
    [ronn] = [p for p in report["plugins"] if p["distribution"] == "neutone-ronn"]
    [family] = ronn["model_families"]
    assert family["name"] == "randomized-overdrive"
    assert family["options"]["activation"]["choices"] == ["tanh", "sin", "hardtanh", "softsign"]
    assert family["options"]["depth"]["default"] == 4
    out = tmp_path / "out"
    composed = run([neutone, "compose", "7", "--family", "randomized-overdrive", "--option", "depth=2",
                    "--option", "model_name=ronn seven", "-o", str(out), "--skip-check", "sample_sounds"])
    assert "plan: root -> mixer -> model" in composed.stdout
    metadata = json.loads((out / "metadata.json").read_text())
    assert (metadata["model_name"], metadata["model_type"]) == ("ronn seven", "stereo-stereo")
    inspected = run([neutone, "inspect", str(out / "model.nm"), "--json"]).stdout
    assert json.loads(inspected)["delay"]["total_samples"] == 0
    for letter in "ab":
        twin = write_plugin(tmp_path / letter, f"neutone-{letter}-twin", f"{letter}-twin", f"neutone_{letter}_twin",
                            REGISTERS_TWIN_FAMILY)
        run([*pip, str(twin)])
    refused = run([neutone, "compose", "x", "--family", "twin", "-o", str(tmp_path / "twin")], check=False)
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines()[-1] == (
        "Error: model family 'twin' is registered by neutone-a-twin (plugin a-twin) and neutone-b-twin (plugin b-twin); "
        "uninstall one of them (pip uninstall neutone-b-twin)"
    )
