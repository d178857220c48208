"""RealtimeSTFT: SDK method names, exact reconstruction with its delay, spectrogram against
torch.stft, buffer sizes, TorchScript, reset, allocations."""

import io

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from neutone_blocks.realtime_stft import RealtimeSTFT
from neutone_blocks.testing import snr_db
from neutone_core.testing import count_allocations

REPRESENTATIONS = [
    {"power": 1.0, "logarithmize": False},  # the SDK spectral filter example's settings
    {"power": 1.0, "logarithmize": True, "ensure_pos_spec": True},  # the SDK defaults
    {"power": 2.0, "logarithmize": True, "ensure_pos_spec": False},
    {"power": None, "logarithmize": False},
]


def run(stft: RealtimeSTFT, x: torch.Tensor, block: int) -> torch.Tensor:
    return torch.cat([stft.spec_to_audio(stft.audio_to_spec(x[:, i : i + block])).clone() for i in range(0, x.size(1), block)], 1)


@pytest.mark.parametrize("kwargs", REPRESENTATIONS)
@pytest.mark.parametrize("n_fft,hop,block", [(2048, 512, 512), (1024, 256, 1024), (512, 256, 256)])
def test_identity_model_returns_the_input_delayed(kwargs: dict, n_fft: int, hop: int, block: int) -> None:
    stft = torch.jit.script(RealtimeSTFT(model_io_n_frames=8, io_n_ch=2, io_n_samples=block, n_fft=n_fft, hop_len=hop, **kwargs))
    x = (torch.rand(2, 30 * block, generator=torch.Generator().manual_seed(hop)) - 0.5) * 1.6
    y = run(stft, x, block)
    delay = stft.calc_min_delay_samples()
    assert delay == stft.latency_samples() == n_fft - hop
    assert snr_db(x[:, :-delay], y[:, delay:]) >= 120.0
    assert float((y[:, delay:] - x[:, :-delay]).abs().max()) <= 1e-5


@settings(max_examples=10, deadline=None)
@given(frames_per_call=st.sampled_from([1, 2, 4]), seed=st.integers(0, 100))
def test_spectrogram_holds_the_newest_frames_of_the_causal_stft(frames_per_call: int, seed: int) -> None:
    n_fft, hop, n_frames = 1024, 256, 6
    block = frames_per_call * hop
    stft = RealtimeSTFT(n_frames, 1, block, n_fft, hop, power=1.0, logarithmize=False)
    x = torch.randn(1, 12 * hop, generator=torch.Generator().manual_seed(seed))
    reference = torch.stft(
        torch.nn.functional.pad(x, (n_fft - hop, 0)),
        n_fft,
        hop,
        window=torch.hann_window(n_fft),
        center=False,
        return_complex=True,
    ).abs()
    for start in range(0, x.size(1), block):
        spec = stft.audio_to_spec(x[:, start : start + block])
    newest = reference[:, :, -n_frames:]
    assert torch.allclose(spec, newest, rtol=0, atol=1e-5 * float(newest.max()))


def test_spectrogram_starts_from_silence_and_model_edits_do_not_leak() -> None:
    stft = RealtimeSTFT(4, 1, 256, 1024, 256, power=1.0, logarithmize=True, ensure_pos_spec=True)
    spec = stft.audio_to_spec(torch.zeros(1, 256))
    assert torch.equal(spec, torch.zeros_like(spec))  # log10(eps) - log10(eps)
    spec.fill_(3.0)  # a model editing its input in place
    assert float(stft.audio_to_spec(torch.zeros(1, 256)).abs().max()) == 0.0


@pytest.mark.parametrize("frames_per_call", [1, 2, 3])  # 3 of 4: more than half the model's frames are new
def test_zero_phase_resynthesis_without_phase_info(frames_per_call: int) -> None:
    n_fft, hop = 512, 128
    stft = torch.jit.script(
        RealtimeSTFT(4, 1, frames_per_call * hop, n_fft, hop, power=1.0, logarithmize=False, use_phase_info=False)
    )
    x = torch.randn(1, 24 * hop, generator=torch.Generator().manual_seed(2))
    y = run(stft, x, frames_per_call * hop)
    window = torch.hann_window(n_fft)
    magnitude = torch.stft(
        torch.nn.functional.pad(x, (n_fft - hop, 0)), n_fft, hop, window=window, center=False, return_complex=True
    ).abs()
    from neutone_blocks.stft import istft

    assert torch.allclose(y, istft(magnitude.to(torch.complex64), window, hop), atol=1e-5)


def test_buffer_sizes_follow_the_hop() -> None:
    stft = RealtimeSTFT(model_io_n_frames=4, io_n_samples=512, n_fft=2048, hop_len=512)
    assert stft.calc_min_buffer_size() == 512
    assert stft.calc_max_buffer_size() == 2048
    assert stft.calc_supported_buffer_sizes() == [512, 1024, 1536, 2048]
    for bad in (256, 700, 2560):
        with pytest.raises(ValueError, match="must be a multiple of hop_len = 512"):
            stft.set_buffer_size(bad)
    with pytest.raises(ValueError, match="expected \\[2, 512\\]"):
        stft.audio_to_spec(torch.zeros(2, 1024))
    with pytest.raises(ValueError, match="fade_n_samples 512"):
        RealtimeSTFT(io_n_samples=512, fade_n_samples=512)


def test_set_buffer_size_reconfigures_and_resets() -> None:
    stft = torch.jit.script(RealtimeSTFT(8, 2, 512, 2048, 512, power=1.0, logarithmize=False))
    x = torch.randn(2, 16 * 1024, generator=torch.Generator().manual_seed(4))
    run(stft, torch.randn(2, 4096), 512)
    stft.set_buffer_size(1024)
    y = run(stft, x, 1024)
    assert float((y[:, 1536:] - x[:, :-1536]).abs().max()) <= 1e-5


def test_torchscript_round_trip_reset_and_allocations() -> None:
    buffer = io.BytesIO()
    torch.jit.save(torch.jit.script(RealtimeSTFT(16, 2, 512, 2048, 512)), buffer)
    buffer.seek(0)
    stft = torch.jit.load(buffer)
    x = torch.randn(2, 8 * 512, generator=torch.Generator().manual_seed(6))
    first = run(stft, x, 512)
    stft.reset()
    assert torch.equal(run(stft, x, 512), first)
    block = x[:, :512]
    frames = torch.randn(2, 1, 2048)
    spectrum = torch.fft.rfft(frames)
    fft_only = count_allocations(lambda: torch.fft.irfft(torch.fft.rfft(frames, out=spectrum), n=2048, out=frames), 8)
    assert count_allocations(lambda: stft.spec_to_audio(stft.audio_to_spec(block)), 8) <= fft_only
