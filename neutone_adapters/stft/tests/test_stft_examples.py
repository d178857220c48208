"""The spectral examples: exported with every check on, rendered, their delays measured."""

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from neutone_adapters.stft.tests.stft_helpers import snr_db
from neutone_core import load_neutone_model, save_neutone_model
from neutone_core.export import ExportResult
from neutone_core.plugins import get_registry
from neutone_core.tools.host import impulse_delay
from neutone_core.tools.render import render
from neutone_core.tools.sources import load_wrapper_from_file

EXAMPLES = Path(__file__).parents[3] / "examples"
RATE = 48000


@pytest.fixture(scope="module")
def passthrough_export(tmp_path_factory: pytest.TempPathFactory) -> ExportResult:
    wrapper = load_wrapper_from_file(f"{EXAMPLES}/spectral_passthrough.py:SpectralPassThroughWrapper")
    return save_neutone_model(wrapper, tmp_path_factory.mktemp("spectral-passthrough"))


@pytest.fixture(scope="module")
def gate_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The gate exported as its script does, in a real process (every check on)."""
    out = tmp_path_factory.mktemp("spectral-gate")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}  # one thread (see conftest.py)
    done = subprocess.run([sys.executable, str(EXAMPLES / "spectral_gate.py"), str(out)], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    return out / "model.nm"


def test_the_pass_through_passes_every_check_with_its_delay_measured(passthrough_export: ExportResult) -> None:
    reports = passthrough_export.reports
    assert set(reports) == set(get_registry().checks) and "skipped" not in reports.values()
    assert reports["delay_reported"].startswith("measured delay equals reported at ")
    assert reports["no_allocations"].startswith("no allocation per block in the root and adapters beyond torch.fft's own")
    assert [p.spec.name for p in passthrough_export.plan] == ["mixer", "fifo", "stft"]


@pytest.mark.parametrize("host_block,delay", [(512, 2047 - 512), (1000, 2047 - 8), (64, 2047 - 64)])
def test_the_pass_through_renders_its_input_delayed(passthrough_export: ExportResult, host_block: int, delay: int) -> None:
    model, _ = load_neutone_model(passthrough_export.model_path)
    audio = (torch.rand(2, 64 * 1000, generator=torch.Generator().manual_seed(1)) - 0.5) * 1.6
    assert impulse_delay(model, RATE, host_block, 2, offset=host_block // 2 + 1) == delay
    out = render(model, audio, RATE, host_block, compensate_delay=True)
    assert model.calc_total_delay_samples() == delay
    whole = slice(0, audio.size(1) - host_block)  # the last block is cut short: the fixed FIFO underruns there
    assert snr_db(audio[:, whole], out[:, whole]) >= 130.0 and float((out - audio)[:, whole].abs().max()) <= 1e-5


def tone_and_noise(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    t = torch.arange(n) / RATE
    tone = (0.5 * torch.sin(2 * math.pi * 1000.0 * t)).expand(2, n).clone()
    noise = 1e-3 * torch.randn(2, n, generator=torch.Generator().manual_seed(2))
    return tone, noise


def gate_knobs(n: int, threshold_db: float, reduction: float) -> torch.Tensor:
    knobs = torch.zeros(4, n)
    knobs[0] = (threshold_db + 100.0) / 100.0  # -100..0 dB
    knobs[1] = reduction
    return knobs


def test_the_gate_removes_the_noise_under_the_threshold_and_keeps_the_tone(gate_file: Path) -> None:
    model, metadata = load_neutone_model(gate_file)
    assert [p["name"] for p in metadata["neutone_parameters"].values()][:2] == ["threshold", "reduction"]
    tone, noise = tone_and_noise(RATE)
    knobs = gate_knobs(RATE, -40.0, 1.0)
    out = render(model, tone + noise, RATE, 512, params=knobs, compensate_delay=True)
    gated_tone = render(model, tone, RATE, 512, params=knobs, compensate_delay=True)
    settled = slice(4096, RATE - 4096)

    def energy(signal: torch.Tensor) -> float:
        return float(signal[:, settled].pow(2).sum())

    residual_db = 10 * math.log10(energy(out - gated_tone) / energy(noise))
    assert residual_db <= -15.0, f"the noise is only {residual_db:.1f} dB down"
    assert abs(10 * math.log10(energy(out) / energy(tone))) <= 0.1


def test_the_gate_at_no_reduction_is_its_input_delayed(gate_file: Path) -> None:
    model, _ = load_neutone_model(gate_file)
    tone, noise = tone_and_noise(RATE // 2)
    audio = tone + noise
    out = render(model, audio, RATE, 256, params=gate_knobs(audio.size(1), -40.0, 0.0), compensate_delay=True)
    assert model.calc_total_delay_samples() == 2047 - 256
    whole = slice(0, audio.size(1) - 256)
    assert snr_db(audio[:, whole], out[:, whole]) >= 130.0 and float((out - audio)[:, whole].abs().max()) <= 1e-5
    impulse = torch.zeros(2, 8192)
    impulse[:, 300] = 1.0
    response = render(model, impulse, RATE, 256, params=gate_knobs(8192, -40.0, 0.0))
    assert int(response.abs().sum(0).argmax()) - 300 == model.calc_total_delay_samples()
