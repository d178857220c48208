"""The resampler stage inside exported graphs: delay, partition independence, knobs,
allocations, activity, native-rate choice, options and TorchScript files."""

import numpy as np
import pytest
import torch

from neutone_adapters.resample.plugin import build_resampler
from neutone_adapters.resample.stage import choose_native_rate
from neutone_core import PlanError, StreamNeeds, compose, load_neutone_model, save_neutone_model
from neutone_core.plugins import get_registry
from neutone_core.stage import host_stream
from neutone_core.testing import PassThroughWrapper, check_adapter, count_allocations, eager_graph
from neutone_core.tools.host import impulse_delay, stream

from .resample_helpers import KnobToAudioWrapper, RecordingWrapper, TanhWrapper, composed, round_trip_bound, rounding_bound

HOST_RATES = [44100, 48000, 88200, 96000, 22050, 8000, 192000]
BLOCK_SIZES = [32, 333, 512, 4096]


def stage_of(model: torch.jit.ScriptModule) -> torch.jit.ScriptModule:
    return model.host.chain.inner


@pytest.mark.parametrize("host_rate", HOST_RATES)
@pytest.mark.parametrize("block_size", BLOCK_SIZES)
def test_impulse_comes_out_at_the_reported_delay(host_rate: int, block_size: int) -> None:
    """Any block size, model declaring (and applying) a 5-sample delay at 44.1 kHz."""
    model = composed((44100,), (), 5)
    measured = impulse_delay(model, host_rate, block_size, offset=17)
    assert measured == model.calc_total_delay_samples()
    assert stage_of(model).is_active() == (host_rate != 44100)


@pytest.mark.parametrize("host_rate", HOST_RATES)
@pytest.mark.parametrize("block_size", [64, 512, 1024])
def test_impulse_delay_with_a_fifo_and_model_delay(host_rate: int, block_size: int) -> None:
    """Native blocks of 256 behind the FIFO, model delay 3: the FIFO's delay (for the pattern
    the resampler promises) and the model's are converted to host samples exactly."""
    model = composed((44100,), (256,), 3)
    measured = impulse_delay(model, host_rate, block_size, offset=5)
    assert measured == model.calc_total_delay_samples()
    assert model.get_underrun_count() <= 1  # the driver's last block is cut short


def test_round_trip_latency_targets() -> None:
    """48 kHz host, 44.1 kHz model, any block size: high <= 256, low-latency <= 64 samples."""
    high = composed((44100,), (), 0, "high")
    low = composed((44100,), (), 0, "low-latency")
    assert impulse_delay(high, 48000, 512, offset=3) == high.calc_total_delay_samples() <= 256
    assert impulse_delay(low, 48000, 512, offset=3) == low.calc_total_delay_samples() <= 64


def test_output_does_not_depend_on_the_block_partition() -> None:
    model = composed((44100,), (), 0)
    rng = np.random.default_rng(3)
    x = torch.tensor(rng.uniform(-0.5, 0.5, (2, 30000)), dtype=torch.float32)
    aligned = []
    for sizes, announced in ((64, None), (512, None), (4096, None), ([int(s) for s in rng.integers(1, 512, 400)], 512)):
        y = stream(model, x, 48000, sizes, max_block_size=announced)
        delay = model.calc_total_delay_samples()
        aligned.append(y[:, delay:])
    length = min(a.size(1) for a in aligned)
    bound = round_trip_bound(stage_of(model).down.taps, stage_of(model).up.taps)
    for other in aligned[1:]:
        assert (other[:, :length] - aligned[0][:, :length]).abs().max().item() <= bound


@pytest.mark.parametrize("step_at", [4800, 4801, 4805, 4811])
def test_knobs_follow_the_audio(step_at: int) -> None:
    """A knob step, turned into audio by the model, comes out where an audio step would:
    its midpoint within 1.1 host samples of ``step_at + delay`` (nearest-sample hold at the
    model rate: half a host sample plus one model sample at most)."""
    n = 12000
    params = torch.zeros(4, n)
    params[0] = 0.3 + 0.4 * (torch.arange(n) >= step_at).float()
    knob_model = compose(KnobToAudioWrapper(native_sample_rates=[44100])).scripted
    out = stream(knob_model, torch.zeros(2, n), 48000, 333, params)[0].numpy()
    delay = knob_model.calc_total_delay_samples()
    above = int(np.argmax(out > 0.5))
    crossing = above - 1 + (0.5 - out[above - 1]) / (out[above] - out[above - 1])
    assert abs(crossing - (step_at + delay)) <= 1.1


