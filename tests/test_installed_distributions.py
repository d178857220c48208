"""Install the core alone into a fresh virtual environment, then real plugin distributions."""

import json
import os
import subprocess
import textwrap
import venv
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).parents[1]
pytestmark = pytest.mark.slow


def run(args: list[str], cwd: Path | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NEUTONE_LOAD_PLUGINS", "PYTHONPATH")}
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    if check and done.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done


@pytest.fixture(scope="module")
def core_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with torch and the core distribution only (no adapter)."""
    path = tmp_path_factory.mktemp("core-venv") / "venv"
    venv.create(path, with_pip=True)
    pip = [str(path / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    run([*pip, f"torch=={torch.__version__.split('+')[0]}"])
    run([*pip, str(ROOT)])
    return path


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


def test_core_alone_names_the_missing_adapter_and_the_pip_command(core_venv: Path, tmp_path: Path) -> None:
    neutone = str(core_venv / "bin" / "neutone")
    plugins = json.loads(run([neutone, "plugins", "--json"]).stdout)
    assert [p["distribution"] for p in plugins["plugins"]] == ["neutone"]
    done = run([neutone, "compose", f"{ROOT}/examples/clipper.py:ClipperModelWrapper", "-o", str(tmp_path)], check=False)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "Error: the model needs what the host does not offer (stereo-in stereo-out, rates any, blocks any):",
        "  - stereo-in stereo-out while hosts send mono or stereo: no installed plugin serves channels. Install the "
        'first-party adapter: pip install "neutone[mixer]" (distribution neutone-adapter-mixer)',
    ]
    assert not (tmp_path / "model.nm").exists()


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
