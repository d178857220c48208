"""The core's export checks: what each reports, that each catches what it is for, and that a
failure leaves the previous export untouched."""

import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from click.testing import CliRunner

from neutone_core import ExportCheckError, StreamNeeds, save_neutone_model
from neutone_core.export import ExportContext, ExportResult, load_neutone_model
from neutone_core.hookspecs import hookimpl
from neutone_core.testing import PassThroughWrapper
from neutone_core.tools.audio_io import wav_from_base64
from neutone_core.tools.checks import CHECK_MODULES, metadata, partition
from neutone_core.tools.cli import cli
from neutone_core.tools.render import render
from neutone_core.tools.sample_sounds import DURATION_SECONDS, SAMPLE_RATE, sample_signals
from neutone_core.tools.sources import load_wrapper_from_file

EXAMPLES = Path(__file__).parents[1] / "examples"
HELPERS = Path(__file__).parent / "host_tools_models.py"
CHECK_NAMES = [module.NAME for module in CHECK_MODULES]


def all_but(*names: str) -> set[str]:
    return set(CHECK_NAMES) - set(names)


@pytest.fixture(scope="module")
def clipper_export(tmp_path_factory: pytest.TempPathFactory) -> ExportResult:
    wrapper = load_wrapper_from_file(f"{EXAMPLES}/clipper.py:ClipperModelWrapper")
    return save_neutone_model(wrapper, tmp_path_factory.mktemp("clipper"))


def test_the_clipper_passes_every_check_with_a_short_report(clipper_export: ExportResult) -> None:
    reports = clipper_export.reports
    assert [name for name in reports if name in CHECK_NAMES] == CHECK_NAMES
    assert reports["metadata_valid"].startswith("metadata valid (")
    assert reports["delay_reported"] == "measured delay equals reported at 14 host settings (delay 0 samples)"
    assert reports["block_partition"].startswith("output agrees over 4 block partitions at 48000 Hz, to 0 of the peak")
    assert reports["offline_mode"] == "forward_offline equals streaming, delay removed, at 2 host settings"
    assert reports["no_allocations"] == (
        "no allocation per block in the root and adapters at 3 host settings; the model's own code allocates 4 per block"
    )
    assert reports["realtime"].startswith("1/RTF ") and not reports["realtime"].startswith("warning")
    assert reports["sample_sounds"].startswith("3 sample sounds (drums, keys, ambience) stored as 16-bit WAV")


def test_sample_sounds_are_in_out_pairs_rendered_through_the_model(clipper_export: ExportResult) -> None:
    model, stored = load_neutone_model(clipper_export.model_path)
    pairs = stored["sample_sound_files"]
    assert stored == json.loads(clipper_export.metadata_path.read_text())
    assert "sample_sound_files" not in model.to_metadata()
    assert json.loads(model.get_metadata_json()) == {k: v for k, v in stored.items() if k != "sample_sound_files"}
    assert [set(pair) for pair in pairs] == [{"in", "out"}] * 3
    for pair, signal in zip(pairs, sample_signals(), strict=True):
        audio_in, rate = wav_from_base64(pair["in"])
        audio_out, _ = wav_from_base64(pair["out"])
        assert rate == SAMPLE_RATE and audio_in.shape == audio_out.shape == signal.shape
        assert torch.equal(audio_in, signal)
        expected = render(model, audio_in, SAMPLE_RATE, 512, compensate_delay=True)
        assert (expected - audio_out).abs().max() <= 1 / 32767
    assert [signal.size(0) for signal in sample_signals()] == [1, 1, 2]
    length = int(DURATION_SECONDS * SAMPLE_RATE)
    assert all(signal.size(1) == length and signal.abs().max() <= 0.8 + 1 / 32767 for signal in sample_signals())


