import json
import warnings
from pathlib import Path
from typing import Callable, Dict

import pytest
import torch
from torch import Tensor

from neutone_core import (
    ExportCheckError,
    ModelFileError,
    ModelRuntimeError,
    ScriptingError,
    compose,
    load_neutone_model,
    save_neutone_model,
)
from neutone_core.testing import PassThroughWrapper
from neutone_core.tools.host import stream
from neutone_core.tools.sources import load_wrapper_from_file

EXAMPLES = Path(__file__).parents[1] / "examples"
EXAMPLE_SOURCES = [
    "clipper.py:ClipperModelWrapper",
    "passthrough.py:PassThroughModelWrapper",
    "mono_overdrive.py:MonoOverdriveWrapper",
]


def test_export_writes_model_and_metadata(tmp_path: Path, clipper_wrapper) -> None:
    result = save_neutone_model(clipper_wrapper, tmp_path / "out")
    assert result.model_path == tmp_path / "out" / "model.nm"
    on_disk = json.loads((tmp_path / "out" / "metadata.json").read_text())
    module, inside = load_neutone_model(result.model_path)
    assert inside == on_disk == result.metadata
    assert len(inside["sample_sound_files"]) == 3
    assert json.loads(module.get_metadata_json()) == {k: v for k, v in inside.items() if k != "sample_sound_files"}
    assert [p.spec.name for p in result.plan] == ["mixer"]
    assert result.reports["reload_identical"].startswith("reloaded file bit-identical")
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".model-")]


def test_every_host_method_is_callable_with_the_contract_types(tmp_path: Path, clipper_wrapper) -> None:
    module, _ = load_neutone_model(save_neutone_model(clipper_wrapper, tmp_path).model_path)
    assert module.set_daw_sample_rate_and_buffer_size(44100, 256) == 256
    assert module.set_daw_sample_rate_and_buffer_size(48000, 512, None, None) == 512
    x = torch.rand(2, 512) * 2 - 1
    params = torch.rand(4, 512)
    assert module.forward(x, params).shape == (2, 512)
    assert module(x[:1], None).shape == (1, 512)
    bt = module.forward_bt(x, params)
    assert bt is not None and bt.shape == (2, 512)
    assert module.forward_offline(torch.rand(2, 1500), torch.rand(4, 1500)).shape == (2, 1500)
    module.reset()
    assert module.is_resampling() is False
    assert module.calc_buffering_delay_samples() == 0
    assert module.calc_model_delay_samples() == 0
    assert module.calc_total_delay_samples() == 0
    assert module.is_input_mono() is False and module.is_output_mono() is False
    assert module.get_native_sample_rates() == [] and module.get_native_buffer_sizes() == []
    assert "forward_bt" in module.get_preserved_attributes()
    metadata = module.to_metadata()
    assert metadata["model_name"] == "clipper" and metadata["is_experimental"] is False
    assert metadata["native_sample_rates"] == [] and isinstance(metadata["date_created"], float)
    assert metadata["neutone_parameters"]["p1"]["type"] == "continuous"
    assert isinstance(module.get_metadata_json(), str)
    assert module.get_wet_default_value() == 1.0 and module.get_dry_default_value() == 0.0
    assert module.get_input_gain_default_value() == 0.5 and module.get_output_gain_default_value() == 0.5
    assert torch.equal(module.get_default_param_values(), torch.tensor([[0.5], [1.0], [1.0], [0.0]]))
    assert module.get_underrun_count() == 0
    assert module.get_stage_names() == ["mixer", "model"]


@pytest.mark.parametrize("source", EXAMPLE_SOURCES)
@pytest.mark.parametrize("n_channels", [1, 2])
def test_exported_examples_equal_the_in_memory_graph_exactly(tmp_path: Path, source: str, n_channels: int) -> None:
    wrapper = load_wrapper_from_file(str(EXAMPLES / source))
    composed = compose(wrapper)
    module, _ = load_neutone_model(save_neutone_model(wrapper, tmp_path).model_path)
    generator = torch.Generator().manual_seed(3)
    audio = torch.rand(n_channels, 5000, generator=generator) * 2 - 1
    params = torch.rand(4, 5000, generator=generator)
    for block_size in (64, 333):
        expected = stream(composed.graph, audio, 44100, block_size, params)
        assert torch.equal(stream(module, audio, 44100, block_size, params), expected)
        assert torch.equal(stream(composed.scripted, audio, 44100, block_size, params), expected)


