"""DESIGN's invariants on the whole composed graph: mixer, resampler and FIFO all active."""

from pathlib import Path

import pytest
import torch

from neutone_core import compose, load_neutone_model, save_neutone_model
from neutone_core.testing import PassThroughWrapper, count_allocations
from neutone_core.tools.host import active_stage_names, impulse_delay, stream

HOST_SETTINGS = [(48000, 512, 2), (44100, 100, 1), (96000, 4096, 2), (22050, 64, 1), (8000, 1, 2), (192000, 2048, 1)]


@pytest.fixture(scope="module")
def full_graph(tmp_path_factory: pytest.TempPathFactory) -> tuple[torch.jit.ScriptModule, torch.jit.ScriptModule]:
    """A mono model at 44.1 kHz in blocks of 1024 with 64 samples of look-behind: the scripted
    in-memory graph and the exported file, reloaded."""
    wrapper = PassThroughWrapper(
        input_mono=True, output_mono=True, native_sample_rates=[44100], native_buffer_sizes=[1024], look_behind_samples=64
    )
    composed = compose(wrapper)
    path = save_neutone_model(wrapper, tmp_path_factory.mktemp("full"), skip_checks={"sample_sounds"}).model_path
    return composed.scripted, load_neutone_model(path)[0]


@pytest.mark.parametrize(("sample_rate", "block_size", "n_channels"), HOST_SETTINGS)
def test_shape_delay_and_allocations(full_graph, sample_rate: int, block_size: int, n_channels: int) -> None:
    _, model = full_graph
    reported = model.prepare(sample_rate, block_size, n_channels, 0, 0)
    active = active_stage_names(model)
    assert ("resample" in active) == (sample_rate != 44100)
    assert "fifo" in active and ("mixer" in active) == (n_channels == 2)
    assert impulse_delay(model, sample_rate, block_size, n_channels, offset=5) == reported
    x = torch.rand(n_channels, block_size) * 2 - 1
    params = torch.rand(4, block_size)
    for _ in range(8):
        assert model(x, params).shape == x.shape
    assert count_allocations(lambda: model(x, params), repeats=4) == 0
    assert model.get_underrun_count() == 0


@pytest.mark.parametrize(("sample_rate", "block_size", "n_channels"), HOST_SETTINGS[:3])
def test_non_finite_input_never_enters_adapter_state(full_graph, sample_rate: int, block_size: int, n_channels: int) -> None:
    _, model = full_graph
    generator = torch.Generator().manual_seed(11)
    audio = torch.rand(n_channels, 6 * block_size + 4096, generator=generator) * 2 - 1
    poisoned = audio.clone()
    poisoned[:, 3:block_size:7] = float("nan")
    poisoned[:, 1] = float("inf")
    silenced = audio.clone()
    silenced[:, 3:block_size:7] = 0.0
    silenced[:, 1] = 0.0
    expected = stream(model, silenced, sample_rate, block_size)
    actual = stream(model, poisoned, sample_rate, block_size)
    assert torch.isfinite(actual).all()
    assert torch.equal(actual, expected)


def test_exported_file_behaves_exactly_like_the_in_memory_graph(full_graph) -> None:
    scripted, loaded = full_graph
    audio = torch.rand(2, 20000, generator=torch.Generator().manual_seed(5)) * 2 - 1
    params = torch.rand(4, 20000, generator=torch.Generator().manual_seed(6))
    for sample_rate, block_size, _ in HOST_SETTINGS[:3]:
        expected = stream(scripted, audio, sample_rate, block_size, params)
        assert torch.equal(stream(loaded, audio, sample_rate, block_size, params), expected)


def test_output_does_not_depend_on_block_partition_after_delay(full_graph) -> None:
    _, model = full_graph
    audio = torch.rand(1, 30000, generator=torch.Generator().manual_seed(9)) * 2 - 1
    outputs = []
    for block_size in (64, 512, 4096):
        delay = model.prepare(48000, block_size, 1, 0, 0)
        out = stream(model, audio, 48000, block_size, reset=False)
        outputs.append(out[:, delay : delay + 20000])
    for other in outputs[1:]:
        assert (other - outputs[0]).abs().max() <= 1e-5


def test_settings_change_at_run_time_without_re_export(tmp_path: Path) -> None:
    model = compose(PassThroughWrapper(native_sample_rates=[44100], native_buffer_sizes=[512])).scripted
    model.prepare(44100, 512, 2, 0, 0)
    assert active_stage_names(model) == ["model"]
    model.prepare(48000, 256, 1, 0, 0)
    assert active_stage_names(model) == ["mixer", "resample", "fifo", "model"]