def test_skipping_sample_sounds_exports_without_them(tmp_path: Path) -> None:
    result = save_neutone_model(PassThroughWrapper(), tmp_path, skip_checks=all_but("metadata_valid"))
    assert result.metadata["sample_sound_files"] == [] and result.reports["sample_sounds"] == "skipped"
    assert load_neutone_model(result.model_path)[1]["sample_sound_files"] == []
    assert result.reports["metadata_valid"].endswith("KiB without the sample sounds)")


def test_wrong_reported_delay_stops_the_export_and_keeps_the_previous_file(tmp_path: Path) -> None:
    good = save_neutone_model(PassThroughWrapper(), tmp_path, skip_checks=all_but("delay_reported"))
    before = (good.model_path.read_bytes(), good.metadata_path.read_bytes())
    liar = PassThroughWrapper(model_delay_samples=5)
    with pytest.raises(ExportCheckError) as caught:
        save_neutone_model(liar, tmp_path, skip_checks=all_but("delay_reported"))
    message = str(caught.value)
    assert message.startswith("export check 'delay_reported' failed: reported delay is wrong at 14 of 14 host settings")
    assert "44100 Hz / 64 samples / stereo: reported 5, measured 0" in message
    assert (good.model_path.read_bytes(), good.metadata_path.read_bytes()) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metadata.json", "model.nm"]


def test_a_model_hiding_its_delay_fails(tmp_path: Path) -> None:
    wrapper = load_wrapper_from_file(f"{HELPERS}:HiddenDelayWrapper")
    with pytest.raises(ExportCheckError) as caught:
        save_neutone_model(wrapper, tmp_path, skip_checks=all_but("delay_reported"))
    assert "reported delay is wrong at 14 of 14 host settings" in str(caught.value)
    assert "44100 Hz / 64 samples / stereo: reported 0, measured 100" in str(caught.value)


def test_a_true_delay_passes_the_delay_grid(tmp_path: Path) -> None:
    wrapper = load_wrapper_from_file(f"{HELPERS}:DelayWrapper")
    result = save_neutone_model(wrapper, tmp_path, skip_checks=all_but("delay_reported", "block_partition"))
    assert result.reports["delay_reported"].endswith("(delay 64 samples)")
    assert result.reports["block_partition"].startswith("output agrees over 4 block partitions")


@pytest.mark.parametrize("name", ["BlockLengthGainWrapper", "ForgetfulSumWrapper"])
def test_output_depending_on_the_block_partition_fails_as_a_state_bug(tmp_path: Path, name: str) -> None:
    wrapper = load_wrapper_from_file(f"{HELPERS}:{name}")
    expected = r"'block_partition' failed: blocks of 64 give output differing from blocks of 512 by [0-9.e-]+ of the peak"
    with pytest.raises(ExportCheckError, match=expected) as caught:
        save_neutone_model(wrapper, tmp_path, skip_checks=all_but("block_partition"))
    assert "not float rounding" in str(caught.value) and "a state bug" in str(caught.value)
    difference = float(re.search(r"by ([0-9.e-]+) of the peak", str(caught.value)).group(1))
    assert difference > 10 * partition.TOLERANCE, "a state bug is far above the tolerance"
    assert not (tmp_path / "model.nm").exists()


def test_a_model_whose_partitions_differ_only_by_rounding_passes(tmp_path: Path) -> None:
    wrapper = load_wrapper_from_file(f"{HELPERS}:RunningSumWrapper")
    result = save_neutone_model(wrapper, tmp_path, skip_checks=all_but("block_partition"))
    largest = float(re.search(r"to ([0-9.e-]+) of the peak", result.reports["block_partition"]).group(1))
    assert 0 < largest <= partition.ROUNDING, result.reports["block_partition"]


