"""The STFT stage through the conformance kit (behind the FIFO that feeds it), channel layouts,
the bypass, the registration and the plan it makes with the other adapters."""

import math
from dataclasses import replace

import pytest
import torch
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from neutone_adapters.stft.tests.stft_helpers import IdentitySpectral, mono_magnitude_model_at_44100, snr_db
from neutone_core import MissingAdapterError, PlanError, StreamNeeds, compose
from neutone_core.planner import plan_adapters
from neutone_core.plugins import get_registry
from neutone_core.stage import Stream, host_stream
from neutone_core.testing import PassThroughWrapper, check_stage, eager_graph
from neutone_core.tools.cli import cli
from neutone_core.tools.host import configure, impulse_delay, stream

HELPERS = __file__.replace("test_stft_stage.py", "stft_helpers.py")


def fifo_and_stft(wrapper: IdentitySpectral, policy: str):
    """``build(inner)`` for the conformance kit: the registered FIFO around the registered STFT."""
    registry = get_registry()
    stft, fifo = registry.adapters["stft"], registry.adapters["fifo"]
    needs = wrapper.neutone_stream_needs()
    outer = stft.outer(needs, {})
    return lambda inner: fifo.factory(outer, stft.factory(needs, inner, {}), {"policy": policy}), needs


def streams(*settings: tuple[int, int]) -> list[Stream]:
    return [host_stream(rate, block, 2, 0, 0) for rate, block in settings]


@pytest.mark.parametrize(
    "representation,settings,delays",
    [("complex", [(48000, 512), (44100, 100), (48000, 1024)], [1023 - 256, 1023 - 4, 1023 - 256]),
     ("log-magnitude", [(44100, 1000)], [1023 - 8])],
)
def test_the_stage_meets_the_stage_contract(representation: str, settings: list, delays: list) -> None:
    wrapper = IdentitySpectral(1024, 256, "hann", representation)
    build, needs = fifo_and_stft(wrapper, "fixed")
    reports = check_stage(
        build,
        needs,
        streams(*settings),
        reference=lambda x: x,
        tolerance=1e-5,
        inner_stage=wrapper.neutone_model_stage(),
        signal_samples=8192,
    )
    assert [r.delay_samples for r in reports] == delays
    assert all(r.allocations_per_call == 0 and r.fft_allocations_per_call > 0 for r in reports)


def test_under_the_any_policy_every_partition_gives_the_same_output() -> None:
    wrapper = IdentitySpectral(512, 128, "sqrt-hann")
    build, needs = fifo_and_stft(wrapper, "any")
    [report] = check_stage(
        build,
        needs,
        streams((48000, 512)),
        block_sequences=[[1, 7, 300, 511, 128], [64], [500, 12]],
        reference=lambda x: x,
        tolerance=1e-5,
        inner_stage=wrapper.neutone_model_stage(),
    )
    assert report.delay_samples == 510 and report.partition_difference == 0.0


@pytest.mark.parametrize(
    "input_mono,output_mono,representation",
    [(True, False, "magnitude"), (True, True, "complex"), (False, True, "complex"), (True, False, "complex")],
)
def test_channel_layouts_reconstruct(input_mono: bool, output_mono: bool, representation: str) -> None:
    model = eager_graph(IdentitySpectral(1024, 256, "hann", representation, input_mono=input_mono, output_mono=output_mono))
    x = (torch.rand(2, 40 * 512, generator=torch.Generator().manual_seed(9)) - 0.5) * 1.6
    if input_mono:
        x[1] = x[0]
    y = stream(model, x, 48000, 512)
    delay = model.calc_total_delay_samples()
    expected = x.mean(0, keepdim=True).expand(2, -1) if output_mono and not input_mono else x
    assert snr_db(expected[:, :-delay], y[:, delay:]) >= 130.0


@pytest.mark.parametrize("output_mono", [True, False])
def test_the_bypass_passes_the_frames_and_keeps_the_adapters_delay(output_mono: bool) -> None:
    model = compose(IdentitySpectral(1024, 256, "hann", "complex", output_mono=output_mono)).scripted
    model.set_model_bypass(True)
    delay = model.prepare(48000, 1000, 2, 0, 0)
    assert delay == 1023 - 8 and model.calc_model_delay_samples() == 0
    assert impulse_delay(model, 48000, 1000, 2, offset=501) == delay


