import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import neutone_core.tools.cli as cli_module
from neutone_core.errors import ModelFileError
from neutone_core.plugins import get_registry
from neutone_core.tools.archive import archive_format_version
from neutone_core.tools.cli import ExportProgress, StatusLine, cli

EXAMPLES = Path(__file__).parents[1] / "examples"


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("clipper")
    result = CliRunner().invoke(cli, ["compose", f"{EXAMPLES}/clipper.py:ClipperModelWrapper", "-o", str(out)])
    assert result.exit_code == 0, result.output
    return out / "model.nm"


def test_compose_prints_plan_checks_and_paths_and_on_a_terminal_the_step_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli_module, "is_terminal", lambda stream: True)
    monkeypatch.setenv("COLUMNS", "1000")
    result = CliRunner().invoke(cli, ["compose", f"{EXAMPLES}/mono_overdrive.py:MonoOverdriveWrapper", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "plan: root -> mixer -> model" in result.stdout
    assert "check reload_identical: reloaded file bit-identical" in result.stdout
    assert (tmp_path / "model.nm").is_file() and (tmp_path / "metadata.json").is_file()
    checks = list(get_registry().checks)
    steps = [step.removesuffix("...") for step in result.stderr.split("\r\x1b[K") if step]
    assert steps == [
        f"loading {EXAMPLES}/mono_overdrive.py:MonoOverdriveWrapper",
        f"planning adapters and scripting the graph, then check {checks[0]} (1/{len(checks)})",
        *(f"check {name} ({i + 1}/{len(checks)})" for i, name in enumerate(checks) if i),
    ]
    # each check's line as it finishes, in the order the steps announced them
    finished = [line.split(":")[0] for line in result.stdout.splitlines() if line.startswith("check ")]
    assert finished == [f"check {name}" for name in checks]


def test_status_lines_show_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = io.StringIO()
    status = StatusLine(stream)
    ExportProgress(["a", "b"], status).finished("a", "ok")
    status.clear()
    assert not status.live and stream.getvalue() == ""
    monkeypatch.setattr(cli_module, "is_terminal", lambda stream: True)
    ExportProgress([], StatusLine(stream))  # no check registered: the export still says what it does
    assert stream.getvalue() == "\r\x1b[Kplanning adapters and scripting the graph..."
    monkeypatch.setenv("COLUMNS", "20")  # a status never wraps: the next one could not erase it
    StatusLine(stream).show("loading a/very/long/path/to/a/wrapper.py:Wrapper")
    assert stream.getvalue().endswith("\r\x1b[Kloading a/very/l...")  # 19 columns


def test_inspect_shows_metadata_stages_and_delay(exported: Path) -> None:
    result = CliRunner().invoke(cli, ["inspect", str(exported), "--sr", "44100", "--bs", "256", "--mono"])
    assert result.exit_code == 0, result.output
    assert "clipper 1.0.0 by Andrew Fyfe" in result.output
    assert "knob p1 'min' (default 0.5): min clip threshold" in result.output
    assert "stages: root -> mixer -> model" in result.output
    assert "active   mixer (0 samples from here to the output)" in result.output
    assert "delay: 0 samples total (0 buffering + 0 model), 0.00 ms" in result.output


def test_inspect_json_for_a_stereo_host(exported: Path) -> None:
    result = CliRunner().invoke(cli, ["inspect", str(exported), "--json"])
    report = json.loads(result.output)
    assert report["host"] == {"sample_rate": 48000, "block_size": 512, "channels": 2}
    assert [(s["name"], s["active"]) for s in report["stages"]] == [("mixer", False), ("model", True)]
    assert report["delay"] == {"total_samples": 0, "buffering_samples": 0, "model_samples": 0}


def test_plugins_lists_distributions_and_what_they_provide() -> None:
    result = CliRunner().invoke(cli, ["plugins"])
    assert result.exit_code == 0
    assert "mixer  (neutone-adapter-mixer 0.1.0)" in result.output
    assert "adapters: mixer (channels, priority 0, rank 300)" in result.output
    assert "adapters: left-channel (channels, priority -10, nests like its need's adapter)" in result.output
    report = json.loads(CliRunner().invoke(cli, ["plugins", "--json"]).output)
    by_plugin = {p["plugin"]: p for p in report["plugins"]}
    torchscript = by_plugin["torchscript"]
    assert torchscript["hooks"] == ["register_adapters", "register_model_families", "register_checks", "register_commands"]
    assert [f["name"] for f in torchscript["model_families"]] == ["torchscript"]
    assert torchscript["checks"] == [{"name": "finite_output", "description": "output is finite for silence and loud noise"}]
    assert torchscript["commands"] == ["torchscript-info"]
    assert by_plugin["neutone-checks"]["distribution"] == "neutone"
    assert [c["name"] for c in by_plugin["neutone-checks"]["checks"]] == [
        "operators", "metadata_valid", "host_contract", "reload_identical", "delay_reported", "block_partition",
        "offline_mode", "host_sessions", "reset_clears_state", "deterministic", "bad_host_input", "knobs",
        "no_allocations", "realtime", "sample_sounds",
    ]
    [mixer] = by_plugin["mixer"]["adapters"]
    assert mixer == {"name": "mixer", "need": "channels", "priority": 0, "rank": 300, "options": {},
                     "description": "mono/stereo: averages stereo into mono models, duplicates mono out to stereo hosts"}
    only_commands = json.loads(CliRunner().invoke(cli, ["plugins", "--json", "--hook", "register_commands"]).output)
    assert [p["plugin"] for p in only_commands["plugins"]] == ["torchscript"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["inspect", "missing.nm"], "missing.nm: no such file"),
        (["inspect", "model.nm", "--sr", "0"], "Invalid value for '--sr': 0 is not in the range 1<=x<=768000."),
        (["compose", "nothing.py:Wrapper", "-o", "out"], "no such file nothing.py"),
        (["compose", f"{EXAMPLES}/clipper.py:Nope", "-o", "out"], "defines no 'Nope'"),
        (["compose", f"{EXAMPLES}/clipper.py", "-o", "out"], "expected path/to/file.py:ClassName"),
        (
            ["compose", f"{EXAMPLES}/clipper.py:ClipperModelWrapper", "-o", "out", "--adapter", "time=x"],
            "no adapter of that name serves time (available: none installed); needs served here: buffer_size, channels",
        ),
        (
            ["compose", f"{EXAMPLES}/clipper.py:ClipperModelWrapper", "-o", "out", "--adapter-option", "mixer.speed=2"],
            "adapter 'mixer' has no option speed",
        ),
        (["compose", "x.pt", "--family", "nope", "-o", "out"], "unknown model family 'nope'"),
    ],
)
def test_bad_input_is_one_clear_line_and_non_zero_exit(tmp_path: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output


def test_cli_runs_as_a_real_subprocess(exported: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "neutone_core", "inspect", str(exported), "--bs", "64"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "host 48000 Hz, 64 samples, stereo" in done.stdout
    failed = subprocess.run([sys.executable, "-m", "neutone_core", "inspect", "nope.nm"], capture_output=True, text=True)
    assert failed.returncode == 1
    expected = "Error: nope.nm: no such file; export one with `neutone compose` or save_neutone_model()"
    assert failed.stderr.strip().splitlines() == [expected]


@pytest.mark.parametrize(
    "args",
    [["inspect", "model.nm", "--sr", "0"], ["bench", "model.nm", "--bs", "0"], ["profile", "model.nm", "--sr", "x"], ["nope"]],
)
def test_usage_errors_exit_2(args: list[str]) -> None:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2 and "Usage: " in result.output, result.output


def test_version_lists_every_installed_neutone_distribution() -> None:
    from importlib.metadata import version

    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0] == f"neutone {version('neutone')}"
    for name in ("neutone-adapter-mixer", "neutone-adapter-resample", "neutone-blocks", "neutone-torchscript"):
        assert f"{name} {version(name)}" in lines


def test_inspect_names_the_archive_format_and_the_operators_that_raise_it(exported: Path, tmp_path: Path) -> None:
    report = json.loads(CliRunner().invoke(cli, ["inspect", str(exported), "--json"]).output)
    archive = report["archive"]
    # torch writes format 3 raised to the highest version any of the file's operators needs
    assert archive["format_version"] == archive_format_version(exported) == max(3, *archive["raised_by"].values())
    assert set(archive["raised_by"]) <= set(report["operators"]["counts"]) and archive["raised_by"]["aten::full"] == 5
    assert archive["format_version"] <= archive["torch_max_format_version"]
    text = CliRunner().invoke(cli, ["inspect", str(exported.parent)]).output
    assert f"archive format {archive['format_version']} (" in text and "loads in a LibTorch reading format" in text
    (tmp_path / "bad.nm").write_bytes(b"not a zip")
    with pytest.raises(ModelFileError, match="not a TorchScript archive"):
        archive_format_version(tmp_path / "bad.nm")


def test_inspect_json_leaves_the_sample_sounds_out_unless_asked(exported: Path) -> None:
    plain = CliRunner().invoke(cli, ["inspect", str(exported), "--json"]).output
    with_sounds = CliRunner().invoke(cli, ["inspect", str(exported), "--json", "--with-sounds"]).output
    report, full = json.loads(plain), json.loads(with_sounds)
    assert "sample_sound_files" not in report["metadata"] and report["sample_sounds"] == {"count": 3, "included": False}
    assert len(full["metadata"]["sample_sound_files"]) == 3 and full["sample_sounds"]["included"]
    assert len(plain) < 10_000 < len(with_sounds)


def test_plugins_says_what_is_not_installed_and_how_to_install_it() -> None:
    from neutone_core.plugins import Registry
    from neutone_core.tools.cli import not_installed

    missing = {m["distribution"]: m for m in not_installed(Registry())}
    mixer = missing["neutone-adapter-mixer"]
    assert mixer["needs"] == ["channels"] and "no model exports" in mixer["without_it"]
    assert mixer["install"] == f"pip install -e {os.path.relpath(EXAMPLES.parent / 'neutone_adapters' / 'mixer')}"
    assert missing["neutone-adapter-fifo"]["without_it"] == "models that need buffer_size do not export"
    assert "not_installed" in json.loads(CliRunner().invoke(cli, ["plugins", "--json"]).output)
