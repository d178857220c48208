"""``neutone validate --native``: every example validated in the C++ host, as CI does, and a
failure found there replays in it."""

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from neutone_core.tools.cli import cli
from neutone_core.tools.native import build_native_host, run_session
from neutone_core.tools.sources import load_wrapper_from_file
from neutone_core.tools.validate import validate
from neutone_core.tools.validate.sessions import host_session

from . import validate_models

ROOT = Path(__file__).parents[1]
EXAMPLE_FOLDERS = (ROOT / "examples", ROOT / "examples" / "sdk_style", ROOT / "plugins" / "neutone-blocks" / "examples")
EXAMPLES = {
    "examples/clipper.py": "ClipperModelWrapper",
    "examples/mono_overdrive.py": "MonoOverdriveWrapper",
    "examples/passthrough.py": "PassThroughModelWrapper",
    "examples/spectral_gate.py": "SpectralGateWrapper",
    "examples/spectral_passthrough.py": "SpectralPassThroughWrapper",
    "examples/sdk_style/clipper.py": "build",
    "examples/sdk_style/delayed_passthrough.py": "build",
    "examples/sdk_style/prefiltered.py": "build",
    "examples/sdk_style/rave_like.py": "build",
    "examples/sdk_style/shaper.py": "ShaperWrapper",
    "plugins/neutone-blocks/examples/clipper_prefilter.py": "ClipperPrefilterWrapper",
    "plugins/neutone-blocks/examples/overdrive_tcn.py": "OverdriveTCNWrapper",
    "plugins/neutone-blocks/examples/rave_prefilter.py": "FilteredRaveWrapper",
    "plugins/neutone-blocks/examples/spectral_filter.py": "SpectralFilterWrapper",
}
"""Every example wrapper (``demo.py`` drives the clipper and defines none)."""

KNOWN_FAILURES = {"examples/sdk_style/rave_like.py": "reset_clears_state"}
"""Written as the Neutone SDK's RAVE example, without ``reset_model`` although its codec keeps
a block: after ``reset()`` the previous stream's last block comes out again."""


def test_every_example_file_is_validated() -> None:
    found = {str(path.relative_to(ROOT)) for folder in EXAMPLE_FOLDERS for path in folder.glob("*.py")}
    assert found - {"examples/demo.py"} == set(EXAMPLES)


@pytest.mark.slow
@pytest.mark.parametrize("example", sorted(EXAMPLES))
def test_each_example_passes_validate_in_the_native_host(example: str, tmp_path: Path) -> None:
    build_native_host()
    path = validate_models.export(load_wrapper_from_file(f"{ROOT / example}:{EXAMPLES[example]}"), tmp_path)
    result = CliRunner().invoke(cli, ["validate", str(path), "--native", "--strictness", "1", "--json"])
    report = json.loads(result.output)
    failed = [check["name"] for check in report["checks"] if check["status"] == "fail"]
    assert report["host"] == "native" and failed == ([KNOWN_FAILURES[example]] if example in KNOWN_FAILURES else []), failed
    assert result.exit_code == (1 if failed else 0)
    by_name = {check["name"]: check for check in report["checks"]}
    assert by_name["host_sessions"]["host"] == "native" and by_name["host_sessions"]["details"]["block_time"]["max_us"] > 0
    if example in KNOWN_FAILURES:
        assert "state survives reset()" in by_name["reset_clears_state"]["summary"]


@pytest.mark.slow
def test_a_failure_in_the_native_host_replays_there(tmp_path: Path) -> None:
    path = validate_models.export(validate_models.NanOnLoudInput(), tmp_path)
    report = validate(path, strictness=1, native=True)
    result = report["host_sessions"]
    assert result.status == "fail" and result.host == "native" and "returned a non-finite sample" in result.summary
    found = result.reproduction
    assert found is not None
    session = host_session(0, int(found.sequence.split(" ")[2]))
    replayed = run_session(path, session.calls[: found.failing_call + 1])
    output = replayed.results[found.failing_call].output
    assert replayed.ok and output is not None and not np.isfinite(output).all()


@pytest.mark.slow
def test_a_model_crashing_the_native_host_fails_with_the_calls_and_nothing_runs_after(tmp_path: Path) -> None:
    path = validate_models.export(validate_models.CrashesOnLoudInput(), tmp_path)
    report = validate(path, strictness=1, native=True)
    result = report["host_sessions"]
    assert result.status == "fail" and result.details["host_failure"] == "crash"
    assert "crashed the host: the host process died from SIGSEGV in call " in result.summary
    found = result.reproduction
    assert found is not None and found.calls[found.failing_call].startswith(("forward(", "forward_bt("))
    session = host_session(0, int(found.sequence.split(" ")[2]))
    replayed = run_session(path, session.calls[: found.failing_call + 1])
    assert replayed.failure is not None and replayed.failure.kind == "crash" and replayed.failure.call_index == found.failing_call
    after = [r for r in report.results if r.name not in ("operators", "host_contract", "host_sessions")]
    assert {r.status for r in after} == {"skip"} and "crashed the native host in host_sessions" in after[0].summary
