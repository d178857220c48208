"""What a fuzzing host found, each driven through a loaded model.nm as a host drives it."""

from pathlib import Path

import pytest
import torch

from neutone_core import load_neutone_model, save_neutone_model
from neutone_core.testing import PassThroughWrapper
from neutone_core.tools.host import stream
from neutone_core.tools.sources import load_wrapper_from_file

ROOT = Path(__file__).parents[1]
QUICK = {"sample_sounds", "delay_reported", "block_partition", "no_allocations", "realtime"}


def exported(tmp_path: Path, wrapper: object, **options: object) -> torch.jit.ScriptModule:
    return load_neutone_model(save_neutone_model(wrapper, tmp_path, skip_checks=QUICK, **options).model_path)[0]


def test_forward_offline_under_the_fixed_policy_keeps_the_end_of_the_signal(tmp_path: Path) -> None:
    module = exported(tmp_path, PassThroughWrapper(native_buffer_sizes=[2048]))
    module.set_daw_sample_rate_and_buffer_size(48000, 512)
    audio = torch.rand(2, 2148)
    with torch.no_grad():
        out = module.forward_offline(audio)
    assert torch.equal(out, audio), "the last 100 samples come back too"
    assert module.get_underrun_count() == 0


@pytest.mark.parametrize("native_sizes", [[], [1024]])
def test_a_zero_length_block_first_after_configure_or_reset(tmp_path: Path, native_sizes: list) -> None:
    module = exported(tmp_path, PassThroughWrapper(native_buffer_sizes=native_sizes, look_behind_samples=256))
    module.set_daw_sample_rate_and_buffer_size(48000, 256)
    audio = torch.rand(2, 256 * 12)
    with torch.no_grad():
        assert module(torch.zeros(2, 0)).shape == (2, 0)
        expected = stream(module, audio, 48000, 256, reset=False)
        module.reset()
        assert module(torch.zeros(2, 0), torch.zeros(4, 0)).shape == (2, 0)
        assert torch.equal(stream(module, audio, 48000, 256, reset=False), expected)


@pytest.mark.parametrize("arrangement", ["configure inside, process outside", "configure outside, process inside"])
def test_inference_mode_on_one_side_only(tmp_path: Path, arrangement: str) -> None:
    module = exported(tmp_path, PassThroughWrapper(native_sample_rates=[44100], native_buffer_sizes=[2048]))
    audio = torch.rand(2, 512 * 20)
    expected = stream(module, audio, 48000, 512)
    if arrangement.startswith("configure inside"):
        with torch.inference_mode():
            module.set_daw_sample_rate_and_buffer_size(48000, 512)
        out = torch.cat([module(block).clone() for block in audio.split(512, dim=1)], dim=1)
    else:
        module.set_daw_sample_rate_and_buffer_size(48000, 512)
        with torch.inference_mode():
            out = torch.cat([module(block).clone() for block in audio.split(512, dim=1)], dim=1)
    assert torch.equal(out, expected)


def test_knobs_outside_0_to_1_are_clamped(tmp_path: Path) -> None:
    overdrive = exported(tmp_path / "a", load_wrapper_from_file(f"{ROOT}/examples/mono_overdrive.py:MonoOverdriveWrapper"))
    clipper = exported(tmp_path / "b", load_wrapper_from_file(f"{ROOT}/examples/sdk_style/clipper.py:build"))
    silence = torch.zeros(2, 512)
    huge = torch.full((4, 512), 3e38)
    for module in (overdrive, clipper):
        out = stream(module, silence, 48000, 512, huge)
        assert bool(out.isfinite().all())
    clamped = stream(clipper, torch.full((2, 512), 0.9), 48000, 512, torch.full((4, 512), 7.0))
    at_one = stream(clipper, torch.full((2, 512), 0.9), 48000, 512, torch.ones(4, 512))
    assert torch.equal(clamped, at_one)
    nan_knobs = stream(clipper, torch.full((2, 512), 0.9), 48000, 512, torch.full((4, 512), float("nan")))
    assert torch.equal(nan_knobs, stream(clipper, torch.full((2, 512), 0.9), 48000, 512, torch.full((4, 512), 0.5)))


def test_float64_is_converted_and_integer_audio_is_refused_naming_float32(tmp_path: Path) -> None:
    module = exported(tmp_path, load_wrapper_from_file(f"{ROOT}/examples/clipper.py:ClipperModelWrapper"))
    module.set_daw_sample_rate_and_buffer_size(48000, 512)
    audio = torch.rand(2, 512, dtype=torch.float64) - 0.5
    knobs = torch.rand(4, 512, dtype=torch.float64)
    with torch.no_grad():
        converted = module(audio, knobs).clone()
        assert converted.dtype == torch.float32
        assert torch.equal(converted, module(audio.float(), knobs.float()))
        with pytest.raises(Exception, match=r"audio block of an integer dtype: the host contract is float32"):
            module(torch.zeros(2, 512, dtype=torch.int16))
        with pytest.raises(Exception, match=r"params of an integer dtype: the host contract is float32"):
            module(torch.zeros(2, 512), torch.zeros(4, 512, dtype=torch.int64))


def test_non_contiguous_blocks_are_read_as_any_other(tmp_path: Path) -> None:
    module = exported(tmp_path, PassThroughWrapper(input_mono=True, output_mono=True))
    module.set_daw_sample_rate_and_buffer_size(48000, 512)
    audio = torch.rand(512, 2).T
    with torch.no_grad():
        assert not audio.is_contiguous()
        assert torch.equal(module(audio), audio.mean(0, keepdim=True).expand(2, 512))


def test_the_graph_is_warmed_up_at_configure_time(tmp_path: Path) -> None:
    module = exported(tmp_path, PassThroughWrapper(native_sample_rates=[44100], native_buffer_sizes=[2048]))
    module.set_daw_sample_rate_and_buffer_size(48000, 64)
    assert module.host.model_calls() >= 2, "the chain ran until the model had run twice, on silence"
    with torch.no_grad():
        assert torch.equal(module(torch.zeros(2, 64)), torch.zeros(2, 64)), "and was reset after"


def test_load_neutone_model_accepts_the_export_folder(tmp_path: Path) -> None:
    save_neutone_model(PassThroughWrapper(), tmp_path, skip_checks=QUICK)
    module, metadata = load_neutone_model(tmp_path)
    assert metadata["model_name"] == "pass-through"
    from neutone_core import ModelFileError

    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelFileError, match="is a folder without model.nm; pass the model file"):
        load_neutone_model(tmp_path / "empty")