def test_model_hears_the_same_samples_whatever_the_host_block_size() -> None:
    """The model grid is fixed: behind the FIFO the model gets the same blocks for host buffer
    sizes 64, 512 and 4096 (to float32 rounding: the down filter's products take other shapes;
    only the output's up-filter phase follows the FIFO delay)."""
    heard: dict[int, list[torch.Tensor]] = {}
    for block_size in (64, 512, 4096):
        wrapper = RecordingWrapper([44100], [256])
        graph = eager_graph(wrapper)
        x = torch.rand(2, 20000, generator=torch.Generator().manual_seed(0)) * 2 - 1
        stream(graph, x, 48000, block_size)
        heard[block_size] = wrapper.blocks
        bound = rounding_bound(graph.host.chain.inner.down.taps)
    count = min(len(blocks) for blocks in heard.values())
    assert count > 50
    for blocks in heard.values():
        assert all((a - b).abs().max().item() <= bound for a, b in zip(blocks[:count], heard[64][:count], strict=True))


def test_model_output_nan_does_not_stick() -> None:
    """A model that once returns NaN: the resampler's history holds 0 instead, later output is finite."""
    model = composed((44100,), (), 0)
    model.prepare(48000, 512, 2, 0, 0)
    stage = stage_of(model)
    with torch.inference_mode():
        stage.up.push(torch.full((2, 10), float("nan")))
        for _ in range(4):
            y = model(torch.randn(2, 512))
    assert torch.isfinite(y).all()


@pytest.mark.parametrize(
    ("host_rate", "native_sizes"), [(48000, ()), (96000, ()), (48000, (512,)), (22050, (256,)), (47999, ()), (44101, (256,))]
)
def test_no_allocation_per_call(host_rate: int, native_sizes: tuple[int, ...]) -> None:
    model = composed((44100,), native_sizes, 0)
    model.prepare(host_rate, 512, 2, 0, 0)
    x = torch.randn(2, 512)
    with torch.inference_mode():
        for _ in range(20):
            model(x)
        assert count_allocations(lambda: model(x), repeats=20) == 0


def test_inactive_when_the_host_runs_at_the_native_rate() -> None:
    model = composed((16000, 44100), (), 4)
    model.prepare(44100, 256, 2, 0, 0)
    stage = stage_of(model)
    assert not stage.is_active()
    assert model.calc_total_delay_samples() == 4
    assert "inactive" in stage.describe()
    x = torch.randn(2, 2048)
    y = stream(model, x, 44100, 256)
    assert torch.equal(y[:, 4:], x[:, :-4])


def test_native_rate_choice() -> None:
    assert choose_native_rate(48000, [16000, 48000], 0) == 48000
    assert choose_native_rate(44100, [16000, 24000, 48000, 96000], 0) == 48000
    assert choose_native_rate(48000, [16000, 24000], 0) == 24000
    assert choose_native_rate(8000, [16000, 24000], 0) == 16000
    assert choose_native_rate(48000, [16000, 24000], 16000) == 16000
    with pytest.raises(ValueError, match="22050 Hz is not a native rate"):
        choose_native_rate(48000, [16000, 24000], 22050)


def test_model_hears_its_exact_rate() -> None:
    """Blocks at the model vary (470 or 471 for 512 host samples) and add up to exactly
    44100 per 48000 host samples."""
    model = composed((16000, 24000, 44100), (), 0)
    model.set_daw_sample_rate_and_buffer_size(48000, 512, 44100)
    assert model.get_model_sample_rate() == 44100
    stage = stage_of(model)
    with torch.inference_mode():
        for _ in range(375):
            model(torch.zeros(2, 512))
    assert stage.down.outputs_done == 375 * 512 * 44100 // 48000


