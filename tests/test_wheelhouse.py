"""``make dist`` builds every distribution without a warning; the wheels carry a licence, type
information and a description; a fresh venv installs ``neutone[all]`` from the wheelhouse and
every example exports with ``neutone compose`` (every check on two of them; the main suite runs
every example's checks)."""

import json
import re
import sys
import venv
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest
import torch

from .clean_subprocess import run

ROOT = Path(__file__).parents[1]
pytestmark = pytest.mark.slow

sys.path.insert(0, str(ROOT / "scripts"))
from build_dist import distribution_folders, main  # noqa: E402

EXAMPLE_PATTERNS = ("examples/*.py", "examples/sdk_style/*.py", "neutone_adapters/*/examples/*.py", "plugins/*/examples/*.py")
EXAMPLE_FILES = sorted(p for pattern in EXAMPLE_PATTERNS for p in ROOT.glob(pattern))
CHECKED_EXAMPLES = ("examples/sdk_style/rave_like.py", "examples/spectral_gate.py")
"""Exported with every check in the fresh venv: mixer, resampler and FIFO; the STFT adapter."""


def example_sources() -> list[str]:
    """``file.py:build`` where the file defines one, else ``file.py:Wrapper`` for its wrapper class."""
    sources = []
    for path in EXAMPLE_FILES:
        text = path.read_text()
        if "def build(" in text:
            sources.append(f"{path}:build")
        else:
            pattern = r"^class (\w+)\((?:WaveformToWaveformBase|SpectralToSpectralBase)\)"
            sources.extend(f"{path}:{name}" for name in re.findall(pattern, text, re.M))
    return sources


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every distribution built by ``scripts/build_dist.py`` (what ``make dist`` runs)."""
    out = tmp_path_factory.mktemp("dist")
    assert main([str(out)]) == 0, "a build warned"
    return out


def check_reports(stdout: str) -> dict[str, str]:
    """Check name -> its line, from ``neutone compose`` output (``check NAME: LINE``)."""
    lines = (line.removeprefix("check ") for line in stdout.splitlines() if line.startswith("check "))
    return dict(line.split(": ", 1) for line in lines)


def distribution_name(folder: Path) -> str:
    match = re.search(r'^name = "([^"]+)"', (folder / "pyproject.toml").read_text(), re.M)
    assert match is not None
    return match.group(1)


def core_requirements(wheel: Path) -> list[tuple[str, str | None]]:
    """``(distribution, extra or None)`` for each ``Requires-Dist`` of a wheel."""
    with zipfile.ZipFile(wheel) as archive:
        [name] = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        metadata = Parser().parsestr(archive.read(name).decode())
    found = []
    for requirement in metadata.get_all("Requires-Dist") or []:
        extra = re.search(r"extra == \"([^\"]+)\"", requirement)
        found.append((re.split(r"[\s;<>=!~\[(]", requirement, maxsplit=1)[0], extra.group(1) if extra else None))
    return found


def test_every_distribution_has_a_wheel_and_an_sdist_with_licence_types_and_readme(wheelhouse: Path) -> None:
    for folder in distribution_folders():
        stem = distribution_name(folder).replace("-", "_")
        [wheel] = wheelhouse.glob(f"{stem}-*.whl")
        assert len(list(wheelhouse.glob(f"{stem}-*.tar.gz"))) == 1
        assert (folder / "LICENSE").read_text() == (ROOT / "LICENSE").read_text()
        with zipfile.ZipFile(wheel) as archive:
            names = archive.namelist()
            [metadata_name] = [n for n in names if n.endswith(".dist-info/METADATA")]
            metadata = Parser().parsestr(archive.read(metadata_name).decode())
        assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names), wheel.name
        assert metadata["License-Expression"] == "MIT", wheel.name
        assert metadata["Description-Content-Type"] == "text/markdown" and len(metadata.get_payload()) > 200, wheel.name
        packages = {n.rsplit("/", 1)[0] for n in names if n.endswith("/__init__.py")}
        top = min(packages, key=len)
        assert f"{top}/py.typed" in names, wheel.name
        assert not any("/tests/" in n for n in names), wheel.name


def test_a_fresh_venv_installs_all_from_the_wheelhouse_and_every_example_exports(wheelhouse: Path, tmp_path: Path) -> None:
    path = tmp_path / "venv"
    venv.create(path, with_pip=True)
    python = str(path / "bin" / "python")
    pip = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    run([*pip, f"torch=={torch.__version__.split('+')[0]}"])
    [core_wheel] = wheelhouse.glob("neutone-*.whl")
    run([*pip, str(core_wheel)])
    neutone = str(path / "bin" / "neutone")
    missing = json.loads(run([neutone, "plugins", "--json"], cwd=tmp_path).stdout)["not_installed"]
    [mixer] = [m for m in missing if m["distribution"] == "neutone-adapter-mixer"]
    assert mixer["install"] == f"pip install --find-links {wheelhouse} neutone-adapter-mixer"
    run([*pip, "--find-links", str(wheelhouse), "neutone[all]"], cwd=tmp_path)
    versions = run([neutone, "--version"]).stdout.splitlines()
    assert versions[0] == "neutone 0.1.0" and "neutone-adapter-mixer 0.1.0" in versions and "neutone-blocks 0.1.0" in versions
    in_all = {name for name, extra in core_requirements(core_wheel) if extra == "all"}
    report = json.loads(run([neutone, "plugins", "--json"]).stdout)
    still_missing = {m["distribution"] for m in report["not_installed"]}
    assert "neutone-adapter-mixer" in in_all and not still_missing & in_all and not report["failures"]
    checks = [check["name"] for plugin in report["plugins"] for check in plugin["checks"]]
    sources = example_sources()
    checked = [source for source in sources if source.split(":")[0].endswith(CHECKED_EXAMPLES)]
    assert {source.split(":")[0] for source in sources} == {str(p) for p in EXAMPLE_FILES if p.name != "demo.py"}
    assert len(checked) == len(CHECKED_EXAMPLES)
    for i, source in enumerate(sources):
        # every check runs on the examples needing the most adapters; every example's checks run in the main suite
        skips = [] if source in checked else [arg for name in checks for arg in ("--skip-check", name)]
        out = tmp_path / f"out{i}"
        composed = run([neutone, "compose", source, "-o", str(out), *skips], cwd=tmp_path)
        assert (out / "model.nm").is_file() and "wrote " in composed.stdout, source
        reports = check_reports(composed.stdout)
        assert sorted(reports) == sorted(checks), source
        skipped = [name for name, line in reports.items() if line == "skipped"]
        assert skipped == ([] if source in checked else list(reports)), source
