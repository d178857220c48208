"""``neutone render``: streams files through a model.nm as a host does, through CliRunner and
a real subprocess; knob settings and sweeps, delay compensation, plots, folders, bad input."""

import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch
from click.testing import CliRunner, Result

from neutone_core import save_neutone_model
from neutone_core.export import load_neutone_model
from neutone_core.tools.cli import cli
from neutone_core.tools.host import stream
from neutone_core.tools.sources import load_wrapper_from_file

EXAMPLES = Path(__file__).parents[1] / "examples"
HELPERS = Path(__file__).parent / "host_tools_models.py"
DELAY = 64
"""DelayWrapper's default delay (samples)."""


@pytest.fixture(scope="module")
def clipper_nm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    wrapper = load_wrapper_from_file(f"{EXAMPLES}/clipper.py:ClipperModelWrapper")
    return save_neutone_model(wrapper, tmp_path_factory.mktemp("clipper")).model_path


@pytest.fixture(scope="module")
def delay_nm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    skip = {"sample_sounds", "no_allocations", "realtime"}
    wrapper = load_wrapper_from_file(f"{HELPERS}:DelayWrapper")
    return save_neutone_model(wrapper, tmp_path_factory.mktemp("delay"), skip_checks=skip).model_path


def noise_file(path: Path, rate: int = 48000, seconds: float = 0.5, channels: int = 2, seed: int = 0) -> np.ndarray:
    data = (np.random.default_rng(seed).random((int(rate * seconds), channels), dtype=np.float32) - 0.5) * 0.8
    soundfile.write(str(path), data, rate, subtype="FLOAT" if path.suffix == ".wav" else None)
    return data


def invoke(*args: object) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_render_equals_the_host_code_path(tmp_path: Path, clipper_nm: Path) -> None:
    data = noise_file(tmp_path / "in.wav")
    result = invoke("render", clipper_nm, tmp_path / "in.wav", "-o", tmp_path / "out.wav", "--bs", "300")
    assert result.exit_code == 0, result.output
    assert "rendered" in result.output and "48000 Hz, blocks of 300, stereo host" in result.output
    out, rate = soundfile.read(str(tmp_path / "out.wav"), dtype="float32", always_2d=True)
    model, _ = load_neutone_model(clipper_nm)
    expected = stream(model, torch.from_numpy(data.T.copy()), 48000, 300)
    assert rate == 48000
    assert np.array_equal(out.T, expected.numpy())


def test_delay_is_kept_or_compensated(tmp_path: Path, delay_nm: Path) -> None:
    data = noise_file(tmp_path / "in.wav")
    kept = invoke("render", delay_nm, tmp_path / "in.wav", "-o", tmp_path / "kept.wav")
    compensated = invoke("render", delay_nm, tmp_path / "in.wav", "-o", tmp_path / "comp.wav", "--compensate-delay")
    assert kept.exit_code == 0 and compensated.exit_code == 0, kept.output + compensated.output
    assert f"delay {DELAY} samples kept" in kept.output and f"delay {DELAY} samples compensated" in compensated.output
    out_kept, _ = soundfile.read(str(tmp_path / "kept.wav"), dtype="float32")
    out_comp, _ = soundfile.read(str(tmp_path / "comp.wav"), dtype="float32")
    assert out_kept.shape == out_comp.shape == data.shape
    assert np.array_equal(out_kept[DELAY:], data[:-DELAY]) and not out_kept[:DELAY].any()
    assert np.array_equal(out_comp, data)


def test_resamples_to_the_host_rate_and_renders_mono(tmp_path: Path, clipper_nm: Path) -> None:
    noise_file(tmp_path / "in.flac", rate=44100, channels=1)
    result = invoke("render", clipper_nm, tmp_path / "in.flac", "-o", tmp_path / "out.flac", "--sr", "48000", "--mono")
    assert result.exit_code == 0, result.output
    info = soundfile.info(str(tmp_path / "out.flac"))
    assert (info.samplerate, info.channels, info.frames) == (48000, 1, 24000)