def test_the_plan_nests_the_stft_inside_the_fifo_resampler_and_mixer() -> None:
    wrapper = mono_magnitude_model_at_44100()
    plan = plan_adapters(wrapper.neutone_stream_needs(), get_registry())
    assert [p.spec.name for p in plan] == ["mixer", "resample", "fifo", "stft"]
    fifo_needs = plan[2].inner_needs
    assert fifo_needs.domain == "waveform" and "stft" not in fifo_needs.extra
    assert fifo_needs.native_buffer_sizes == (256, 512, 1024, 2048, 4096, 8192) and fifo_needs.look_behind_samples == 767
    assert list(compose(wrapper).scripted.get_stage_names()) == ["mixer", "resample", "fifo", "stft", "model"]


@pytest.fixture(scope="module")
def graphs_at_44100() -> tuple[torch.jit.ScriptModule, torch.jit.ScriptModule]:
    """The mono magnitude identity at 44.1 kHz, and a waveform pass-through asking the same of
    the adapters outside the STFT (what the STFT asks of them): the same mixer, resampler, FIFO."""
    wrapper = mono_magnitude_model_at_44100()
    outside = get_registry().adapters["stft"].outer(wrapper.neutone_stream_needs(), {})
    return compose(wrapper).scripted, compose(PassThroughWrapper.for_needs(outside)).scripted


@settings(max_examples=6, deadline=None)
@given(rate=st.integers(8000, 192000), block=st.one_of(st.integers(1, 8192), st.integers(1, 300)))
def test_inside_the_resampler_the_stft_is_the_waveform_identity_delayed(graphs_at_44100, rate: int, block: int) -> None:
    spectral, waveform = graphs_at_44100
    delay = configure(spectral, rate, block, 2)
    waveform_delay = configure(waveform, rate, block, 2)
    n = block * -(-(delay + 2048) // block)
    x = (torch.rand(2, n, generator=torch.Generator().manual_seed(block)) - 0.5) * 1.6
    y = stream(spectral, x, rate, block)
    reference = stream(waveform, x, rate, block)
    # the same resampling either side of an exact STFT round trip: y(t) = reference(t - shift),
    # silence before the shift, to float32 rounding of the peak
    shift = delay - waveform_delay
    peak = float(reference.abs().max())
    assert float((y[:, shift:] - reference[:, : n - shift]).abs().max()) <= 1e-6 * peak
    assert float(y[:, :shift].abs().max()) <= 1e-6 * peak
    assert impulse_delay(spectral, rate, block, 2, offset=block // 2 + 1) == delay


def test_compose_prints_the_plan_with_its_reasons(tmp_path) -> None:
    kept = ("metadata_valid",)
    skip = [arg for name in get_registry().checks if name not in kept for arg in ("--skip-check", name)]
    result = CliRunner().invoke(cli, ["compose", f"{HELPERS}:mono_magnitude_model_at_44100", "-o", str(tmp_path), *skip])
    assert result.exit_code == 0, result.output
    assert "plan: root -> mixer -> resample -> fifo -> stft -> model" in result.output
    assert "  stft: the model works on STFT frames (n_fft 1024, hop 256, sqrt-hann window, magnitude frames)" in result.output
    assert "  fifo: native buffer sizes [256, 512, 1024, 2048, 4096, 8192] samples, look-behind 767 samples" in result.output
    assert (tmp_path / "model.nm").exists()


def test_without_the_stft_adapter_the_error_names_its_distribution() -> None:
    registry = get_registry()
    without = replace(registry, adapters={k: v for k, v in registry.adapters.items() if k != "stft"})
    with pytest.raises(MissingAdapterError) as caught:
        plan_adapters(IdentitySpectral(1024, 256).neutone_stream_needs(), without)
    lines = str(caught.value).splitlines()[1:]
    assert len(lines) == 2 and all("neutone-adapter-stft" in line for line in lines)
    assert "n_fft 1024, hop 256, hann window, complex frames" in lines[1]


def test_a_spectrogram_record_without_its_stft_is_refused() -> None:
    needs = StreamNeeds(2, 2, domain="spectrogram")
    with pytest.raises(PlanError, match=r"must declare its STFT as extra\['stft'\] \(subclass neutone_adapters.stft"):
        plan_adapters(needs, get_registry())


def test_the_stage_describes_itself() -> None:
    model = compose(IdentitySpectral(2048, 512)).scripted
    model.prepare(48000, 1024, 2, 0, 0)
    stft = model.host.chain.inner.inner
    assert stft.describe() == (
        "stft: n_fft 2048, hop 512, hann window, complex frames, frames of 2047 samples, 2 per call, own delay 1535 samples"
    )
    assert stft.inner.describe() == "model: 48000 Hz, STFT frames, at most 2 per call"
    assert model.get_model_buffer_size() == 1024 and model.calc_total_delay_samples() == 2047 - math.gcd(1024, 512)
