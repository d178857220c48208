"""The spectral wrapper: what it declares, and every configuration that cannot work refused at
export or at the first call with the constraint named."""

from pathlib import Path
from typing import Dict, List

import pytest
import torch
from torch import Tensor

from neutone_adapters.stft import SpectralConfigError, SpectralToSpectralBase, StftConfig
from neutone_adapters.stft.tests.stft_helpers import IdentitySpectral
from neutone_core import MetadataError, ModelRuntimeError, NeutoneError, compose, save_neutone_model
from neutone_core.tools.host import stream


def test_the_innermost_record_carries_the_stft() -> None:
    wrapper = IdentitySpectral(1024, 256, "sqrt-hann", "log-magnitude", frame_counts=[4, 2], native_sample_rates=[44100])
    needs = wrapper.neutone_stream_needs()
    config = needs.extra["stft"]
    assert needs.domain == "spectrogram" and needs.native_sample_rates == (44100,)
    assert needs.native_buffer_sizes == () and needs.look_behind_samples == 0
    assert isinstance(config, StftConfig) and (config.n_fft, config.hop_length, config.n_bins) == (1024, 256, 513)
    assert config.frame_counts == (2, 4) and config.frame_span == 1023 and config.look_behind_samples == 767
    assert config.outer_block_sizes() == (512, 1024)
    assert torch.equal(config.window_tensor(), torch.hann_window(1024).sqrt())
    assert repr(config) == "StftConfig(n_fft 1024, hop 256, sqrt-hann window, log-magnitude frames, [2, 4] frames per call)"
    assert wrapper.get_native_buffer_sizes() == [1024, 512]
    assert IdentitySpectral(1024, 256).get_native_buffer_sizes() == [256]


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"n_fft": 512, "window": torch.hann_window(256)}, r"get_window\(\) with n_fft 512: window of shape \(256,\): must have"),
        ({"n_fft": 512, "hop_length": 512}, r"get_hop_length\(\) with n_fft 512: window and hop_length 512 break NOLA"),
        ({"n_fft": 512, "hop_length": 128, "window": torch.zeros(512)}, r"break NOLA"),
        ({"n_fft": 512, "hop_length": 0}, r"hop_length 0 for n_fft 512: must be in 1..n_fft samples"),
        ({"n_fft": 0}, r"get_n_fft\(\) returned 0: n_fft must be an integer >= 1"),
        ({"n_fft": -4}, r"get_n_fft\(\) returned -4: n_fft must be an integer >= 1"),
        ({"window": "hamming"}, r"get_window\(\) returned 'hamming': return one of hann, sqrt-hann or a tensor"),
        ({"representation": "power"}, r"get_frame_representation\(\) returned 'power': return one of complex, magnitude"),
        ({"frame_counts": [0]}, r"get_native_frame_counts\(\) returned \[0\]: frame counts must be unique and >= 1"),
        ({"representation": "magnitude", "output_mono": True}, r"with stereo input and mono output: the phase to reapply"),
    ],
)
def test_an_invalid_stft_is_refused_at_export_naming_the_constraint(kwargs: dict, message: str) -> None:
    wrapper = IdentitySpectral(**kwargs)
    with pytest.raises(SpectralConfigError, match=message):
        wrapper.stft_config()
    with pytest.raises(MetadataError, match=message):
        compose(wrapper)


class DerivesBufferSizes(IdentitySpectral):
    def get_native_buffer_sizes(self) -> List[int]:
        return [512]

    def aggregate_params(self, params: Tensor) -> Tensor:
        return params


class NoForwardPass(IdentitySpectral):
    do_forward_pass = SpectralToSpectralBase.do_forward_pass


def test_overriding_what_a_spectral_wrapper_derives_is_refused() -> None:
    with pytest.raises(MetadataError) as caught:
        compose(DerivesBufferSizes())
    assert "get_native_buffer_sizes(): a spectral wrapper does not override it" in str(caught.value)
    assert "aggregate_params(): a spectral wrapper does not override it: knobs arrive per frame" in str(caught.value)
    with pytest.raises(MetadataError, match=r"do_forward_pass\(x, params\): not implemented"):
        compose(NoForwardPass())


class WrongBins(IdentitySpectral):
    def do_forward_pass(self, x: Tensor, params: Dict[str, Tensor]) -> Tensor:
        return x[:, :-1]


class WrongFrames(IdentitySpectral):
    def do_forward_pass(self, x: Tensor, params: Dict[str, Tensor]) -> Tensor:
        return x[:, :, :1]


class RealForComplex(IdentitySpectral):
    def do_forward_pass(self, x: Tensor, params: Dict[str, Tensor]) -> Tensor:
        return torch.real(x)


@pytest.mark.parametrize(
    "wrapper_class,returned",
    [(WrongBins, "complex frames of shape [2, 512, 2]"), (WrongFrames, "complex frames of shape [2, 513, 1]"),
     (RealForComplex, "real frames of shape [2, 513, 2]")],
)
def test_frames_of_the_wrong_shape_or_kind_are_refused_at_the_first_call(wrapper_class: type, returned: str) -> None:
    model = compose(wrapper_class(1024, 256)).scripted
    with pytest.raises(ModelRuntimeError) as caught:
        stream(model, torch.zeros(2, 512), 48000, 512)
    message = str(caught.value)
    assert f"do_forward_pass returned {returned} for frames of shape [2, 513, 2]" in message
    assert "expected complex frames of shape [2, 513, 2] (out_channels, bins = n_fft // 2 + 1, frames)" in message


def test_an_export_of_a_model_returning_the_wrong_bins_fails_and_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(NeutoneError, match=r"expected complex frames of shape \[2, 513, 2\]"):
        save_neutone_model(WrongBins(1024, 256), tmp_path)
    assert not (tmp_path / "model.nm").exists()
