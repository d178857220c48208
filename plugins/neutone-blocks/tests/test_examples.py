"""The examples export with every check on and stream through the exported file as a host would."""

from pathlib import Path

import pytest
import torch

from neutone_core import load_neutone_model, save_neutone_model
from neutone_core.tools.host import stream
from neutone_core.tools.sources import load_wrapper_from_file

EXAMPLES = Path(__file__).parent.parent / "examples"


def export(tmp_path: Path, spec: str) -> torch.jit.ScriptModule:
    result = save_neutone_model(load_wrapper_from_file(str(EXAMPLES / spec)), tmp_path)
    assert "skipped" not in result.reports.values()
    model, _ = load_neutone_model(result.model_path)
    return model


def noise(n_channels: int, n: int, seed: int = 0) -> torch.Tensor:
    return (torch.rand(n_channels, n, generator=torch.Generator().manual_seed(seed)) - 0.5) * 0.8


def knobs(values: list[float], n: int) -> torch.Tensor:
    return torch.tensor(values + [0.0] * (4 - len(values))).view(4, 1).expand(4, n).contiguous()


def test_clipper_with_prefilter(tmp_path: Path) -> None:
    model = export(tmp_path, "clipper_prefilter.py:ClipperPrefilterWrapper")
    audio = noise(2, 44100)
    out = stream(model, audio, 44100, 256, knobs([0.1, 0.05, 1.0], audio.size(1)))
    assert model.calc_total_delay_samples() == 128
    assert float(out.max()) <= 0.05 + 1e-6 and float(out.min()) >= -0.1 - 1e-6


def test_randomized_overdrive_tcn(tmp_path: Path) -> None:
    model = export(tmp_path, "overdrive_tcn.py:OverdriveTCNWrapper")
    audio = noise(2, 48000)
    out = stream(model, audio, 48000, [512, 100, 1000], knobs([1.0, 0.2, 0.5], audio.size(1)))
    assert torch.isfinite(out).all() and float(out.abs().max()) <= 0.5 * 1.1 * 1.01
    assert model.calc_total_delay_samples() == 0


def test_rave_like_codec_with_prefilter(tmp_path: Path) -> None:
    model = export(tmp_path, "rave_prefilter.py:FilteredRaveWrapper")
    audio = noise(1, 48000 * 2)
    identity = knobs([0.0, 0.5, 0.5], audio.size(1))  # scale 1, offset 0: the exact codec passes the band
    out = stream(model, audio, 48000, 512, identity)
    from neutone_blocks.filters import FilterType, FIRFilter

    with torch.no_grad():
        band = FIRFilter(FilterType.BANDPASS, [500.0, 4000.0])(audio)
    delay = model.calc_total_delay_samples()
    assert delay == 128 + 2048 - 512  # the prefilter, and the FIFO turning blocks of 512 into 2048
    lag = delay - 128  # the prefilter's own delay is already in `band`
    complete = audio.size(1) - 2048  # the last samples wait in the FIFO
    assert torch.allclose(out[:, lag:complete], band[:, : complete - lag], atol=1e-5)


def test_spectral_filter_in_model_stft(tmp_path: Path) -> None:
    model = export(tmp_path, "spectral_filter.py:SpectralFilterWrapper")
    audio = noise(2, 86 * 512)
    out = stream(model, audio, 44100, 512, knobs([0.5, 0.5, 0.0], audio.size(1)))  # depth 0: exact resynthesis
    delay = model.calc_total_delay_samples()
    assert delay == 2048 - 512
    assert torch.allclose(out[:, delay:], audio[:, :-delay], atol=1e-5)
    notched = stream(model, audio, 44100, 512, knobs([0.9, 1.0, 1.0], audio.size(1)))
    assert float(notched[:, delay:].pow(2).mean()) < 0.7 * float(audio.pow(2).mean())


@pytest.mark.parametrize("script", sorted(path.name for path in EXAMPLES.glob("*.py")))
def test_every_example_is_tested(script: str) -> None:
    assert script.removesuffix(".py") in Path(__file__).read_text()
