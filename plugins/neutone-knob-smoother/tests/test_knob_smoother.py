"""The knob smoother: a third-party adapter for a need the core does not know, end to end."""

from pathlib import Path

import numpy as np
import pytest
import scipy.signal
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from neutone_knob_smoother import KnobSmootherStage, smooth_knobs

from neutone_core import StreamNeeds, compose, load_neutone_model, save_neutone_model
from neutone_core.plugins import get_registry
from neutone_core.stage import host_stream
from neutone_core.testing import PassThroughWrapper, check_adapter
from neutone_core.tools.host import stream
from neutone_core.tools.sources import load_wrapper_from_file


def knob_echo() -> PassThroughWrapper:
    """The echo model of ``smoother_models.py``, imported as ``neutone compose`` imports files
    (this folder's name has a dash, no valid module name for classes saved in an archive)."""
    return load_wrapper_from_file(f"{Path(__file__).parent}/smoother_models.py:KnobEcho")


def lfilter_reference(knobs: np.ndarray, time_constant_ms: float, sample_rate: int) -> np.ndarray:
    """scipy's one-pole ``y[n] = c y[n-1] + (1-c) x[n]``, started at the first value."""
    c = np.exp(-1000.0 / (time_constant_ms * sample_rate))
    zi = c * knobs[:, :1]
    return scipy.signal.lfilter([1.0 - c], [1.0, -c], knobs, axis=1, zi=zi)[0]


def smoother(time_constant_ms: float) -> torch.jit.ScriptModule:
    inner = PassThroughWrapper().neutone_model_stage()
    return torch.jit.script(KnobSmootherStage(inner, time_constant_ms))


@settings(max_examples=30, deadline=None)
@given(
    sample_rate=st.integers(8000, 192000),
    time_constant_ms=st.floats(0.01, 200.0),
    blocks=st.lists(st.integers(1, 8192), min_size=1, max_size=5),
)
def test_streaming_equals_the_scipy_one_pole_over_any_partition(
    sample_rate: int, time_constant_ms: float, blocks: list[int]
) -> None:
    knobs = torch.rand(4, 12000, generator=torch.Generator().manual_seed(len(blocks)))
    stage = smoother(time_constant_ms)
    stage.configure(host_stream(sample_rate, max(blocks), 2, 0, 0))
    stage.reset()
    captured = []
    with torch.no_grad():
        start = 0
        index = 0
        while start < knobs.size(1):
            end = min(start + blocks[index % len(blocks)], knobs.size(1))
            # the pass-through model returns its input; the knobs are read back from the stage buffer
            stage(torch.zeros(2, end - start), knobs[:, start:end])
            captured.append(stage.smoothed[:, : end - start].clone())
            start, index = end, index + 1
    expected = lfilter_reference(knobs.double().numpy(), time_constant_ms, sample_rate)
    np.testing.assert_allclose(torch.cat(captured, 1).numpy(), expected, rtol=0, atol=2e-6)


def test_offline_form_matches_scipy() -> None:
    knobs = torch.rand(4, 3000)
    np.testing.assert_allclose(
        smooth_knobs(knobs, 3.0, 48000).numpy(), lfilter_reference(knobs.double().numpy(), 3.0, 48000), atol=1e-6
    )


def test_the_smoother_meets_the_stage_contract() -> None:
    needs = StreamNeeds(2, 2, extra={"knob_smoothing_ms": 20.0})
    reports = check_adapter(
        get_registry().adapters["knob-smoother"],
        needs,
        [host_stream(48000, 512, 2, 0, 0), host_stream(44100, 100, 2, 0, 0)],
        block_sequences=[[1, 100, 37]],
        reference=lambda x: x,
        tolerance=0.0,
    )
    assert [r.delay_samples for r in reports] == [0, 0]


def test_a_model_declaring_the_need_gets_it_nested_between_mixer_and_resampler(tmp_path) -> None:
    composed = compose(knob_echo())
    assert composed.graph.stage_names == ["mixer", "knob-smoother", "resample", "model"]
    reasons = {p.spec.name: p.reason for p in composed.plan}
    assert reasons["knob-smoother"] == "the model asks for knobs smoothed over 5.0 ms"
    result = save_neutone_model(knob_echo(), tmp_path, skip_checks={"sample_sounds"})
    module, _ = load_neutone_model(result.model_path)
    step = torch.zeros(4, 48000)
    step[:, 24000:] = 1.0
    out = stream(module, torch.zeros(1, 48000), 48000, 512, step)
    delay = module.calc_total_delay_samples()
    after = out[0, 24000 + delay : 24000 + delay + 2400]
    assert float(after[0]) < 0.05, "the knob step arrives smoothed, not at once"
    tau = int(0.005 * 48000)
    assert abs(float(after[tau]) - (1 - np.exp(-1))) < 0.05, "1 - 1/e after one time constant"
    assert float(out[0, -1]) == pytest.approx(1.0, abs=1e-4)


def test_the_need_reaches_nothing_when_no_model_asks() -> None:
    assert "knob-smoother" not in compose(PassThroughWrapper()).graph.stage_names


def test_a_non_positive_time_constant_is_refused() -> None:
    with pytest.raises(ValueError, match="knob_smoothing_ms=0.0: the time constant must be > 0 ms"):
        KnobSmootherStage(PassThroughWrapper().neutone_model_stage(), 0.0)
