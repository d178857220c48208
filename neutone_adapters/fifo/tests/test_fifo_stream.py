"""Streaming through the FIFO: exact delay, block-split independence, underruns, look-behind."""

import math
from typing import List

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from neutone_adapters.fifo.tests.fifo_helpers import delayed, drive, scripted_root
from neutone_core.tools.host import impulse_delay

HOST_BLOCK_SIZES = [1, 32, 64, 100, 512, 2048, 4096, 8192]


def least_delay(host_block_size: int, native_sizes: List[int]) -> int:
    return min(size - math.gcd(host_block_size, size) for size in native_sizes)


@pytest.mark.parametrize("n_channels", [1, 2])
@pytest.mark.parametrize("native_sizes", [(2048,), (1024, 2048)])
@pytest.mark.parametrize("host_block_size", HOST_BLOCK_SIZES)
def test_measured_impulse_delay_equals_reported_delay(host_block_size: int, native_sizes: tuple, n_channels: int) -> None:
    module = scripted_root("pass", native_sizes)
    measured = impulse_delay(module, 48000, host_block_size, n_channels, offset=3)
    assert measured == module.calc_total_delay_samples()
    assert measured == least_delay(host_block_size, list(native_sizes))


@st.composite
def host_stream(draw: st.DrawFn) -> tuple:
    buffer_size = draw(st.integers(1, 8192))
    blocks = draw(st.lists(st.integers(1, buffer_size), min_size=1, max_size=8))
    sample_rate = draw(st.integers(8000, 192000))
    return buffer_size, blocks, sample_rate


@settings(max_examples=50, deadline=None)
@given(stream=host_stream(), native_sizes=st.sampled_from([(64,), (1000,), (256, 1024)]), n_channels=st.sampled_from([1, 2]))
def test_any_policy_random_block_sequences_never_underrun(stream: tuple, native_sizes: tuple, n_channels: int) -> None:
    buffer_size, blocks, sample_rate = stream
    module = scripted_root("pass", native_sizes, policy="any")
    audio = torch.rand(n_channels, sum(blocks) + max(native_sizes) + 2 * buffer_size) + 0.5
    out = drive(module, audio, blocks, sample_rate=sample_rate, buffer_size=buffer_size)
    delay = module.calc_total_delay_samples()
    assert delay == min(native_sizes) - 1
    assert module.get_underrun_count() == 0
    assert torch.equal(out, delayed(audio, delay))


@settings(max_examples=50, deadline=None)
@given(stream=host_stream(), kind=st.sampled_from(["gain", "delay"]))
def test_streaming_model_through_fifo_equals_whole_signal_output_delayed(stream: tuple, kind: str) -> None:
    buffer_size, blocks, sample_rate = stream
    module = scripted_root(kind, (256, 1024), policy="any")
    audio = torch.rand(2, sum(blocks) + 1024 + 2 * buffer_size) * 2 - 1
    out = drive(module, audio, blocks, sample_rate=sample_rate, buffer_size=buffer_size)
    whole = audio * 0.5 if kind == "gain" else delayed(audio, 37)
    assert module.get_underrun_count() == 0
    assert torch.equal(out, delayed(whole, module.calc_total_delay_samples()))


@settings(max_examples=50, deadline=None)
@given(
    host_block_size=st.integers(1, 8192),
    sample_rate=st.integers(8000, 192000),
    native_sizes=st.sampled_from([(2048,), (1024, 2048), (100, 4096)]),
)
def test_fixed_policy_host_keeping_its_block_size_gets_least_delay_and_exact_output(
    host_block_size: int, sample_rate: int, native_sizes: tuple
) -> None:
    module = scripted_root("gain", native_sizes)
    calls = max(3 * max(native_sizes) // host_block_size, 4)
    length = calls * host_block_size  # whole blocks: a cut-short last call would break the promise
    audio = torch.rand(2, length) * 2 - 1
    out = drive(module, audio, [host_block_size], sample_rate=sample_rate)
    delay = module.calc_total_delay_samples()
    assert delay == least_delay(host_block_size, list(native_sizes))
    assert module.get_underrun_count() == 0
    assert torch.equal(out, delayed(audio * 0.5, delay))


@settings(max_examples=50, deadline=None)
@given(
    stream=host_stream(),
    native_sizes=st.sampled_from([(2048,), (1024, 2048), (100,)]),
    n_channels=st.sampled_from([1, 2]),
)
def test_fixed_policy_broken_pattern_fills_silence_counts_underruns_and_stays_aligned(
    stream: tuple, native_sizes: tuple, n_channels: int
) -> None:
    buffer_size, blocks, sample_rate = stream
    module = scripted_root("pass", native_sizes)
    audio = torch.rand(n_channels, sum(blocks) + 2 * max(native_sizes) + buffer_size) + 0.5
    out = drive(module, audio, blocks, sample_rate=sample_rate, buffer_size=buffer_size)
    delay = module.calc_total_delay_samples()
    assert delay == least_delay(buffer_size, list(native_sizes))
    expected = delayed(audio, delay)
    silent = out == 0
    assert torch.equal(out[~silent], expected[~silent]), "samples after an underrun must keep the reported delay"
    if module.get_underrun_count() == 0:
        assert torch.equal(out, expected)
    else:
        assert silent[:, delay:].any()


def test_fixed_policy_known_broken_pattern_counts_each_short_call() -> None:
    module = scripted_root("pass", (2048,))
    audio = torch.rand(2, 512 * 3 + 256 * 3) + 0.5
    out = drive(module, audio, [512, 512, 512, 256, 256, 256], buffer_size=512)
    # D = 1536. After three 512s the queue is empty; the first 256 finds nothing (underrun, silence);
    # the second completes 2048 input samples: the model runs, the skipped 256 are dropped and the
    # stream goes on at the reported delay.
    assert module.get_underrun_count() == 1
    assert torch.equal(out[:, :1792], torch.zeros(2, 1792))
    assert torch.equal(out[:, 1792:], audio[:, 256:768])


@pytest.mark.parametrize("native_sizes", [(256,), ()])
@settings(max_examples=20, deadline=None)
@given(blocks=st.lists(st.integers(1, 700), min_size=1, max_size=6))
def test_look_behind_holds_the_newest_past_samples(native_sizes: tuple, blocks: List[int]) -> None:
    look_behind = 300
    module = scripted_root("look_behind", native_sizes, look_behind_samples=look_behind, policy="any")
    audio = torch.rand(2, 3000) + 0.5
    out = drive(module, audio, blocks, buffer_size=700)
    fifo_delay = 255 if native_sizes else 0
    assert module.calc_total_delay_samples() == fifo_delay + look_behind
    assert module.calc_buffering_delay_samples() == fifo_delay
    assert torch.equal(out, delayed(audio, fifo_delay + look_behind))


def test_look_behind_only_model_measured_delay_is_its_own() -> None:
    module = scripted_root("look_behind", (), look_behind_samples=300)
    assert impulse_delay(module, 44100, 128, 2, offset=5) == 300
    assert module.calc_buffering_delay_samples() == 0
    assert module.host.chain.inner.is_active()


def test_look_behind_params_reach_the_model_aligned_with_audio() -> None:
    module = scripted_root("param_echo", (128,), look_behind_samples=64, policy="any")
    length = 4000
    params = torch.rand(4, length)
    out = drive(module, torch.zeros(1, length), [100, 37, 512], params=params, buffer_size=512)
    delay = module.calc_total_delay_samples()
    assert delay == 127
    assert torch.equal(out, delayed(params[:1], delay))