def test_an_adapter_that_allocates_per_block_fails(tmp_path: Path, register_plugin: Callable[[Any, str], Any]) -> None:
    load_wrapper_from_file(f"{HELPERS}:DelayWrapper")
    stage_class = sys.modules["neutone_user_host_tools_models"].AllocatingMixerStage

    class AllocatingMixerPlugin:
        @staticmethod
        @hookimpl
        def register_adapters(register: Callable[..., None]) -> None:
            def build(needs: StreamNeeds, inner: torch.nn.Module, options: dict[str, str]) -> torch.nn.Module:
                return stage_class(inner, needs.input_channels, needs.output_channels)

            register("allocating_mixer", "channels", build, priority=100)

    register_plugin(AllocatingMixerPlugin(), "allocating-mixer")
    with pytest.raises(ExportCheckError) as caught:
        save_neutone_model(PassThroughWrapper(), tmp_path, skip_checks=all_but("no_allocations"))
    assert "'no_allocations' failed: tensors allocated per block at 48000 Hz / 512 / 2 ch outside the model" in str(caught.value)
    assert re.search(r"\(allocating_mixer \d+\); every buffer must be allocated in configure\(\)", str(caught.value))


def test_slower_than_realtime_is_a_warning_not_a_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import neutone_core.tools.checks.realtime as realtime

    slow = {"inverse_rtf": 0.5, "missed_deadlines": 100, "deadline_us": 10666.7, "cpu_missed_deadlines": 100,
            "time_per_block_us": {"median": 21333.0, "p99": 22000.0, "max": 23000.0},
            "cpu_time_per_block_us": {"median": 21000.0, "p99": 21900.0, "max": 22800.0}}
    monkeypatch.setattr(realtime, "bench_setting", lambda *args, **kwargs: slow)
    args = ["compose", f"{EXAMPLES}/clipper.py:ClipperModelWrapper", "-o", str(tmp_path)]
    for name in all_but("realtime"):
        args += ["--skip-check", name]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "check realtime: warning: slower than realtime: 1/RTF 0.5 at 48000 Hz / 512" in result.output
    assert "check delay_reported: skipped" in result.output
    assert (tmp_path / "model.nm").is_file()


@pytest.mark.parametrize(
    ("cpu_max_us", "late_on_wall_clock", "report"),
    [
        (90.0, 1, "1/RTF 90.0 at 48000 Hz / 512 (CPU time median 60 µs, max 90 µs per block of 10667 µs); "
                  "1 block late on the wall clock only (this machine was busy)"),
        (12000.0, 1, "warning: 1 of 100 blocks took longer than the block lasts: 1/RTF 90.0 at 48000 Hz / 512 "
                     "(CPU time median 60 µs, max 12000 µs per block of 10667 µs)"),
    ],
)
def test_a_block_late_only_on_a_busy_machine_is_not_held_against_the_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cpu_max_us: float, late_on_wall_clock: int, report: str
) -> None:
    import neutone_core.tools.checks.realtime as realtime

    timed = {"inverse_rtf": 90.0, "missed_deadlines": late_on_wall_clock, "deadline_us": 10666.7,
             "cpu_missed_deadlines": int(cpu_max_us > 10666.7),
             "time_per_block_us": {"median": 61.0, "p99": 95.0, "max": 24000.0},
             "cpu_time_per_block_us": {"median": 60.0, "p99": 80.0, "max": cpu_max_us}}
    monkeypatch.setattr(realtime, "bench_setting", lambda *args, **kwargs: timed)
    result = save_neutone_model(PassThroughWrapper(), tmp_path, skip_checks=all_but("realtime"))
    assert result.reports["realtime"] == report


def test_metadata_check_catches_getters_that_disagree_with_the_archive(clipper_export: ExportResult) -> None:
    model, stored = load_neutone_model(clipper_export.model_path)
    def context(stored_metadata: dict[str, Any]) -> ExportContext:
        return ExportContext(None, clipper_export.model_path, model, model, stored_metadata)  # type: ignore[arg-type]

    assert metadata.check(context(stored)).startswith("metadata valid")
    with pytest.raises(ExportCheckError, match="get_metadata_json\\(\\) differs"):
        metadata.check(context({**stored, "model_name": "other"}))
    with pytest.raises(ExportCheckError, match="breaks the Neutone limits: model_name: 31 characters"):
        metadata.check(context({**stored, "model_name": "x" * 31}))