def test_clipper_clips_with_its_knobs(tmp_path: Path, clipper_wrapper) -> None:
    module, _ = load_neutone_model(save_neutone_model(clipper_wrapper, tmp_path).model_path)
    audio = torch.linspace(-2, 2, 1024).repeat(2, 1)
    params = torch.tensor([[0.25], [0.5], [1.0], [0.0]]).expand(4, 1024)
    out = stream(module, audio, 48000, 256, params)
    assert torch.allclose(out, audio.clamp(-0.25, 0.5))


def test_mono_model_in_stereo_host_averages_in_and_duplicates_out(tmp_path: Path) -> None:
    wrapper = load_wrapper_from_file(str(EXAMPLES / "mono_overdrive.py:MonoOverdriveWrapper"))
    module, _ = load_neutone_model(save_neutone_model(wrapper, tmp_path).model_path)
    audio = torch.stack([torch.linspace(-1, 1, 512), torch.zeros(512)])
    params = torch.tensor([[0.0], [1.0], [0.0], [0.0]]).expand(4, 512)
    out = stream(module, audio, 48000, 512, params)
    expected = torch.tanh(audio.mean(0, keepdim=True))
    assert torch.allclose(out[0:1], expected, atol=1e-6) and torch.equal(out[0], out[1])


def test_non_finite_input_is_silenced_before_the_model(tmp_path: Path) -> None:
    module, _ = load_neutone_model(save_neutone_model(PassThroughWrapper(), tmp_path).model_path)
    module.set_daw_sample_rate_and_buffer_size(48000, 4)
    x = torch.tensor([[float("nan"), 1.0, float("inf"), -float("inf")], [0.5, float("nan"), 0.25, 0.0]])
    out = module(x, torch.full((4, 4), float("nan")))
    assert torch.equal(out, torch.tensor([[0.0, 1.0, 0.0, 0.0], [0.5, 0.0, 0.25, 0.0]]))


def test_blocks_longer_than_announced_are_processed_in_pieces(tmp_path: Path, clipper_wrapper) -> None:
    module, _ = load_neutone_model(save_neutone_model(clipper_wrapper, tmp_path).model_path)
    module.set_daw_sample_rate_and_buffer_size(48000, 100)
    x = torch.rand(2, 1000) * 4 - 2
    assert torch.allclose(module(x, None), x.clamp(-0.5, 1.0))


def test_wrong_block_shapes_raise_a_clear_error(tmp_path: Path) -> None:
    module, _ = load_neutone_model(save_neutone_model(PassThroughWrapper(), tmp_path).model_path)
    module.set_daw_sample_rate_and_buffer_size(48000, 64)
    with pytest.raises(Exception, match=r"expected \(1 or 2 channels, samples\)"):
        module(torch.zeros(3, 64), None)
    with pytest.raises(Exception, match=r"expected \(4, 64\) to match the audio block"):
        module(torch.zeros(2, 64), torch.zeros(3, 64))


def test_unscriptable_wrapper_error_names_method_and_line(tmp_path: Path) -> None:
    class Unscriptable(PassThroughWrapper):
        def do_forward_pass(self, x: Tensor, params: Dict[str, Tensor]) -> Tensor:
            return torch.tensor(x.numpy() * 2)

    with pytest.raises(ScriptingError) as info:
        save_neutone_model(Unscriptable(), tmp_path)
    message = str(info.value)
    assert "in Unscriptable.do_forward_pass (" in message
    assert "test_export.py, line" in message
    assert "numpy" in message
    assert not (tmp_path / "model.nm").exists()