def test_param_sets_and_sweeps_a_knob(tmp_path: Path, clipper_nm: Path) -> None:
    soundfile.write(str(tmp_path / "dc.wav"), np.full((48000, 2), 0.9, dtype=np.float32), 48000, subtype="FLOAT")
    held = invoke("render", clipper_nm, tmp_path / "dc.wav", "-o", tmp_path / "held.wav", "--param", "max=0.25")
    swept = invoke("render", clipper_nm, tmp_path / "dc.wav", "-o", tmp_path / "swept.wav", "--param", "max=0:1", "--bs", "480")
    assert held.exit_code == 0 and swept.exit_code == 0, held.output + swept.output
    out_held, _ = soundfile.read(str(tmp_path / "held.wav"), dtype="float32")
    assert np.allclose(out_held, 0.25)
    out_swept, _ = soundfile.read(str(tmp_path / "swept.wav"), dtype="float32")
    left = out_swept[:, 0]
    # the clipper clips at the block's mean knob value: a staircase rising from ~0 to 0.9
    assert left[0] < 0.01 and left[-1] == pytest.approx(0.9)
    assert np.all(np.diff(left) >= 0) and len(np.unique(left)) > 50


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_plot_is_a_png_of_the_expected_size(tmp_path: Path, clipper_nm: Path) -> None:
    noise_file(tmp_path / "in.wav")
    result = invoke("render", clipper_nm, tmp_path / "in.wav", "-o", tmp_path / "out.wav", "--plot", tmp_path / "plot.png")
    assert result.exit_code == 0, result.output
    assert png_size(tmp_path / "plot.png") == (1200, 600)


def test_a_folder_renders_as_a_batch(tmp_path: Path, clipper_nm: Path) -> None:
    (tmp_path / "in").mkdir()
    noise_file(tmp_path / "in" / "a.wav", seed=1)
    noise_file(tmp_path / "in" / "b.flac", seed=2, channels=1)
    (tmp_path / "in" / "notes.txt").write_text("not audio")
    result = invoke("render", clipper_nm, tmp_path / "in", "-o", tmp_path / "out", "--plot", tmp_path / "plots")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.wav", "b.flac"]
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == ["a.png", "b.png"]
    assert soundfile.info(str(tmp_path / "out" / "b.flac")).channels == 2


def test_mp3_is_written_with_the_bundled_libsndfile(tmp_path: Path, clipper_nm: Path) -> None:
    assert "MP3" in soundfile.available_formats()
    noise_file(tmp_path / "in.wav")
    result = invoke("render", clipper_nm, tmp_path / "in.wav", "-o", tmp_path / "out.mp3")
    assert result.exit_code == 0, result.output
    assert soundfile.info(str(tmp_path / "out.mp3")).samplerate == 48000


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--param", "drive=0.5"], "--param drive=0.5: the model has no knob 'drive'; its knobs are: min, max, gain"),
        (["--param", "max=1.5"], "--param max=1.5: 1.5 is outside 0..1"),
        (["--param", "max=0:2"], "--param max=0:2: 2 is outside 0..1"),
        (["--param", "max"], "--param 'max': expected NAME=VALUE or NAME=START:END"),
        (["--sr", "0"], "Invalid value for '--sr': 0 is not in the range 1<=x<=768000."),
        (["--bs", "100000"], "Invalid value for '--bs': 100000 is not in the range 1<=x<=65536."),
    ],
)
def test_bad_settings_are_usage_errors(tmp_path: Path, clipper_nm: Path, args: list[str], message: str) -> None:
    noise_file(tmp_path / "in.wav", seconds=0.05)
    result = invoke("render", clipper_nm, tmp_path / "in.wav", "-o", tmp_path / "out.wav", *args)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert lines[0].startswith("Usage: ") and lines[-1].startswith(f"Error: {message}"), result.output
    assert not (tmp_path / "out.wav").exists()


def test_bad_files_give_one_clear_line(tmp_path: Path, clipper_nm: Path) -> None:
    (tmp_path / "bad.wav").write_text("not audio at all")
    (tmp_path / "bad.nm").write_bytes(b"\x00" * 100)
    noise_file(tmp_path / "in.wav", seconds=0.05)
    cases = [
        ((clipper_nm, tmp_path / "bad.wav"), "bad.wav: cannot read audio"),
        ((clipper_nm, tmp_path / "missing.wav"), "missing.wav: no such file or folder"),
        ((tmp_path / "bad.nm", tmp_path / "in.wav"), "bad.nm: not a TorchScript archive"),
    ]
    for (model, audio), message in cases:
        result = invoke("render", model, audio, "-o", tmp_path / "out.wav")
        assert result.exit_code == 1
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: ") and message in lines[0], result.output