def test_quality_option_is_validated() -> None:
    wrapper = PassThroughWrapper(native_sample_rates=[44100])
    needs = wrapper.neutone_stream_needs()
    inner = wrapper.neutone_model_stage()
    with pytest.raises(PlanError, match=r"resample\.quality='best'.*accepted values: high, low-latency"):
        build_resampler(needs, inner, {"quality": "best"})
    with pytest.raises(PlanError, match="has no option"):
        compose(PassThroughWrapper(native_sample_rates=[44100]), adapter_options={"resample": {"speed": "1"}})
    assert build_resampler(needs, inner, {"quality": "low-latency"}).quality_name == "low-latency"


def test_export_passes_the_core_checks_and_file_matches_graph(tmp_path) -> None:
    """A nonlinear model behind the FIFO: save_neutone_model runs every core check (delay grid,
    block partition, allocations, reload), and the file streams like the in-memory graph."""
    save_neutone_model(TanhWrapper([24000], [256]), tmp_path, adapter_options={"resample": {"quality": "low-latency"}})
    loaded, metadata = load_neutone_model(tmp_path / "model.nm")
    graph = compose(TanhWrapper([24000], [256]), adapter_options={"resample": {"quality": "low-latency"}}).graph
    x = torch.randn(2, 5000)
    assert torch.allclose(stream(loaded, x, 96000, 300), stream(graph, x, 96000, 300), atol=1e-6)
    assert "low-latency" in loaded.host.chain.inner.describe()


def test_coprime_rates() -> None:
    """A host at 47999 Hz (coprime with 44100): exact delay, exact rate."""
    model = composed((44100,), (), 0)
    assert impulse_delay(model, 47999, 256, offset=9) == model.calc_total_delay_samples()


def held_bytes(module: torch.nn.Module) -> tuple[int, int]:
    """Bytes of the distinct storages behind a module's buffers and tensor attributes (lists and
    dicts of views included), and how many tensor objects refer to them."""
    storages: dict[int, int] = {}
    count = 0

    def visit(value: object) -> None:
        nonlocal count
        if isinstance(value, torch.Tensor):
            count += 1
            storages[value.untyped_storage().data_ptr()] = value.untyped_storage().nbytes()
        elif isinstance(value, list | tuple):
            for item in value:
                visit(item)
        elif isinstance(value, dict):
            for item in value.values():
                visit(item)

    for submodule in module.modules():
        visit(list(submodule._buffers.values()))
        for name, value in vars(submodule).items():
            if not name.startswith("_"):
                visit(value)
    return sum(storages.values()), count


def test_a_configured_stage_is_small() -> None:
    """Host 48000 / 4096 around a 44.1 kHz model: both filters hold under 1.2 MB of buffers and a
    few hundred tensor objects (views of them included), whatever was streamed."""
    graph = compose(PassThroughWrapper(native_sample_rates=[44100])).graph
    stream(graph, torch.randn(2, 40000), 48000, 4096)
    stage = graph.host.chain.inner
    size, tensors = held_bytes(stage.down)
    up_size, up_tensors = held_bytes(stage.up)
    assert size + up_size < 1_200_000
    assert tensors + up_tensors < 400


def test_reconfiguring_the_same_rates_keeps_the_design() -> None:
    """A new host buffer size re-allocates buffers but keeps the filter tables (no redesign)."""
    model = composed((44100,), (), 0)
    model.prepare(48000, 512, 2, 0, 0)
    kernel = stage_of(model).down.periodic
    designed = kernel.matrix.data_ptr()
    model.prepare(48000, 4096, 2, 0, 0)
    assert kernel.matrix.data_ptr() == designed
    model.prepare(44100 * 2, 4096, 2, 0, 0)
    assert kernel.matrix.data_ptr() != designed


@pytest.mark.parametrize(
    ("needs", "streams"),
    [
        (StreamNeeds(2, 2, (44100,)), [host_stream(48000, 512, 2, 0, 0), host_stream(96000, 300, 2, 0, 0)]),
        (StreamNeeds(1, 1, (22050, 48000)), [host_stream(8000, 64, 1, 0, 0), host_stream(44101, 1000, 1, 0, 0)]),
    ],
)
def test_the_resampler_meets_the_stage_contract(needs: StreamNeeds, streams: list) -> None:
    """Round trip, impulse delay, reset, any partition (the model takes any block) and no
    allocation per call, through the conformance kit."""
    reports = check_adapter(get_registry().adapters["resample"], needs, streams, block_sequences=[[1, 37, 60]], tolerance=1e-5)
    assert all(report.allocations_per_call == 0 for report in reports)
