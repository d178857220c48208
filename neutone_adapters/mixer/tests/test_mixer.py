import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from neutone_core import StreamNeeds, compose, load_neutone_model, save_neutone_model
from neutone_core.plugins import get_registry
from neutone_core.stage import host_stream
from neutone_core.testing import PassThroughWrapper, check_adapter, count_allocations
from neutone_core.tools.host import active_stage_names, impulse_delay, stream

LAYOUTS = [(True, True), (True, False), (False, True), (False, False)]


def to_channels(audio: np.ndarray, channels: int) -> np.ndarray:
    """Average down or duplicate up to ``channels``, the documented mixing rule, in numpy."""
    if audio.shape[0] == channels:
        return audio
    if audio.shape[0] > channels:
        return audio.mean(axis=0, keepdims=True)
    return np.repeat(audio, channels, axis=0)


def numpy_reference(audio: np.ndarray, input_mono: bool, output_mono: bool) -> np.ndarray:
    """Host -> model input channels -> (pass-through) model output channels -> host."""
    model_in = to_channels(audio, 1 if input_mono else 2)
    model_out = to_channels(model_in, 1 if output_mono else 2)
    return to_channels(model_out, audio.shape[0])


@pytest.mark.parametrize(("input_mono", "output_mono"), LAYOUTS)
@pytest.mark.parametrize("host_channels", [1, 2])
def test_mixer_matches_numpy_reference(input_mono: bool, output_mono: bool, host_channels: int) -> None:
    model = compose(PassThroughWrapper(input_mono=input_mono, output_mono=output_mono)).scripted
    audio = torch.rand(host_channels, 3000, generator=torch.Generator().manual_seed(7)) * 2 - 1
    out = stream(model, audio, 48000, 256)
    expected = numpy_reference(audio.numpy(), input_mono, output_mono)
    assert out.shape == audio.shape
    np.testing.assert_allclose(out.numpy(), expected, rtol=0, atol=1e-7)


@pytest.mark.parametrize(("input_mono", "output_mono"), LAYOUTS)
@pytest.mark.parametrize("host_channels", [1, 2])
def test_mixer_is_active_only_when_layouts_differ(input_mono: bool, output_mono: bool, host_channels: int) -> None:
    model = compose(PassThroughWrapper(input_mono=input_mono, output_mono=output_mono)).scripted
    model.prepare(48000, 512, host_channels, 0, 0)
    model_channels = {1 if input_mono else 2, 1 if output_mono else 2}
    assert ("mixer" in active_stage_names(model)) == (model_channels != {host_channels})
    assert model.calc_total_delay_samples() == 0
    assert impulse_delay(model, 48000, 512, host_channels, offset=17) == 0


@pytest.mark.parametrize(("input_mono", "output_mono"), LAYOUTS)
@pytest.mark.parametrize("host_channels", [1, 2])
def test_mixer_allocates_nothing_per_call(input_mono: bool, output_mono: bool, host_channels: int) -> None:
    model = compose(PassThroughWrapper(input_mono=input_mono, output_mono=output_mono)).scripted
    model.set_daw_sample_rate_and_buffer_size(48000, 512)
    x = torch.rand(host_channels, 512)
    params = torch.rand(4, 512)
    for _ in range(3):
        model(x, params)
    assert count_allocations(lambda: model(x, params)) == 0
    assert count_allocations(lambda: model(x[:, :100], None)) == 0


@settings(max_examples=25, deadline=None)
@given(
    blocks=st.lists(st.integers(1, 8192), min_size=1, max_size=6),
    sample_rate=st.integers(8000, 192000),
    layout=st.sampled_from(LAYOUTS),
    host_channels=st.sampled_from([1, 2]),
)
def test_output_does_not_depend_on_block_partition(
    blocks: list[int], sample_rate: int, layout: tuple, host_channels: int
) -> None:
    model = compose(PassThroughWrapper(input_mono=layout[0], output_mono=layout[1])).scripted
    audio = torch.rand(host_channels, 9000, generator=torch.Generator().manual_seed(len(blocks))) * 2 - 1
    whole = stream(model, audio, sample_rate, 9000)
    split = stream(model, audio, sample_rate, blocks, max_block_size=8192)
    assert torch.equal(whole, split)


@pytest.mark.parametrize(("input_mono", "output_mono"), LAYOUTS)
def test_mixer_meets_the_stage_contract(input_mono: bool, output_mono: bool) -> None:
    needs = StreamNeeds(1 if input_mono else 2, 1 if output_mono else 2)

    def reference(audio: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(numpy_reference(audio.numpy(), input_mono, output_mono))

    reports = check_adapter(
        get_registry().adapters["mixer"],
        needs,
        [host_stream(48000, 512, 2, 0, 0), host_stream(44100, 100, 1, 0, 0)],
        block_sequences=[[7, 100, 1]],
        reference=reference,
        tolerance=1e-7,
    )
    assert [r.delay_samples for r in reports] == [0, 0]


def test_mixer_is_in_the_exported_plan(tmp_path) -> None:
    module, _ = load_neutone_model(save_neutone_model(PassThroughWrapper(input_mono=True), tmp_path).model_path)
    assert module.get_stage_names() == ["mixer", "model"]