def test_a_render_running_past_a_second_shows_a_progress_bar(
    tmp_path: Path, clipper_nm: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import neutone_core.tools.cli
    import neutone_core.tools.render

    noise_file(tmp_path / "long.wav", seconds=2.0)
    args = ["render", str(clipper_nm), str(tmp_path / "long.wav"), "-o", str(tmp_path / "out.wav")]
    monkeypatch.setattr(neutone_core.tools.cli, "SHOW_PROGRESS_AFTER_SECONDS", 3600.0)
    quick = CliRunner().invoke(cli, args)
    assert quick.exit_code == 0 and quick.stderr == "", quick.output  # done before the bar is due: no bar
    monkeypatch.setattr(neutone_core.tools.cli, "SHOW_PROGRESS_AFTER_SECONDS", 0.0)
    monkeypatch.setattr(neutone_core.tools.render, "PROGRESS_SPAN", 24000)
    advanced: list[int] = []
    monkeypatch.setattr(neutone_core.tools.cli.RenderProgress, "advance", lambda self, n: advanced.append(n))
    CliRunner().invoke(cli, args)
    assert advanced == [24000] * 4  # one update per span of the 96000 host samples
    monkeypatch.undo()
    monkeypatch.setattr(neutone_core.tools.cli, "SHOW_PROGRESS_AFTER_SECONDS", 0.0)
    result = CliRunner().invoke(cli, [*args, "--plot", str(tmp_path / "p.png")])
    assert result.exit_code == 0, result.output
    # not a terminal: click prints the bar's label once instead of redrawing the bar; then the drawing step
    assert result.stderr.splitlines() == ["long.wav", f"drawing {tmp_path / 'p.png'}"]
    assert result.stdout.startswith("rendered")


def test_missing_tools_say_what_to_install(tmp_path: Path, clipper_nm: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    noise_file(tmp_path / "in.wav", seconds=0.05)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    result = invoke("render", clipper_nm, tmp_path / "in.wav", "-o", tmp_path / "o.wav", "--plot", tmp_path / "p.png")
    assert result.exit_code == 1 and result.output == "Error: --plot needs matplotlib: pip install 'neutone[tools]'\n"
    monkeypatch.setitem(sys.modules, "soundfile", None)
    result = invoke("render", clipper_nm, tmp_path / "in.wav", "-o", tmp_path / "o.wav")
    assert result.exit_code == 1 and result.output == "Error: neutone render needs soundfile: pip install 'neutone[tools]'\n"


@pytest.mark.parametrize("where", ["first", "after the command", "last"])
def test_debug_anywhere_shows_the_traceback(tmp_path: Path, clipper_nm: Path, where: str) -> None:
    (tmp_path / "bad.wav").write_text("not audio at all")
    args: list[object] = ["render", clipper_nm, tmp_path / "bad.wav", "-o", tmp_path / "o.wav"]
    position = {"first": 0, "after the command": 1, "last": len(args)}[where]
    result = invoke(*args[:position], "--debug", *args[position:])
    assert result.exit_code == 1 and "Traceback" in result.output and "cannot read audio" in result.output


def test_render_runs_as_a_real_subprocess(tmp_path: Path, clipper_nm: Path) -> None:
    noise_file(tmp_path / "in.wav")
    command = [sys.executable, "-m", "neutone_core", "render", str(clipper_nm), str(tmp_path / "in.wav")]
    done = subprocess.run([*command, "-o", str(tmp_path / "out.wav"), "--param", "gain=0.5"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("rendered ") and (tmp_path / "out.wav").is_file()
    bad = subprocess.run([*command, "-o", str(tmp_path / "x.wav"), "--param", "gain=7"], capture_output=True, text=True)
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines()[-1] == "Error: --param gain=7: 7 is outside 0..1; knob values are 0..1"


def test_a_file_at_another_rate_without_a_sample_rate_adapter_names_the_install(tmp_path: Path, clipper_nm: Path) -> None:
    noise_file(tmp_path / "in.wav", rate=44100)
    env = {k: v for k, v in os.environ.items() if k != "NEUTONE_LOAD_PLUGINS"} | {"NEUTONE_LOAD_PLUGINS": "neutone-adapter-mixer"}
    args = ["render", str(clipper_nm), str(tmp_path / "in.wav"), "-o", str(tmp_path / "out.wav"), "--sr", "48000"]
    done = subprocess.run([sys.executable, "-m", "neutone_core", *args], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert done.returncode == 1
    # the core runs from this checkout, so the install named is its folder
    assert done.stderr.strip().splitlines()[-1] == (
        "Error: the file is at 44100 Hz and the host at 48000 Hz; converting it needs a sample_rate adapter: "
        f"pip install -e {EXAMPLES.parent / 'neutone_adapters' / 'resample'} (or render at --sr 44100)"
    )
    assert not (tmp_path / "out.wav").exists()
