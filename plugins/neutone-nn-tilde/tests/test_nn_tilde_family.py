"""The nn-tilde family end to end, on small nn~ models scripted here (nn_tilde_models.py)."""

import copy
import functools
import math
import warnings
import zipfile
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import scipy.signal
import torch
from click.testing import CliRunner

from neutone_core import FamilyError, compose
from neutone_core.plugins import get_registry
from neutone_core.testing import check_family
from neutone_core.tools.cli import cli
from neutone_core.tools.host import stream
from neutone_core.tools.sources import build_wrapper, import_file

RATIO = 256


@functools.cache
def models() -> ModuleType:
    """``nn_tilde_models.py`` under a module name valid in an archive (this folder's name has a dash)."""
    return import_file(Path(__file__).parent / "nn_tilde_models.py")


def saved(module: torch.nn.Module, path: Path) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.save(torch.jit.script(module), str(path))
    return str(path)


@pytest.fixture(scope="module")
def codec(tmp_path_factory: pytest.TempPathFactory) -> str:
    return saved(models().CachedCodec(RATIO), tmp_path_factory.mktemp("codec") / "codec.ts")


@pytest.fixture(scope="module")
def one_pole(tmp_path_factory: pytest.TempPathFactory) -> str:
    return saved(models().OnePole(), tmp_path_factory.mktemp("one_pole") / "one_pole.ts")


def fifo_delay(host_block: int, model_block: int) -> int:
    """The least delay of a FIFO feeding blocks of ``model_block`` from host blocks of ``host_block``."""
    return model_block - math.gcd(host_block, model_block)


def test_cached_codec_composes_with_probed_block_size_and_reports_its_delay(codec: str, tmp_path: Path) -> None:
    settings = ((48000, 512, 2), (48000, 100, 2), (44100, 128, 1))
    whole_blocks = math.lcm(*(block for _, block, _ in settings))  # a FIFO fills a short last block with silence
    checked = check_family(
        "nn-tilde", codec, tmp_path, {"knob1": "gain:0:2"}, host_settings=settings, signal_samples=whole_blocks
    )
    metadata = checked.export.metadata
    assert (metadata["native_buffer_sizes"], metadata["native_sample_rates"], metadata["model_type"]) == (
        [RATIO], [48000], "mono-mono"
    )
    assert [p.spec.name for p in checked.export.plan] == ["mixer", "resample", "fifo"]
    assert metadata["neutone_parameters"]["p1"]["name"] == "gain"
    at_48k = [host for host in checked.hosts if host.sample_rate == 48000]
    for host in at_48k:
        assert host.reported_delay == host.measured_delay == fifo_delay(host.block_size, RATIO) + RATIO
        delay = host.reported_delay
        expected = host.audio.mean(0, keepdim=True).expand_as(host.audio)[:, : host.audio.size(1) - delay]
        torch.testing.assert_close(host.output[:, delay:], expected, rtol=0.0, atol=4 * torch.finfo(torch.float32).eps)
    [resampled] = [host for host in checked.hosts if host.sample_rate == 44100]
    assert resampled.measured_delay == resampled.reported_delay > RATIO
    assert "measured delay equals reported at" in checked.export.reports["delay_reported"]


def test_a_knob_sets_the_attribute_it_is_bound_to(codec: str) -> None:
    wrapper = build_wrapper(get_registry(), codec, "nn-tilde", {"knob1": "gain:0:2"})
    module = compose(wrapper).scripted
    audio = torch.rand(1, 4096) - 0.5
    knobs = torch.zeros(4, 4096)
    knobs[0] = 0.75
    out = stream(module, audio, 48000, RATIO, params=knobs)
    torch.testing.assert_close(out[:, RATIO:], 1.5 * audio[:, :-RATIO], rtol=1e-6, atol=1e-7)


def one_pole_reference(audio: torch.Tensor, cutoff: float, sample_rate: int) -> torch.Tensor:
    a = 1.0 - math.exp(-2.0 * math.pi * cutoff / sample_rate)
    return torch.from_numpy(scipy.signal.lfilter([a], [1.0, a - 1.0], audio.double().numpy(), axis=1)).float()


def test_one_pole_runs_at_its_rate_any_block_and_its_cutoff_is_a_knob(one_pole: str, tmp_path: Path) -> None:
    checked = check_family("nn-tilde", one_pole, tmp_path, {"knob1": "cutoff:500:15000"},
                           host_settings=((44100, 128, 2), (48000, 512, 1)))
    metadata = checked.export.metadata
    assert (metadata["native_buffer_sizes"], metadata["native_sample_rates"], metadata["model_type"]) == (
        [], [44100], "stereo-stereo"
    )
    assert [p.spec.name for p in checked.export.plan] == ["mixer", "resample"]
    native = checked.hosts[0]
    assert native.reported_delay == native.measured_delay == 0
    torch.testing.assert_close(native.output, one_pole_reference(native.audio, 12000.0, 44100), rtol=0.0, atol=1e-5)
    knobs = torch.zeros(4, native.audio.size(1))
    knobs[0] = 0.2
    swept = stream(checked.module, native.audio, 44100, 128, params=knobs)
    torch.testing.assert_close(swept, one_pole_reference(native.audio, 500.0 + 0.2 * 14500.0, 44100), rtol=0.0, atol=1e-5)
    resampled = checked.hosts[1]
    assert resampled.measured_delay == resampled.reported_delay > 0


