"""The shared streaming STFT core: against torch.stft / torch.istft, perfect reconstruction,
streaming equals offline, validation, TorchScript, reset, allocations."""

import io

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from neutone_blocks.look_behind import LookBehind
from neutone_blocks.stft import (
    StftAnalysis,
    StftSynthesis,
    istft,
    nonzero_span,
    stft,
    stft_delay_samples,
    synthesis_window,
)
from neutone_blocks.testing import snr_db
from neutone_core.testing import count_allocations

WINDOWS = {"hann": lambda n: torch.hann_window(n), "sqrt-hann": lambda n: torch.hann_window(n).sqrt()}


def stream_identity(n_fft: int, hop: int, window: torch.Tensor, x: torch.Tensor, frames_per_call: list[int]) -> torch.Tensor:
    look_behind, analysis, synthesis = (
        LookBehind(n_fft - hop),
        StftAnalysis(n_fft, hop, window),
        StftSynthesis(n_fft, hop, window),
    )
    outputs, start, i = [], 0, 0
    while start < x.size(1):
        n = frames_per_call[i % len(frames_per_call)] * hop
        outputs.append(synthesis(analysis(look_behind(x[:, start : start + n]))).clone())
        start, i = start + n, i + 1
    return torch.cat(outputs, 1)


@pytest.mark.parametrize("n_fft", [256, 512, 1024, 2048, 4096])
@pytest.mark.parametrize("overlap", [2, 4])
@pytest.mark.parametrize("window_name", sorted(WINDOWS))
def test_identity_reconstructs_the_delayed_input(n_fft: int, overlap: int, window_name: str) -> None:
    hop = n_fft // overlap
    x = (torch.rand(2, 24 * hop, generator=torch.Generator().manual_seed(n_fft)) - 0.5) * 1.6
    y = stream_identity(n_fft, hop, WINDOWS[window_name](n_fft), x, [1, 3, 2])
    delay = stft_delay_samples(n_fft, hop)
    assert delay == n_fft - hop
    # the adapter issue's target in float32: SNR >= 130 dB and max abs error <= 1e-5
    assert snr_db(x[:, :-delay], y[:, delay:]) >= 130.0
    assert float((y[:, delay:] - x[:, :-delay]).abs().max()) <= 1e-5
    assert float(y[:, :delay].abs().max()) <= 1e-6  # silence before the first input sample


@settings(max_examples=15, deadline=None)
@given(
    n_fft=st.sampled_from([256, 384, 1000, 2048]),
    hop_divisor=st.sampled_from([2, 3, 4]),
    frames_per_call=st.lists(st.integers(1, 8), min_size=1, max_size=6),
)
def test_streaming_equals_offline(n_fft: int, hop_divisor: int, frames_per_call: list[int]) -> None:
    hop = n_fft // hop_divisor
    window = torch.hann_window(n_fft)
    x = torch.randn(2, 20 * hop, generator=torch.Generator().manual_seed(hop))
    offline = istft(stft(x, window, hop), window, hop)
    streamed = stream_identity(n_fft, hop, window, x, frames_per_call)[:, : x.size(1)]
    # float32 FFTs of different batch sizes: agreement to a few ulps of the signal's peak
    assert torch.allclose(streamed, offline, rtol=0, atol=1e-5 * float(x.abs().max()))


@pytest.mark.parametrize("n_fft,hop", [(256, 64), (1024, 512), (4096, 1024)])
def test_analysis_matches_torch_stft(n_fft: int, hop: int) -> None:
    window = torch.hann_window(n_fft)
    x = torch.randn(2, 30 * hop, generator=torch.Generator().manual_seed(3))
    reference = torch.stft(
        torch.nn.functional.pad(x, (n_fft - hop, 0)), n_fft, hop, window=window, center=False, return_complex=True
    )
    ours = stft(x, window, hop)
    assert ours.shape == (2, n_fft // 2 + 1, 30)
    peak = float(reference.abs().max())
    assert float((ours - reference).abs().max()) <= 1e-5 * peak


def test_synthesis_matches_torch_istft() -> None:
    n_fft, hop = 1024, 256
    window = torch.hamming_window(n_fft)  # no zeros: torch.istft's envelope check passes at the edges
    spectrum = torch.stft(torch.randn(1, 40 * hop), n_fft, hop, window=window, center=False, return_complex=True)
    reference = torch.istft(spectrum, n_fft, hop, window=window, center=False)
    ours = istft(spectrum, window, hop)
    # ours is complete where every overlapping frame has been added: after the first n_fft - hop samples
    settled = slice(n_fft - hop, ours.size(1))
    assert torch.allclose(ours[:, settled], reference[:, settled], rtol=0, atol=1e-5 * float(reference.abs().max()))


def test_synthesis_window_normalises_the_overlap() -> None:
    window = torch.hann_window(1000).sqrt()
    synthesis = synthesis_window(window, 300)
    overlap = torch.zeros(300 * 10)
    for start in range(0, 300 * 7, 300):
        overlap[start : start + 1000] += window * synthesis
    assert torch.allclose(overlap[1000:1800], torch.ones(800), atol=1e-6)


@pytest.mark.parametrize(
    "n_fft,hop,window,message",
    [
        (0, 1, None, "n_fft 0: must be >= 1"),
        (512, 0, None, "hop_length 0 for n_fft 512: must be in 1..n_fft"),
        (512, 513, None, "hop_length 513 for n_fft 512"),
        (512, 128, torch.hann_window(256), "must have n_fft = 512 samples"),
        (512, 512, None, "break NOLA"),
        (512, 128, torch.zeros(512), "break NOLA"),
    ],
)
def test_invalid_parameters_name_the_constraint(n_fft: int, hop: int, window: torch.Tensor | None, message: str) -> None:
    for module in (StftAnalysis, StftSynthesis):
        with pytest.raises(ValueError, match=message):
            module(n_fft, hop, window)


def test_analysis_rejects_a_block_without_look_behind() -> None:
    with pytest.raises(ValueError, match="look-behind samples plus a positive multiple of hop"):
        StftAnalysis(512, 128)(torch.zeros(1, 300))


def _round_trip(module: torch.nn.Module) -> torch.jit.ScriptModule:
    buffer = io.BytesIO()
    torch.jit.save(torch.jit.script(module), buffer)
    buffer.seek(0)
    return torch.jit.load(buffer)


def test_torchscript_round_trip_and_reset() -> None:
    n_fft, hop = 1024, 256
    look_behind, analysis, synthesis = (
        _round_trip(m) for m in (LookBehind(n_fft - hop), StftAnalysis(n_fft, hop), StftSynthesis(n_fft, hop))
    )
    x = torch.randn(2, 16 * hop, generator=torch.Generator().manual_seed(5))

    def run() -> torch.Tensor:
        return torch.cat(
            [synthesis(analysis(look_behind(x[:, i : i + 2 * hop]))).clone() for i in range(0, x.size(1), 2 * hop)], 1
        )

    first = run()
    look_behind.reset()
    synthesis.reset()
    assert torch.equal(run(), first)
    delay = n_fft - hop
    assert float((first[:, delay:] - x[:, :-delay]).abs().max()) <= 1e-5


def test_no_allocation_beyond_the_two_ffts() -> None:
    n_fft, hop = 2048, 512
    look_behind, analysis, synthesis = (
        torch.jit.script(m) for m in (LookBehind(n_fft - hop), StftAnalysis(n_fft, hop), StftSynthesis(n_fft, hop))
    )
    block = torch.randn(2, 512)

    def call() -> None:
        synthesis(analysis(look_behind(block)))

    for _ in range(4):
        call()
    frames = torch.randn(2, 1, n_fft)
    spectrum = torch.fft.rfft(frames)
    fft_only = count_allocations(lambda: torch.fft.irfft(torch.fft.rfft(frames, out=spectrum), n=n_fft, out=frames), 8)
    assert count_allocations(call, 8) <= fft_only


@pytest.mark.parametrize(
    "window,first,span",
    [
        (torch.hann_window(1024), 1, 1023),  # periodic Hann: one leading zero
        (torch.hann_window(1024).sqrt(), 1, 1023),
        (torch.hann_window(1024, periodic=False), 1, 1022),  # symmetric: a zero at each end
        (torch.hamming_window(1024), 0, 1024),  # no zero
    ],
)
def test_trimmed_zero_ends_reconstruct_with_less_delay(window: torch.Tensor, first: int, span: int) -> None:
    n_fft, hop = 1024, 256
    assert nonzero_span(window) == (first, span)
    analysis = StftAnalysis(n_fft, hop, window, trim_zero_ends=True)
    synthesis = StftSynthesis(n_fft, hop, window, trim_zero_ends=True)
    assert analysis.look_behind_samples == synthesis.latency_samples() == span - hop
    look_behind = LookBehind(analysis.look_behind_samples)
    x = (torch.rand(2, 40 * hop, generator=torch.Generator().manual_seed(span)) - 0.5) * 1.6
    untrimmed = stream_identity(n_fft, hop, window, x, [2, 1, 3])
    pieces, start, i = [], 0, 0
    while start < x.size(1):
        n = [1, 4, 2][i % 3] * hop
        spectrum = analysis(look_behind(x[:, start : start + n]))
        pieces.append(synthesis(spectrum).clone())
        start, i = start + n, i + 1
    trimmed = torch.cat(pieces, 1)
    delay = span - hop
    assert snr_db(x[:, :-delay], trimmed[:, delay:]) >= 130.0
    assert float((trimmed[:, delay:] - x[:, :-delay]).abs().max()) <= 1e-5
    # the same frames, emitted n_fft - span samples earlier
    shift = n_fft - span
    assert torch.allclose(trimmed[:, : x.size(1) - shift], untrimmed[:, shift:], rtol=0, atol=1e-6)
