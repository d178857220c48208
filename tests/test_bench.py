"""``neutone bench`` and ``neutone profile`` through CliRunner and a real subprocess."""

import json
import subprocess
import sys
from pathlib import Path
from typing import Dict

import pytest
import torch
from click.testing import CliRunner
from torch import Tensor

import neutone_core.tools.cli as cli_module
from neutone_core import compose, save_neutone_model
from neutone_core.testing import PassThroughWrapper
from neutone_core.tools.bench import SCHEMA, bench_setting
from neutone_core.tools.cli import cli
from neutone_core.tools.host import stream
from neutone_core.tools.profiling import profile_model
from neutone_core.tools.sources import load_wrapper_from_file

EXAMPLES = Path(__file__).parents[1] / "examples"
HELPERS = Path(__file__).parent / "host_tools_models.py"
QUICK_CHECKS = {"sample_sounds", "no_allocations", "realtime", "delay_reported", "block_partition"}


@pytest.fixture(scope="module")
def clipper_nm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    wrapper = load_wrapper_from_file(f"{EXAMPLES}/clipper.py:ClipperModelWrapper")
    return save_neutone_model(wrapper, tmp_path_factory.mktemp("clipper"), skip_checks=QUICK_CHECKS).model_path


@pytest.fixture(scope="module")
def delay_nm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    wrapper = load_wrapper_from_file(f"{HELPERS}:DelayWrapper")
    return save_neutone_model(wrapper, tmp_path_factory.mktemp("delay"), skip_checks=QUICK_CHECKS).model_path


