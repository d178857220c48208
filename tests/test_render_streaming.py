"""A file renders piece by piece: the host stream, the rendered output and the picture equal what
the whole signal gives, and memory does not grow with the file's length."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch
from click.testing import CliRunner

import neutone_core.tools.host_file as host_file
from neutone_adapters.resample.design import rate_ticks
from neutone_adapters.resample.polyphase import QUALITY_PRESETS
from neutone_core import save_neutone_model
from neutone_core.export import load_neutone_model
from neutone_core.tools.cli import cli
from neutone_core.tools.host_file import host_chunks, open_host_file
from neutone_core.tools.plot import FFT_SIZE, Envelope, RenderPicture, Spectrogram
from neutone_core.tools.render import KnobCurves, KnobSetting, host_signal, render
from neutone_core.tools.sources import load_wrapper_from_file

ROOT = Path(__file__).parents[1]
EPS = float(torch.finfo(torch.float32).eps)


@pytest.fixture(scope="module")
def clipper_nm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    wrapper = load_wrapper_from_file(f"{ROOT}/examples/clipper.py:ClipperModelWrapper")
    return save_neutone_model(wrapper, tmp_path_factory.mktemp("clipper"), skip_checks={"sample_sounds"}).model_path


def write_noise(path: Path, rate: int, frames: int, channels: int = 2, seed: int = 0) -> np.ndarray:
    data = ((np.random.default_rng(seed).random((frames, channels)) - 0.5) * 0.8).astype(np.float32)
    soundfile.write(str(path), data, rate, subtype="FLOAT")
    return data


@pytest.mark.parametrize(("file_rate", "host_rate", "mono"), [(44100, 48000, False), (48000, 44101, True), (96000, 8000, False)])
def test_pieces_join_into_the_whole_file_conversion(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, file_rate: int, host_rate: int, mono: bool
) -> None:
    monkeypatch.setattr(host_file, "CHUNK_FRAMES", 3000)
    data = write_noise(tmp_path / "in.wav", file_rate, 50_000)
    source = open_host_file(tmp_path / "in.wav", host_rate, mono)
    pieces = list(host_chunks(source))
    assert len(pieces) >= 2  # pieces are whole periods of the rate pair (1 s at 48000 -> 44101 Hz)
    joined = torch.cat(pieces, dim=1)
    whole = host_signal(torch.from_numpy(data.T.copy()), file_rate, host_rate, mono)
    assert joined.shape == whole.shape == (1 if mono else 2, source.host_frames)
    # the same filter over other block sizes: each output is a sum of `taps` products
    taps = rate_ticks(file_rate, host_rate, QUALITY_PRESETS["high"])[3]
    assert torch.allclose(joined, whole, rtol=0, atol=taps * EPS * float(whole.abs().max()))


def test_pieces_of_a_file_at_the_host_rate_are_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(host_file, "CHUNK_FRAMES", 1000)
    data = write_noise(tmp_path / "in.wav", 48000, 4321, channels=1)
    pieces = list(host_chunks(open_host_file(tmp_path / "in.wav", None, False)))
    assert [p.size(1) for p in pieces] == [1000, 1000, 1000, 1000, 321]
    assert torch.equal(torch.cat(pieces, dim=1), torch.from_numpy(data.T.copy()).repeat(2, 1))


def test_a_streamed_render_equals_the_whole_signal_render(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clipper_nm: Path
) -> None:
    monkeypatch.setattr(host_file, "CHUNK_FRAMES", 2500)
    data = write_noise(tmp_path / "in.wav", 48000, 20_000)
    result = CliRunner().invoke(
        cli, ["render", str(clipper_nm), str(tmp_path / "in.wav"), "-o", str(tmp_path / "out.wav"), "--bs", "300",
              "--param", "max=0.2:0.9", "--compensate-delay"],
    )
    assert result.exit_code == 0, result.output
    out, _ = soundfile.read(str(tmp_path / "out.wav"), dtype="float32", always_2d=True)
    model, metadata = load_neutone_model(clipper_nm)
    curves = KnobCurves(model.get_default_param_values(), [KnobSetting(1, "max", 0.2, 0.9)], data.shape[0])
    expected = render(model, torch.from_numpy(data.T.copy()), 48000, 300, curves.span(0, data.shape[0]), compensate_delay=True)
    assert np.array_equal(out.T, expected.numpy())


def test_knob_curves_sweep_from_start_to_end_and_hold_after() -> None:
    curves = KnobCurves(torch.tensor([0.1, 0.2, 0.3, 0.4]), [KnobSetting(2, "x", 0.0, 1.0)], 11)
    span = curves.span(8, 13)
    assert torch.allclose(span[2], torch.tensor([0.8, 0.9, 1.0, 1.0, 1.0]))
    assert torch.equal(span[0], torch.full((5,), 0.1))


def test_the_envelope_is_the_min_and_max_of_each_column() -> None:
    audio = torch.randn(2, 10_000, generator=torch.Generator().manual_seed(0))
    envelope = Envelope(10_000, 2)
    for start in range(0, 10_000, 777):
        envelope.add(audio[:, start : start + 777])
    columns = np.arange(10_000) * envelope.n_columns // 10_000
    for column in (0, 5, envelope.n_columns - 1):
        inside = audio[:, columns == column]
        assert torch.equal(envelope.low[:, column], inside.min(1).values)
        assert torch.equal(envelope.high[:, column], inside.max(1).values)


def test_a_full_scale_sine_shows_at_0_db_in_its_band_only() -> None:
    rate = 48000
    seconds = torch.arange(rate * 2) / rate
    sine = torch.sin(2 * torch.pi * 1000.0 * seconds).repeat(2, 1)
    spectrogram = Spectrogram(sine.size(1))
    for start in range(0, sine.size(1), 10_007):
        spectrogram.add(sine[:, start : start + 10_007])
    edges, level = spectrogram.bands_db(rate)
    band = int(torch.searchsorted(edges, torch.tensor(1000.0, dtype=torch.float64))) - 1
    assert spectrogram.frames_done == 1 + (sine.size(1) - FFT_SIZE) // 512
    # a Hann window spreads a sine over 4 bins: the band holding them averages to within 6 dB
    assert -6.0 < float(level[band].median()) <= 0.5
    far = (edges[1:] < 300) | (edges[:-1] > 4000)
    assert float(level[far].max()) < -60.0


def test_the_title_names_the_host_setting_and_knobs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clipper_nm: Path) -> None:
    titles: list[str] = []
    monkeypatch.setattr(RenderPicture, "save", lambda self, path: titles.append(self.title))
    write_noise(tmp_path / "in.wav", 44100, 5000)
    args = ["render", str(clipper_nm), str(tmp_path / "in.wav"), "-o", str(tmp_path / "o.wav"), "--plot", str(tmp_path / "p.png")]
    result = CliRunner().invoke(cli, [*args, "--bs", "256", "--mono", "--param", "max=0:1", "--param", "gain=0.25"])
    assert result.exit_code == 0, result.output
    assert titles == ["clipper: in.wav | host 44100 Hz, blocks of 256, mono | min 0.50, max 0.00->1.00, gain 0.25"]


def peak_rss_mib(args: list[str]) -> float:
    """Peak resident memory (MiB) of ``python -c CODE`` children, one per call."""
    code = (
        "import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, capture_output=True);"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    env = {k: v for k, v in os.environ.items() if k != "NEUTONE_LOAD_PLUGINS"}
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, check=True)
    return int(done.stdout) / 1024.0


@pytest.mark.slow
def test_memory_does_not_grow_with_the_file(tmp_path: Path, clipper_nm: Path) -> None:
    peaks = {}
    # both many pieces long (the allocator settles after a few): the peak is a piece's, not the file's
    for seconds in (120, 360):
        frames = seconds * 48000
        with soundfile.SoundFile(str(tmp_path / f"{seconds}.wav"), "w", 48000, 2, "FLOAT") as file:
            for start in range(0, frames, 1 << 18):
                file.write(np.full((min(1 << 18, frames - start), 2), 0.25, dtype=np.float32))
        args = [sys.executable, "-m", "neutone_core", "render", str(clipper_nm), str(tmp_path / f"{seconds}.wav"), "-o",
                str(tmp_path / f"{seconds}-out.wav"), "--sr", "44100", "--plot", str(tmp_path / f"{seconds}.png")]
        peaks[seconds] = peak_rss_mib(args)
    # 240 s more of stereo float audio in and out at 44.1 kHz would be 162 MiB held in memory
    assert peaks[360] - peaks[120] < 40.0, peaks
