"""The STFT stage in the composed graph: perfect reconstruction, the delay formula by impulse,
frames and resynthesis against torch.stft / torch.istft, knobs per frame, block partitions."""

import math
from collections.abc import Callable

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from neutone_adapters.stft.tests.stft_helpers import (
    BinGainSpectral,
    IdentitySpectral,
    OneFrameLate,
    RecordingSpectral,
    bin_gains,
    expected_frame_means,
    knob_signal,
    snr_db,
)
from neutone_core import compose
from neutone_core.testing import eager_graph
from neutone_core.tools.host import impulse_delay, stream

RATE = 48000


def noise(n_channels: int, n: int, seed: int) -> torch.Tensor:
    return (torch.rand(n_channels, n, generator=torch.Generator().manual_seed(seed)) - 0.5) * 1.6


@pytest.mark.parametrize("n_fft", [256, 512, 1024, 2048, 4096])
@pytest.mark.parametrize("overlap", [2, 4])
@pytest.mark.parametrize("window", ["hann", "sqrt-hann"])
def test_an_identity_model_reconstructs_the_delayed_input(n_fft: int, overlap: int, window: str) -> None:
    hop = n_fft // overlap
    model = eager_graph(IdentitySpectral(n_fft, hop, window))
    x = noise(2, 512 * max(24, 3 * n_fft // 512), n_fft + overlap)
    y = stream(model, x, RATE, 512)
    delay = model.calc_total_delay_samples()
    assert delay == n_fft - 1 - math.gcd(512, hop)  # S - gcd(B, hop), S = n_fft - 1 for these windows
    # the target in float32: SNR >= 130 dB and max abs error <= 1e-5
    assert snr_db(x[:, :-delay], y[:, delay:]) >= 130.0
    assert float((y[:, delay:] - x[:, :-delay]).abs().max()) <= 1e-5
    assert float(y[:, :delay].abs().max()) <= 1e-6


GRID = [(n_fft, n_fft // overlap, window) for n_fft in (256, 512, 1024, 2048, 4096) for overlap in (2, 4)
        for window in ("hann", "sqrt-hann")]
"""The issue's grid: (n_fft, hop, window) at 50 % and 75 % overlap."""


@pytest.fixture(scope="module")
def identity_graphs() -> Callable[[int, int, str], torch.jit.ScriptModule]:
    """The composed, scripted identity for a configuration of the grid, built once."""
    graphs: dict[tuple[int, int, str], torch.jit.ScriptModule] = {}

    def graph(n_fft: int, hop: int, window: str) -> torch.jit.ScriptModule:
        if (n_fft, hop, window) not in graphs:
            graphs[(n_fft, hop, window)] = compose(IdentitySpectral(n_fft, hop, window)).scripted
        return graphs[(n_fft, hop, window)]

    return graph


@settings(max_examples=12, deadline=None)
@given(config=st.sampled_from(GRID), rate=st.integers(8000, 192000), block=st.one_of(st.integers(1, 8192), st.integers(1, 300)))
def test_any_host_setting_reconstructs_at_the_least_delay(
    identity_graphs, config: tuple[int, int, str], rate: int, block: int
) -> None:
    n_fft, hop, window = config
    graph = identity_graphs(n_fft, hop, window)
    n = block * -(-(n_fft - 1 + 2 * n_fft + hop) // block)  # whole host blocks, frames well past the delay
    x = noise(2, n, block)
    y = stream(graph, x, rate, block)
    delay = graph.calc_total_delay_samples()
    assert delay == n_fft - 1 - math.gcd(block, hop)  # S - gcd(B, hop), S = n_fft - 1 for these windows
    assert snr_db(x[:, :-delay], y[:, delay:]) >= 130.0
    assert float((y[:, delay:] - x[:, :-delay]).abs().max()) <= 1e-5
    assert float(y[:, :delay].abs().max()) <= 1e-6


@pytest.mark.parametrize("representation", ["magnitude", "log-magnitude"])
@pytest.mark.parametrize("n_fft,hop", [(256, 64), (2048, 1024), (4096, 1024)])
def test_magnitudes_with_the_kept_phase_reconstruct_too(representation: str, n_fft: int, hop: int) -> None:
    model = eager_graph(IdentitySpectral(n_fft, hop, "sqrt-hann", representation))
    x = noise(2, 512 * max(24, 3 * n_fft // 512), hop)
    y = stream(model, x, RATE, 512)
    delay = model.calc_total_delay_samples()
    assert snr_db(x[:, :-delay], y[:, delay:]) >= 130.0
    assert float((y[:, delay:] - x[:, :-delay]).abs().max()) <= 1e-5


@pytest.mark.parametrize(
    "host_block,policy,frame_counts,expected",
    [
        (256, "fixed", [], 1023 - 256),  # S - gcd(B, hop), S = 1023, hop 256
        (512, "fixed", [], 1023 - 256),
        (100, "fixed", [], 1023 - 4),
        (1000, "fixed", [], 1023 - 8),
        (64, "fixed", [], 1023 - 64),
        (100, "any", [], 1023 - 1),  # S - 1
        (512, "fixed", [3], 767 + 768 - 256),  # S - hop + (f·hop - gcd(B, f·hop))
        (768, "fixed", [3], 767),
        (512, "fixed", [2, 4], 767),
        (100, "any", [3], 767 + 768 - 1),  # S - hop + (f·hop - 1)
    ],
)
def test_the_delay_is_the_formula_and_an_impulse_measures_it(
    host_block: int, policy: str, frame_counts: list[int], expected: int
) -> None:
    model = eager_graph(IdentitySpectral(1024, 256, frame_counts=frame_counts), adapter_options={"fifo": {"policy": policy}})
    assert impulse_delay(model, RATE, host_block, 2, offset=host_block // 2 + 1) == expected
    assert model.calc_total_delay_samples() == expected
    assert model.calc_buffering_delay_samples() == expected and model.calc_model_delay_samples() == 0


def test_a_window_with_a_zero_at_each_end_frames_only_its_nonzero_span() -> None:
    model = eager_graph(IdentitySpectral(1024, 256, torch.hann_window(1024, periodic=False)))  # S = 1022, from sample 1
    assert impulse_delay(model, RATE, 1000, 2, offset=501) == 1022 - 8
    x = noise(2, 40 * 512, 12)
    y = stream(model, x, RATE, 512)
    delay = model.calc_total_delay_samples()
    assert delay == 1022 - 256
    assert snr_db(x[:, :-delay], y[:, delay:]) >= 130.0 and float((y[:, delay:] - x[:, :-delay]).abs().max()) <= 1e-5


def test_the_models_own_delay_adds_to_the_stft_delay() -> None:
    model = eager_graph(OneFrameLate(n_fft=1024, hop_length=256))
    stft_delay = 1023 - 256
    assert impulse_delay(model, RATE, 512, 2, offset=300) == stft_delay + 256
    assert model.calc_model_delay_samples() == 256 and model.calc_buffering_delay_samples() == stft_delay


@pytest.mark.parametrize("representation", ["complex", "magnitude", "log-magnitude"])
def test_the_model_gets_the_frames_torch_stft_computes(representation: str) -> None:
    n_fft, hop = 1024, 256
    wrapper = RecordingSpectral(n_fft=n_fft, hop_length=hop, representation=representation)
    x = noise(2, 40 * hop, 7)
    stream(eager_graph(wrapper), x, RATE, 512)
    frames = torch.cat(wrapper.frames[warmup_calls(wrapper) :], dim=2)
    # the stream's frames start with its first sample at the last position of frame 0: x after n_fft - hop zeros
    padded = torch.nn.functional.pad(x, (n_fft - hop, 0))
    reference = torch.stft(padded, n_fft, hop, window=torch.hann_window(n_fft), center=False, return_complex=True)
    if representation == "magnitude":
        reference = reference.abs()
    elif representation == "log-magnitude":
        reference = reference.abs().clamp(min=1e-8).log10()
    n = min(frames.size(2), reference.size(2))
    assert n >= 38 and frames.shape[:2] == (2, n_fft // 2 + 1)
    peak = float(reference.abs().max())
    assert float((frames[:, :, :n] - reference[:, :, :n]).abs().max()) <= 1e-5 * peak


def warmup_calls(wrapper: RecordingSpectral) -> int:
    """Calls the root made on silence at configure (recorded too): up to the last silent one."""
    silent = [bool(f.abs().max() == 0) if f.is_complex() else bool(f.max() == f.min()) for f in wrapper.frames]
    return len(silent) - silent[::-1].index(True)


def test_a_spectral_filter_matches_torch_istft_of_the_filtered_torch_stft() -> None:
    n_fft, hop = 1024, 256
    window = torch.hamming_window(n_fft)  # no zeros: torch.istft's window check passes at the edges
    model = eager_graph(BinGainSpectral(n_fft=n_fft, hop_length=hop, window=window))
    x = noise(2, 60 * hop, 11)
    y = stream(model, x, RATE, 512)
    assert model.calc_total_delay_samples() == n_fft - hop  # S = n_fft
    padded = torch.nn.functional.pad(x, (n_fft - hop, 0))
    spectrum = torch.stft(padded, n_fft, hop, window=window, center=False, return_complex=True)
    reference = torch.istft(spectrum * bin_gains(n_fft // 2 + 1).view(1, -1, 1), n_fft, hop, window=window, center=False)
    # y[t] is the filtered input at t - (n_fft - hop): the padded signal's time axis
    settled = slice(n_fft, min(y.size(1), reference.size(1)))
    peak = float(reference.abs().max())
    assert float((y[:, settled] - reference[:, settled]).abs().max()) <= 1e-5 * peak


@pytest.mark.parametrize("host_block,frames_per_call", [(512, 2), (1000, 1), (7, 1)])
def test_knobs_reach_the_model_per_frame_as_the_mean_over_the_frame(host_block: int, frames_per_call: int) -> None:
    n_fft, hop = 1024, 256
    wrapper = RecordingSpectral(n_fft=n_fft, hop_length=hop)
    model = eager_graph(wrapper)
    n = 48 * hop - 48 * hop % host_block
    knobs = knob_signal(n)
    stream(model, noise(2, n, 3), RATE, host_block, params=knobs)
    per_frame = torch.cat(wrapper.knobs[warmup_calls(wrapper) :])
    assert all(k.shape == (frames_per_call,) for k in wrapper.knobs[warmup_calls(wrapper) :])  # (frames,)
    # frames on the stream's grid whatever the host's blocks: the FIFO's delay moves the output, not the frames
    # "gain" maps 0..1 to 0..2: twice the frame mean, rounded once to float32
    expected = 2 * expected_frame_means(knobs[0], n_fft - 1, hop, per_frame.numel())
    assert float((per_frame.double() - expected).abs().max()) <= 2 * 2.0**-24


def test_a_constant_knob_reaches_every_frame_exactly() -> None:
    wrapper = RecordingSpectral(n_fft=2048, hop_length=512)
    n = 40 * 512
    stream(eager_graph(wrapper), noise(2, n, 4), RATE, 1000, params=torch.full((4, n), 0.3))
    per_frame = torch.cat(wrapper.knobs[warmup_calls(wrapper) :])
    assert torch.equal(per_frame, torch.full_like(per_frame, torch.tensor(0.3) * 2))


@pytest.fixture(scope="module")
def any_policy_graph() -> torch.jit.ScriptModule:
    return compose(IdentitySpectral(1024, 256), adapter_options={"fifo": {"policy": "any"}}).scripted


@settings(max_examples=10, deadline=None)
@given(blocks=st.lists(st.integers(1, 8192), min_size=1, max_size=8), rate=st.integers(8000, 192000))
def test_any_host_blocks_give_the_same_output_under_the_any_policy(any_policy_graph, blocks: list[int], rate: int) -> None:
    x = noise(2, 12 * 1024, 5)
    reference = stream(any_policy_graph, x, rate, 8192)
    delay = any_policy_graph.calc_total_delay_samples()
    other = stream(any_policy_graph, x, rate, blocks, max_block_size=8192)
    assert any_policy_graph.get_underrun_count() == 0 and any_policy_graph.calc_total_delay_samples() == delay == 1023 - 1
    # the FIFO hands the STFT one hop per call whatever the host sends: the same arithmetic
    assert torch.equal(other, reference)
    assert snr_db(x[:, :-delay], other[:, delay:]) >= 130.0 and float((other[:, delay:] - x[:, :-delay]).abs().max()) <= 1e-5


@pytest.fixture(scope="module")
def magnitude_graph() -> torch.jit.ScriptModule:
    return compose(IdentitySpectral(2048, 512, "sqrt-hann", "magnitude")).scripted


@pytest.mark.parametrize("host_block", [64, 256, 1000, 4096])
def test_the_output_does_not_depend_on_the_host_block_size(magnitude_graph, host_block: int) -> None:
    graph = magnitude_graph
    x = noise(2, 40 * 1024, 6)
    n = x.size(1) - x.size(1) % host_block
    reference = stream(graph, x, RATE, 512)
    reference_delay = graph.calc_total_delay_samples()
    other = stream(graph, x[:, :n], RATE, host_block)
    delay = graph.calc_total_delay_samples()
    length = n - max(delay, reference_delay)
    difference = other[:, delay : delay + length] - reference[:, reference_delay : reference_delay + length]
    # other frames per call (1 to 8) batch the FFTs differently: float32 rounding of the peak
    assert float(difference.abs().max()) <= 1e-6 * float(reference.abs().max())