def test_options_override_what_the_model_declares(codec: str) -> None:
    wrapper = build_wrapper(
        get_registry(), codec, "nn-tilde", {"buffer_size": "512", "sample_rate": "44100", "delay_samples": "300"}
    )
    needs = wrapper.neutone_stream_needs()
    assert (needs.native_buffer_sizes, needs.native_sample_rates, wrapper.calc_model_delay_samples()) == ((512,), (44100,), 300)


def newer_torch_copy(source: str, tmp_path: Path) -> str:
    target = tmp_path / "newer.ts"
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(target, "w") as copy:
        for info in original.infolist():
            copy.writestr(info, b"99\n" if info.filename.endswith("/version") else original.read(info.filename))
    return str(target)


class WrongChannels(torch.nn.Module):
    """Declares stereo out, returns mono."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("forward_params", torch.tensor([1, 1, 2, 1]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"method": "encode"}, f"method 'encode' cannot run in a host: its output is latent, not audio ({RATIO} channels "
                               f"at ratio {RATIO}; audio is 1 or 2 channels at ratio 1), as an encoder's; its audio methods: "
                               "forward"),
        ({"method": "decode"}, f"method 'decode' cannot run in a host: it takes latents, not audio ({RATIO} channels at ratio "
                               f"{RATIO}), as a decoder"),
        ({"method": "prior"}, "expected an nn~ method 'prior' declared by a prior_params buffer; its nn~ methods: decode, "
                              "encode, forward"),
        ({"buffer_size": "100"}, f"method 'forward' refuses blocks of 100 samples: it raised ValueError: CachedConv1d with "
                                 f"stride {RATIO} got a block of 100 samples: blocks must be multiples of the stride"),
        ({"knob1": "temperature:0:2"}, "expected a settable attribute 'temperature' (get_temperature and set_temperature); "
                                       "settable: gain"),
        ({"knob1": "gain:2:3"}, "knob1='gain:2:3': gain is 1.0 now, outside 2..3; widen the range"),
        ({"knob1": "gain:-1:1"}, "knob1='gain:-1:1': set_gain(-1) returned -1: the model refuses that range"),
        ({"knob1": "gain:0"}, "knob1='gain:0': expected ATTRIBUTE:MIN:MAX with numbers, e.g. gain:0:1"),
        ({"knob2": "gain:0:2"}, "knob options knob2: number the knobs from knob1 without gaps"),
    ],
)
def test_what_cannot_be_wrapped_is_one_error_naming_family_source_and_expectation(
    codec: str, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(FamilyError) as error:
        build_wrapper(get_registry(), codec, "nn-tilde", options)
    assert str(error.value).startswith(f"model family 'nn-tilde' cannot build from {codec!r}: ")
    assert message in str(error.value)


def test_sources_that_are_not_nn_tilde_models_are_refused(codec: str, tmp_path: Path) -> None:
    cases = {
        saved(torch.nn.Tanh(), tmp_path / "plain.ts"): "its nn~ methods: none (no <method>_params buffers: not an nn~ model)",
        saved(WrongChannels(), tmp_path / "wrong.ts"): "method 'forward' accepts no block of 1..65536 samples (expected "
                                                        "(1, 1, n) -> (1, 2, n); 1: returned (1, 1, 1), expected (1, 2, 1)",
        newer_torch_copy(codec, tmp_path): "the file was saved by a newer torch (archive format 99",
        str(tmp_path / "missing.ts"): "no such file",
    }
    for source, message in cases.items():
        with pytest.raises(FamilyError, match=f"^model family 'nn-tilde' cannot build from '{source}': .*") as error:
            build_wrapper(get_registry(), source, "nn-tilde")
        assert message in str(error.value)


def test_compose_refuses_an_encoder_in_one_line(codec: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["compose", codec, "--family", "nn-tilde", "--option", "method=encode", "-o", str(tmp_path)])
    assert result.exit_code == 1
    assert result.output.startswith("Error: model family 'nn-tilde' cannot build from")
    assert len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "model.nm").exists()



def test_reset_puts_the_model_back_as_loaded(codec: str) -> None:
    wrapper = build_wrapper(get_registry(), codec, "nn-tilde")
    module = compose(wrapper).scripted
    first, second = torch.rand(2, 1, 2048) - 0.5
    fresh = stream(copy.deepcopy(module), second, 48000, 512)
    stream(module, first, 48000, 512)
    module.reset()
    assert torch.equal(stream(module, second, 48000, 512, reset=False), fresh)