def test_bench_json_schema(clipper_nm: Path) -> None:
    args = ["bench", str(clipper_nm), "--sr", "48000", "--sr", "44100", "--bs", "512", "--bs", "64", "--blocks", "20", "--json"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert list(report) == ["model", "model_name", "schema", "threads", "settings", "latency"]
    assert report["schema"] == SCHEMA and report["threads"] == 1 and report["model_name"] == "clipper"
    settings = [(s["sample_rate"], s["block_size"]) for s in report["settings"]]
    assert settings == [(48000, 512), (48000, 64), (44100, 512), (44100, 64)]
    setting = report["settings"][0]
    assert list(setting) == [
        "sample_rate", "block_size", "channels", "blocks", "deadline_us", "time_per_block_us", "inverse_rtf",
        "missed_deadlines", "cpu_time_per_block_us", "cpu_missed_deadlines", "allocations_per_block",
        "allocations_by_stage", "latency",
    ]
    for times in (setting["time_per_block_us"], setting["cpu_time_per_block_us"]):
        assert 0 < times["median"] <= times["p99"] <= times["max"]
    assert setting["deadline_us"] == pytest.approx(1e6 * 512 / 48000, abs=1e-3)
    assert setting["inverse_rtf"] > 1 and setting["blocks"] == 20 and setting["channels"] == 2
    # the clipper's own torch.clamp code allocates; the root and mixer do not
    assert set(setting["allocations_by_stage"]) == {"model"}
    assert setting["latency"] == {"buffering_samples": 0, "model_samples": 0, "total_samples": 0, "total_ms": 0.0}
    assert len(report["latency"]) == 4


def test_bench_names_each_setting_as_it_starts_on_a_terminal(clipper_nm: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli_module, "is_terminal", lambda stream: True)
    args = ["bench", str(clipper_nm), "--sr", "48000", "--sr", "44100", "--bs", "64", "--blocks", "10"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    steps = [step.removesuffix("...") for step in result.stderr.split("\r\x1b[K") if step]
    assert steps == ["bench 48000 Hz / 64 (1/2)", "bench 44100 Hz / 64 (2/2)"]
    assert result.stdout.startswith("clipper: stereo host")


def test_bench_table_sorts_latency_lowest_first(delay_nm: Path) -> None:
    args = ["bench", str(delay_nm), "--sr", "96000", "--sr", "44100", "--bs", "256", "--blocks", "10", "--mono", "--threads", "2"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == "delay: mono host, 2 thread(s), 10 blocks per setting"
    latency_rows = result.output.split("latency, lowest first:\n")[1].splitlines()[1:]
    assert [row.split()[0] for row in latency_rows] == ["96000", "44100"]
    assert latency_rows[0].split()[2:] == ["0", "64", "64", "0.67"]
    report = json.loads(CliRunner().invoke(cli, [*args, "--json"]).output)
    assert [row["total_ms"] for row in report["latency"]] == [0.667, 1.451]


def test_profile_groups_by_stage_and_operator(clipper_nm: Path) -> None:
    result = CliRunner().invoke(cli, ["profile", str(clipper_nm), "--mono", "--blocks", "10", "--top", "5"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("clipper at 48000 Hz / 512, mono host, 1 thread(s):")
    stages = [line.split()[0] for line in lines[2 : lines.index("by operator (top 5):")]]
    assert stages == ["root", "mixer", "model-stage", "model", "interpreter"]
    assert len(lines) == lines.index("by operator (top 5):") + 6
    report = json.loads(CliRunner().invoke(cli, ["profile", str(clipper_nm), "--blocks", "10", "--json"]).output)
    assert sum(row["share"] for row in report["by_stage"]) == pytest.approx(1.0)
    assert {"operator": "aten::clamp", "stage": "model"}.items() <= next(
        row for row in report["by_operator"] if row["operator"] == "aten::clamp"
    ).items()
    assert {row["stage"]: row["allocations_per_block"] for row in report["by_stage"]}["model"] > 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["bench", "{nm}", "--sr", "0"], "Error: Invalid value for '--sr': 0 is not in the range 1<=x<=768000."),
        (["bench", "{nm}", "--bs", "0"], "Error: Invalid value for '--bs': 0 is not in the range 1<=x<=65536."),
        (["profile", "{nm}", "--bs", "70000"], "Error: Invalid value for '--bs': 70000 is not in the range 1<=x<=65536."),
    ],
)
def test_a_host_setting_out_of_range_is_a_usage_error(clipper_nm: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, [a.format(nm=clipper_nm) for a in args])
    assert result.exit_code == 2
    assert result.output.strip().splitlines()[-1] == message, result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["bench", "{bad}"], "Error: {bad}: not a TorchScript archive"),
        (["profile", "{missing}"], "Error: {missing}: no such file"),
    ],
)
def test_a_bad_file_gives_one_clear_line(tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "bad.nm").write_text("hello")
    paths = {"bad": tmp_path / "bad.nm", "missing": tmp_path / "missing.nm"}
    result = CliRunner().invoke(cli, [a.format(**paths) for a in args])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(message.format(**paths)), result.output


def test_bench_json_from_a_real_subprocess(clipper_nm: Path) -> None:
    command = [sys.executable, "-m", "neutone_core", "bench", str(clipper_nm), "--sr", "48000", "--bs", "512", "--blocks", "10"]
    done = subprocess.run([*command, "--json"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["settings"][0]["allocations_by_stage"] == {"model": 4.0}
    assert done.stderr == ""


class StatefulWrapper(PassThroughWrapper):
    """Rebinds a state tensor in every forward, as recurrent models do."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("memory", torch.zeros(2, 1))

    def do_forward_pass(self, x: Tensor, params: Dict[str, Tensor]) -> Tensor:
        self.memory = x[:, -1:].clone()
        return x

    def reset_model(self) -> bool:
        self.memory.zero_()
        return True


def test_a_model_that_rebinds_its_state_can_be_reconfigured_after_bench_and_profile() -> None:
    model = compose(StatefulWrapper()).scripted
    bench_setting(model, 48000, 512, 2, blocks=20, warmup=5)
    assert model.prepare(44100, 256, 2, 0, 0) == 0
    profile_model(model, 48000, 512, 2, blocks=5, warmup=2)
    assert model.prepare(44100, 256, 2, 0, 0) == 0
    assert stream(model, torch.ones(2, 1024), 44100, 256).shape == (2, 1024)
