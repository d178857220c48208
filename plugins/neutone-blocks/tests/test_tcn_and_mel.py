"""TCN with FiLM and the cached mel spectrogram: streaming equals the offline (training-mode)
network and a centred torch.stft with an independent mel filterbank; TorchScript, reset, allocations."""

import io

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from neutone_blocks.cached_mel_spec import CachedMelSpec
from neutone_blocks.tcn_1d import TCN1D, FiLM
from neutone_core.testing import count_allocations


def trained_looking_tcn(cond_dim: int, use_bn: bool) -> TCN1D:
    torch.manual_seed(cond_dim)
    tcn = TCN1D(in_ch=1, out_ch=2, n_blocks=4, kernel_size=5, n_channels=8, dil_growth=3, cond_dim=cond_dim, use_bn=use_bn)
    for module in tcn.modules():
        if isinstance(module, torch.nn.BatchNorm1d):
            module.running_mean.normal_()
            module.running_var.uniform_(0.5, 2.0)
    return tcn.eval()


@settings(max_examples=8, deadline=None)
@given(
    cond_dim=st.sampled_from([0, 3]),
    use_bn=st.booleans(),
    blocks=st.lists(st.integers(1, 8192), min_size=1, max_size=3),
)
def test_streaming_tcn_equals_the_offline_network(cond_dim: int, use_bn: bool, blocks: list[int]) -> None:
    tcn = trained_looking_tcn(cond_dim, use_bn)
    x = torch.randn(2, 1, 3000, generator=torch.Generator().manual_seed(1))
    cond = torch.rand(2, cond_dim) if cond_dim else None
    offline = tcn(x, cond).detach()  # grad enabled: the plain training-mode ops
    streaming = torch.jit.script(tcn)
    streaming.set_cached(True)
    outputs, start, i = [], 0, 0
    with torch.no_grad():
        while start < x.size(2):
            n = blocks[i % len(blocks)]
            outputs.append(streaming(x[:, :, start : start + n], cond).clone())
            start, i = start + n, i + 1
    # a few float32 roundings per layer: within 1e-5 of the output's peak
    assert torch.allclose(torch.cat(outputs, 2), offline, rtol=0, atol=1e-5 * float(offline.abs().max()))
    assert tcn.latency_samples() == 0
    assert tcn.calc_receptive_field() == 1 + 4 * (1 + 3 + 9 + 27)


def test_film_keeps_the_sdk_signature_and_folds_batchnorm() -> None:
    film = FiLM(cond_dim=2, num_features=4, use_bn=True)
    film.bn.running_mean.normal_()
    film.bn.running_var.uniform_(0.5, 2.0)
    film.eval()
    x, cond = torch.randn(3, 4, 50), torch.rand(3, 2)
    reference = film(x, cond).detach()
    with torch.no_grad():
        assert torch.allclose(film(x, cond), reference, atol=1e-6)
        assert count_allocations(lambda: film(x, cond), 5) == 0


def test_tcn_round_trip_reset_and_allocations() -> None:
    tcn = trained_looking_tcn(3, True)
    tcn.set_cached(True)
    buffer = io.BytesIO()
    torch.jit.save(torch.jit.script(tcn), buffer)
    buffer.seek(0)
    loaded = torch.jit.load(buffer)
    x, cond = torch.randn(2, 1, 2048), torch.rand(2, 3)
    with torch.no_grad():
        first = torch.cat([loaded(x[:, :, i : i + 512], cond).clone() for i in range(0, 2048, 512)], 2)
        loaded.reset()
        again = torch.cat([loaded(x[:, :, i : i + 512], cond).clone() for i in range(0, 2048, 512)], 2)
        assert torch.equal(first, again)
        block = x[:, :, :512]
        assert count_allocations(lambda: loaded(block, cond), 8) == 0


def htk_mel_filters(n_fft: int, rate: float, f_min: float, f_max: float, n_mels: int) -> np.ndarray:
    """Triangles between mel-spaced corners, one filter and bin at a time."""

    def mel(f: float) -> float:
        return 2595.0 * np.log10(1.0 + f / 700.0)

    corners = [700.0 * (10 ** (m / 2595.0) - 1.0) for m in np.linspace(mel(f_min), mel(f_max), n_mels + 2)]
    filters = np.zeros((n_mels, n_fft // 2 + 1))
    for i in range(n_mels):
        for b in range(n_fft // 2 + 1):
            f = b * rate / n_fft
            if corners[i] < f <= corners[i + 1]:
                filters[i, b] = (f - corners[i]) / (corners[i + 1] - corners[i])
            elif corners[i + 1] < f < corners[i + 2]:
                filters[i, b] = (corners[i + 2] - f) / (corners[i + 2] - corners[i + 1])
    return filters


@pytest.mark.parametrize("n_fft,hop,power,normalized", [(2048, 512, 2.0, False), (1024, 256, 1.0, True), (512, 128, 2.0, False)])
def test_cached_mel_spec_is_the_centred_mel_spectrogram_delayed(n_fft: int, hop: int, power: float, normalized: bool) -> None:
    rate, n_mels = 44100, 40
    module = CachedMelSpec(rate, 2, n_fft, hop, f_min=30.0, f_max=16000.0, n_mels=n_mels, power=power, normalized=normalized)
    buffer = io.BytesIO()
    torch.jit.save(torch.jit.script(module), buffer)
    buffer.seek(0)
    mel = torch.jit.load(buffer)
    x = torch.randn(2, 24 * hop, generator=torch.Generator().manual_seed(hop))
    streamed = torch.cat([mel(x[:, i : i + 2 * hop]).clone() for i in range(0, x.size(1), 2 * hop)], 2)
    window = torch.hann_window(n_fft)
    spectrum = torch.stft(x, n_fft, hop, window=window, center=True, pad_mode="constant", return_complex=True).abs().double()
    if normalized:  # torchaudio's convention: by the window's energy
        spectrum /= float(window.pow(2).sum().sqrt())
    reference = np.einsum("mb,cbt->cmt", htk_mel_filters(n_fft, rate, 30.0, 16000.0, n_mels), spectrum.numpy() ** power)
    delay = mel.get_delay_frames()
    assert delay * hop == mel.get_delay_samples() == n_fft // 2 - hop
    compared = streamed[:, :, delay:].double().numpy()
    assert np.abs(compared - reference[:, :, : compared.shape[2]]).max() <= 1e-5 * reference.max()
    mel.reset()
    assert torch.equal(torch.cat([mel(x[:, i : i + 2 * hop]).clone() for i in range(0, x.size(1), 2 * hop)], 2), streamed)


def test_cached_mel_spec_allocates_only_in_the_fft_and_checks_arguments() -> None:
    mel = torch.jit.script(CachedMelSpec(48000, 2, 2048, 512))
    block = torch.randn(2, 512)
    mel(block)
    frames = torch.randn(2, 1, 2048)
    spectrum = torch.fft.rfft(frames)
    assert count_allocations(lambda: mel(block), 8) <= count_allocations(lambda: torch.fft.rfft(frames, out=spectrum), 8)
    with pytest.raises(ValueError, match="n_fft / 2 a multiple of hop_len"):
        CachedMelSpec(48000, 1, 2048, 300)
    with pytest.raises(ValueError, match="pass center=True"):
        CachedMelSpec(48000, 1, center=False)
    with pytest.raises(ValueError, match="a multiple of hop_len = 512"):
        CachedMelSpec(48000, 2, 2048, 512)(torch.zeros(2, 100))
