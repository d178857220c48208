"""``neutone validate`` on the command line: one line per check, the reproduction of a failure,
JSON, the exit status, a missing compiler for ``--native``, and the README's pytest example."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from neutone_core.testing import PassThroughWrapper
from neutone_core.tools.cli import cli
from neutone_core.tools.validate import CHECKS

from . import validate_models

README = (Path(__file__).parents[1] / "README.md").read_text()


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("validate-cli")
    return {
        "good": validate_models.export(PassThroughWrapper(), root / "good"),
        "short": validate_models.shortening_root(root / "short" / "model.nm"),
    }


def test_a_good_file_prints_one_line_per_check_and_exits_0(files: dict[str, Path]) -> None:
    result = CliRunner().invoke(cli, ["validate", str(files["good"]), "--strictness", "1"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert [line.split()[1].rstrip(":") for line in lines[:-1]] == [check.NAME for check in CHECKS]
    assert all(line.startswith("PASS ") for line in lines[:-1])
    assert "passed at strictness 1, seed 0, python host" in lines[-1]


def test_a_failure_prints_the_calls_that_reproduce_it_and_exits_1(files: dict[str, Path]) -> None:
    result = CliRunner().invoke(cli, ["validate", str(files["short"]), "--strictness", "1", "--seed", "4"])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    failing = next(i for i, line in enumerate(lines) if line.startswith("FAIL host_sessions: "))
    assert re.search(r"returned shape \(\d, \d+\) for a block of shape \(\d, \d+\)", lines[failing])
    reproduce = "     reproduce with seed 4, host session 0 (sessions.host_session(seed=4, index=0)), call "
    assert lines[failing + 1].startswith(reproduce)
    assert lines[failing + 2].startswith("          0 set_daw_sample_rate_and_buffer_size(")
    assert any(line.startswith("     -> ") for line in lines[failing + 2 :])
    assert "FAILED" in lines[-1]


def test_json_report(files: dict[str, Path]) -> None:
    result = CliRunner().invoke(cli, ["validate", str(files["short"]), "--strictness", "1", "--json"])
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["schema"] == "neutone-validate/1" and report["passed"] is False and report["host"] == "python"
    by_name = {check["name"]: check for check in report["checks"]}
    assert list(by_name) == [check.NAME for check in CHECKS]
    failed = by_name["host_sessions"]
    assert failed["status"] == "fail" and failed["reproduction"]["seed"] == 0
    assert failed["reproduction"]["calls"][0].startswith("set_daw_sample_rate_and_buffer_size(")


def test_native_without_a_compiler_names_what_to_install(files: dict[str, Path], monkeypatch: pytest.MonkeyPatch,
                                                         tmp_path: Path) -> None:
    monkeypatch.setenv("NEUTONE_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("CXX", raising=False)
    result = CliRunner().invoke(cli, ["validate", str(files["good"]), "--native"])
    assert result.exit_code == 1
    assert "none of g++, clang++, c++ is on PATH: install a C++ compiler (Debian/Ubuntu: `apt install g++`" in result.output


def test_through_a_real_subprocess(files: dict[str, Path]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "neutone_core", "validate", str(files["good"]), "--strictness", "1", "--max-allocations", "0"],
        capture_output=True, text=True, check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"^PASS realtime: 100 blocks at 48000 Hz / 512: .* 0 tensor allocations per call", done.stdout, re.M)


def test_the_readme_pytest_example_runs(files: dict[str, Path], tmp_path: Path) -> None:
    [code] = [block for block in re.findall(r"```python\n(.*?)```", README, re.S) if "passes_neutone_validate" in block]
    target = tmp_path / "out" / "gain"
    target.mkdir(parents=True)
    (target / "model.nm").write_bytes(files["good"].read_bytes())
    (tmp_path / "test_my_model.py").write_text(code)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_my_model.py"],
        cwd=tmp_path, capture_output=True, text=True, check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout
