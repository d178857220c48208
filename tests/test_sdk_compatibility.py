"""Code written for the Neutone SDK exports unchanged (but for the import line) and behaves.

The SDK-style examples in ``examples/sdk_style`` exercise what the SDK's own examples do:
knob tensors modified in place, state without ``reset_model``, random noise scaled by a
knob, a RAVE-like TorchScript codec, a delay line, a prefilter, knobs in their own ranges and
a categorical knob. Each exports with every check on and streams as hosts do; its
``metadata.json`` validates against the JSON schema published in neutone-sdk 1.5.2.
"""

import ast
import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List

import jsonschema
import pytest
import torch
from torch import Tensor, nn

from neutone_core import (
    ContinuousNeutoneParameter,
    ExportOptionsError,
    FamilyError,
    MetadataError,
    NeutoneParameter,
    Parameter,
    ParameterError,
    TextNeutoneParameter,
    WaveformToWaveformBase,
    load_neutone_model,
    save_neutone_model,
)
from neutone_core.knobs import KnobMean
from neutone_core.testing import PassThroughWrapper, count_allocations
from neutone_core.tools.audio import AudioSample, AudioSamplePair, render_audio_sample
from neutone_core.tools.host import stream
from neutone_core.tools.sources import load_wrapper_from_file

ROOT = Path(__file__).parents[1]
SDK_STYLE = ROOT / "examples" / "sdk_style"
SDK_WHEEL_DIR = ROOT / "build" / "neutone_sdk"
SDK_VERSION = "1.5.2"
EXAMPLES = {
    "clipper": f"{SDK_STYLE}/clipper.py:build",
    "delayed_passthrough": f"{SDK_STYLE}/delayed_passthrough.py:build",
    "rave_like": f"{SDK_STYLE}/rave_like.py:build",
    "prefiltered": f"{SDK_STYLE}/prefiltered.py:build",
    "shaper": f"{SDK_STYLE}/shaper.py:ShaperWrapper",
    "readme_clipper": f"{ROOT}/examples/clipper.py:ClipperModelWrapper",
    "mono_overdrive": f"{ROOT}/examples/mono_overdrive.py:MonoOverdriveWrapper",
}
HOSTS = ((48000, 512, 2), (44100, 256, 1))


def sdk_metadata_source() -> str:
    """``neutone_sdk/metadata.py`` from the published 1.5.2 wheel (downloaded once into build/)."""
    path = SDK_WHEEL_DIR / "neutone_sdk" / "metadata.py"
    if not path.is_file():
        SDK_WHEEL_DIR.mkdir(parents=True, exist_ok=True)
        pip = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--dest", str(SDK_WHEEL_DIR)]
        subprocess.run([*pip, f"neutone_sdk=={SDK_VERSION}"], check=True)
        wheel = next(SDK_WHEEL_DIR.glob(f"neutone_sdk-{SDK_VERSION}-*.whl"))
        subprocess.run([sys.executable, "-m", "zipfile", "-e", str(wheel), str(SDK_WHEEL_DIR)], check=True)
    return path.read_text()


@pytest.fixture(scope="session")
def sdk_schema() -> dict[str, Any]:
    """The SDK's realtime metadata schema, read from its source: the module's top-level
    ``required_params``, ``extra_required_params_realtime`` and ``SCHEMA`` literals, with
    what its ``validate_metadata(..., realtime=True)`` changes (the realtime fields required,
    native rates up to 96 kHz). Its ``anyOf`` key is the jsonschema function object, not a
    string, so jsonschema ignores it there; here too."""
    names = {"required_params", "extra_required_params_realtime", "SCHEMA"}
    namespace: dict[str, Any] = {"anyOf": object()}
    for node in ast.parse(sdk_metadata_source()).body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id in names for t in node.targets):
            exec(compile(ast.Module([node], []), "neutone_sdk/metadata.py", "exec"), namespace)  # noqa: S102
    schema = namespace["SCHEMA"]
    schema["required"] = namespace["required_params"] + namespace["extra_required_params_realtime"]
    schema["properties"]["native_sample_rates"]["items"]["maximum"] = 96000
    return schema


def widened_for_knob_kinds(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with its parameter ``type`` enum (``["continuous"]`` in 1.5.2) widened to
    the kinds the SDK's parameter classes write, for models with categorical knobs."""
    widened = copy.deepcopy(schema)
    widened["definitions"]["neutoneParameter"]["properties"]["type"]["enum"] = ["continuous", "categorical", "text"]
    return widened


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every example exported with every check on, as a submission (samples dumped)."""
    results = {}
    for name, source in EXAMPLES.items():
        results[name] = save_neutone_model(
            load_wrapper_from_file(source), tmp_path_factory.mktemp(name), dump_samples=True, submission=True
        )
    return results


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_each_example_exports_with_every_check_and_streams_as_hosts_do(exported: dict[str, Any], name: str) -> None:
    result = exported[name]
    assert not [line for line in result.reports.values() if line == "skipped" or line.startswith("warning")]
    module, metadata = load_neutone_model(result.model_path)
    for sample_rate, block_size, channels in HOSTS:
        audio = (torch.rand(channels, 8 * block_size + 100, generator=torch.Generator().manual_seed(1)) - 0.5) * 0.5
        knobs = torch.rand(4, audio.size(1), generator=torch.Generator().manual_seed(2))
        out = stream(module, audio, sample_rate, block_size, knobs)
        assert out.shape == audio.shape and bool(out.isfinite().all())
    assert sorted(p.name for p in (result.model_path.parent / "samples").iterdir()) == [
        "sample_in_0.wav",
        "sample_in_1.wav",
        "sample_in_2.wav",
        "sample_out_0.wav",
        "sample_out_1.wav",
        "sample_out_2.wav",
    ]


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_metadata_json_validates_against_the_sdk_schema(exported: dict[str, Any], name: str, sdk_schema: dict) -> None:
    metadata = json.loads(exported[name].metadata_path.read_text())
    kinds = {p["type"] for p in metadata["neutone_parameters"].values()}
    schema = sdk_schema if kinds == {"continuous"} else widened_for_knob_kinds(sdk_schema)
    jsonschema.validate(metadata, schema)
    assert isinstance(metadata["date_created"], float) and metadata["sdk_version"] == SDK_VERSION


def test_knob_tensors_written_in_place_never_reach_the_next_call(exported: dict[str, Any]) -> None:
    module, _ = load_neutone_model(exported["clipper"].model_path)
    module.set_daw_sample_rate_and_buffer_size(48000, 512)
    audio = torch.full((2, 512), 0.5)
    with torch.no_grad():
        first = module(audio.clone(), None).clone()
        for _ in range(5):
            assert torch.equal(module(audio.clone(), None), first), "the default knobs must not flip sign"
        knobs = torch.rand(4, 512)
        sent = knobs.clone()
        module(audio.clone(), knobs)
    assert torch.equal(knobs, sent), "the host's knob tensor is untouched"
    assert torch.equal(first, torch.full((2, 512), 0.15)), "clipped at max * gain"


def test_the_delay_line_is_measured_and_the_codec_is_measured_with_the_model_bypassed(exported: dict[str, Any]) -> None:
    assert exported["delayed_passthrough"].reports["delay_reported"].startswith("measured delay equals reported at")
    assert exported["prefiltered"].reports["delay_reported"].startswith("measured delay equals reported at")
    report = exported["rave_like"].reports["delay_reported"]
    assert "the adapters were measured with the model bypassed (all exact)" in report
    assert "the model's own delay is as declared" in report


def test_chaos_adds_random_noise_and_the_seed_makes_it_repeatable(exported: dict[str, Any]) -> None:
    module, _ = load_neutone_model(exported["rave_like"].model_path)
    audio = torch.rand(1, 6 * 2048) - 0.5
    knobs = torch.tensor([[1.0], [0.0], [0.5], [0.5]]).expand(4, audio.size(1))
    renders = []
    for seed in (1, 1, 2):
        torch.manual_seed(seed)
        renders.append(stream(module, audio, 48000, 2048, knobs))
    assert torch.equal(renders[0], renders[1]) and not torch.equal(renders[0], renders[2])


class KnobEcho(PassThroughWrapper):
    """Outputs, on two channels, what it receives for its first two knobs."""

    def __init__(self, params: List[NeutoneParameter]) -> None:
        self.declared = params
        super().__init__()

    def get_neutone_parameters(self) -> List[NeutoneParameter]:
        return self.declared

    def do_forward_pass(self, x: Tensor, params: Dict[str, Tensor]) -> Tensor:
        names = self.neutone_parameter_names
        return torch.stack([params[names[0]].expand(x.size(1)), params[names[1]].expand(x.size(1))])


def test_the_model_receives_each_knob_in_its_own_range(tmp_path: Path) -> None:
    from neutone_core import CategoricalNeutoneParameter

    echo = KnobEcho(
        [
            ContinuousNeutoneParameter("gain_db", "gain", default_value=6.0, min_value=-24.0, max_value=24.0),
            CategoricalNeutoneParameter("shape", "curve", n_values=5, default_value=3),
        ]
    )
    module, metadata = load_neutone_model(save_neutone_model(echo, tmp_path, skip_checks={"sample_sounds"}).model_path)
    assert metadata["neutone_parameters"]["p1"] == {
        "name": "gain_db",
        "description": "gain",
        "default_value": 6.0,
        "used": True,
        "type": "continuous",
        "min_value": -24.0,
        "max_value": 24.0,
    }
    assert metadata["neutone_parameters"]["p2"]["n_values"] == 5 and metadata["neutone_parameters"]["p2"]["labels"] == list(
        "01234"
    )
    assert torch.allclose(module.get_default_param_values(), torch.tensor([[0.625], [0.75], [0.0], [0.0]]))
    defaults = stream(module, torch.zeros(2, 512), 48000, 512)
    assert torch.allclose(defaults[:, -1], torch.tensor([6.0, 3.0]))
    knobs = torch.tensor([[0.75], [0.6], [0.0], [0.0]]).expand(4, 512)
    out = stream(module, torch.zeros(2, 512), 48000, 512, knobs)
    assert torch.allclose(out[:, -1], torch.tensor([12.0, 2.0])), "0.75 -> +12 dB; 0.6 of 4 steps -> category 2"


def test_a_constant_knob_averages_to_itself_at_every_block_length() -> None:
    mean = torch.jit.script(KnobMean())
    mean.configure(8192, 0)
    expected = torch.tensor(0.2).item()
    wrong = [n for n in range(1, 8193) if mean(torch.full((4, n), 0.2))[0, 0].item() != expected]
    assert wrong == []
    params = [torch.rand(4, 470), torch.rand(4, 471)]
    calls = [0]

    def alternate() -> None:
        mean(params[calls[0] % 2])
        calls[0] += 1

    assert count_allocations(alternate, 40) == 0, "alternating 470/471 allocates nothing"


class Minimal(WaveformToWaveformBase):
    """A stereo wrapper with only the required getters, inheriting every other default."""

    def get_model_name(self) -> str:
        return "minimal"

    def get_model_authors(self) -> List[str]:
        return ["neutone tests"]

    def is_input_mono(self) -> bool:
        return False

    def is_output_mono(self) -> bool:
        return False

    def do_forward_pass(self, x: Tensor, params: Dict[str, Tensor]) -> Tensor:
        return x


def test_the_sdk_constructor_and_python_methods(tmp_path: Path) -> None:
    model = nn.Linear(2, 2).train()
    wrapper = Minimal(model, use_debug_mode=True)
    assert wrapper.model is model and not model.training and wrapper.use_debug_mode
    assert wrapper.MAX_N_PARAMS == 4
    metadata = wrapper.to_metadata()
    assert metadata["model_name"] == "minimal" and metadata["input_gain_default_value"] == 0.5
    wrapper.prepare_for_inference()
    assert wrapper.use_debug_mode is False


def test_the_readme_spellings_work_or_are_refused_by_name(tmp_path: Path) -> None:
    class OldSpelling(Minimal):
        def get_parameters(self) -> List[NeutoneParameter]:
            return [Parameter(name="drive", description="drive", default_value=0.25)]

    assert [p.name for p in OldSpelling().neutone_parameters()] == ["drive"]

    class Misspelled(PassThroughWrapper):
        def aggregate_param(self, params: Tensor) -> Tensor:
            return params

    with pytest.raises(MetadataError, match=r"aggregate_param\(\): neutone never calls it; rename it aggregate_params\(\)"):
        save_neutone_model(Misspelled(), tmp_path)

    class Texty(PassThroughWrapper):
        def get_neutone_parameters(self) -> List[NeutoneParameter]:
            return [TextNeutoneParameter("prompt", "what to play", max_n_chars=20)]

    with pytest.raises(ParameterError, match="TextNeutoneParameter cannot drive a waveform-to-waveform model"):
        Texty()


def test_retired_sdk_names_are_honoured(tmp_path: Path) -> None:
    class Retired(Minimal):
        def __init__(self) -> None:
            super().__init__()
            self.seen_block = 0

        def get_native_buffer_sizes(self) -> List[int]:
            return [1024]

        def set_model_buffer_size(self, n_samples: int) -> bool:
            self.seen_block = n_samples
            return True

        def calc_min_delay_samples(self) -> int:
            return 7

    module, _ = load_neutone_model(
        save_neutone_model(Retired(), tmp_path, skip_checks={"sample_sounds", "delay_reported"}).model_path
    )
    module.set_daw_sample_rate_and_buffer_size(48000, 1024)
    assert module.host.chain.inner.inner.wrapper.seen_block == 1024
    assert module.calc_model_delay_samples() == 7


def test_save_neutone_model_takes_every_argument_the_sdk_does(tmp_path: Path) -> None:
    wrapper_source = EXAMPLES["readme_clipper"]
    with pytest.raises(ExportOptionsError, match="submission=True needs dump_samples=True and test_offline_mode=True"):
        save_neutone_model(load_wrapper_from_file(wrapper_source), tmp_path / "a", submission=True)
    mine = AudioSample(torch.sin(torch.arange(24000) / 10.0).reshape(1, -1) * 0.5, 24000)
    pair = AudioSamplePair(mine, render_audio_sample(load_wrapper_from_file(wrapper_source), mine))
    result = save_neutone_model(
        load_wrapper_from_file(wrapper_source),
        tmp_path / "b",
        dump_samples=True,
        audio_sample_pairs=[pair, pair],
        max_n_samples=1,
        freeze=True,
        speed_benchmark=False,
        test_offline_mode=False,
    )
    assert result.reports["realtime"] == "skipped" and result.reports["offline_mode"] == "skipped"
    assert result.reports["sample_sounds"].startswith("1 sample sounds (your own)")
    stored_in = AudioSample.from_file(tmp_path / "b" / "samples" / "sample_in_0.wav").audio
    assert stored_in.shape == mine.audio.shape and float((stored_in - mine.audio).abs().max()) <= 1 / 32767
    assert isinstance(load_wrapper_from_file(wrapper_source).model, nn.Module)


def test_compose_explains_a_wrapper_that_takes_its_model() -> None:
    with pytest.raises(FamilyError, match=r"ClipperModelWrapper wraps a model it is given .*clipper\.py:build"):
        load_wrapper_from_file(f"{SDK_STYLE}/clipper.py:ClipperModelWrapper")


def test_a_model_that_raises_while_running_is_one_line_naming_method_setting_and_exception(tmp_path: Path) -> None:
    class Raises(PassThroughWrapper):
        def do_forward_pass(self, x: Tensor, params: Dict[str, Tensor]) -> Tensor:
            if x.size(1) == 64:
                raise ValueError("my model cannot take 64 samples")
            return x

    from neutone_core import ModelRuntimeError

    with pytest.raises(ModelRuntimeError) as info:
        save_neutone_model(Raises(), tmp_path, skip_checks={"sample_sounds"})
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("export check 'delay_reported': the model raised")
    assert "64 samples" in message and "do_forward_pass" in message and "ValueError: my model cannot take 64 samples" in message