def test_sdk_readme_default_none_gets_its_own_fix(tmp_path: Path) -> None:
    class DefaultNone(PassThroughWrapper):
        def do_forward_pass(self, x: Tensor, params: Dict[str, Tensor] = None) -> Tensor:  # type: ignore[assignment]
            return x

    with pytest.raises(ScriptingError) as info:
        save_neutone_model(DefaultNone(), tmp_path)
    assert "in DefaultNone.do_forward_pass (" in str(info.value)
    assert str(info.value).endswith("Fix: remove the `= None` default (the Neutone SDK README's first example has one): "
                                    "the graph always passes params, so write `params: Dict[str, Tensor]`.")


def test_model_returning_the_wrong_shape_is_named(tmp_path: Path) -> None:
    class WrongShape(PassThroughWrapper):
        def do_forward_pass(self, x: Tensor, params: Dict[str, Tensor]) -> Tensor:
            return x[:, :-1]

    with pytest.raises(ModelRuntimeError) as info:
        stream(compose(WrongShape()).scripted, torch.zeros(2, 512), 48000, 512)
    message = str(info.value)
    assert "\n" not in message, "one line, no TorchScript traceback"
    assert message.startswith("the model raised while being configured for 48000 Hz / 512 samples / stereo")
    assert "do_forward_pass returned shape [2, 511] for an input of shape [2, 512], expected [2, 512]" in message


def test_loading_a_file_that_is_not_an_archive_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "model.nm"
    path.write_bytes(b"not a zip at all")
    with pytest.raises(ModelFileError, match="not a TorchScript archive .*export it again"):
        load_neutone_model(path)
    with pytest.raises(ModelFileError, match="no such file"):
        load_neutone_model(tmp_path / "missing.nm")


def test_truncated_model_is_one_clear_error(tmp_path: Path, clipper_wrapper) -> None:
    path = save_neutone_model(clipper_wrapper, tmp_path).model_path
    path.write_bytes(path.read_bytes()[:2000])
    with pytest.raises(ModelFileError, match="not a TorchScript archive"):
        load_neutone_model(path)


def test_torchscript_archive_without_metadata_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "plain.nm"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.save(torch.jit.script(torch.nn.Identity()), str(path))
    with pytest.raises(ModelFileError, match="without metadata.json; it was not exported by neutone"):
        load_neutone_model(path)


def test_a_failing_check_stops_export_and_keeps_the_previous_file(tmp_path: Path, clipper_wrapper, register_plugin) -> None:
    from neutone_core.hookspecs import hookimpl

    first = save_neutone_model(clipper_wrapper, tmp_path)
    before = first.model_path.read_bytes()

    class FailingCheck:
        @staticmethod
        @hookimpl
        def register_checks(register: Callable[..., None]) -> None:
            def always_fails(context: object) -> str:
                raise ExportCheckError("the output is too loud")

            register("too_loud", always_fails, "fails on purpose")

    register_plugin(FailingCheck(), "failing-check")
    with pytest.raises(ExportCheckError, match="export check 'too_loud' failed: the output is too loud"):
        save_neutone_model(clipper_wrapper, tmp_path)
    assert first.model_path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metadata.json", "model.nm"]
    result = save_neutone_model(clipper_wrapper, tmp_path, skip_checks={"too_loud"})
    assert result.reports["too_loud"] == "skipped"
    with pytest.raises(ExportCheckError, match="cannot skip unknown checks"):
        save_neutone_model(clipper_wrapper, tmp_path, skip_checks={"nope"})


def test_a_file_named_with_dashes_exports_and_loads(tmp_path: Path) -> None:
    source = (EXAMPLES / "passthrough.py").read_text()
    (tmp_path / "example_overdrive-random.py").write_text(source)
    wrapper = load_wrapper_from_file(f"{tmp_path}/example_overdrive-random.py:PassThroughModelWrapper")
    result = save_neutone_model(wrapper, tmp_path / "out", skip_checks={"sample_sounds"})
    assert load_neutone_model(result.model_path)[1]["model_name"]


def test_a_class_from_a_module_named_with_dashes_is_refused_before_saving(tmp_path: Path) -> None:
    class Dashed(PassThroughWrapper):
        pass

    Dashed.__module__ = "my-models.wrappers"
    with pytest.raises(ScriptingError, match=r"Dashed \(module 'my-models.wrappers'\) would be saved under a module name"):
        save_neutone_model(Dashed(), tmp_path)
