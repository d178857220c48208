"""The FIFO's least delay against a brute-force maximum over one period of the block pattern."""

import math

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from neutone_adapters.fifo.stage import fifo_delay_samples


def brute_force_delay(numerator: int, denominator: int, offset: int, model_block_size: int) -> int:
    """max over one full period of k of (samples handed in by call k) mod M."""
    period_calls = denominator * model_block_size // math.gcd(numerator, model_block_size)
    return max(((k * numerator + offset) // denominator) % model_block_size for k in range(1, period_calls + 1))


@settings(max_examples=300, deadline=None)
@given(
    numerator=st.integers(1, 9000),
    denominator=st.integers(1, 12),
    offset=st.integers(0, 50),
    model_block_size=st.integers(1, 700),
)
def test_closed_form_delay_equals_brute_force_maximum_residue(
    numerator: int, denominator: int, offset: int, model_block_size: int
) -> None:
    assert fifo_delay_samples(numerator, denominator, offset, model_block_size) == brute_force_delay(
        numerator, denominator, offset, model_block_size
    )


@settings(max_examples=200, deadline=None)
@given(host_block_size=st.integers(1, 8192), model_block_size=st.sampled_from([1, 64, 100, 256, 1024, 2048, 4096, 8192]))
def test_integer_host_block_delay_is_native_size_minus_gcd(host_block_size: int, model_block_size: int) -> None:
    expected = model_block_size - math.gcd(host_block_size, model_block_size)
    assert fifo_delay_samples(host_block_size, 1, 0, model_block_size) == expected


def test_delay_matches_letz_callback_adaptation_figures() -> None:
    assert fifo_delay_samples(512, 1, 0, 2048) == 1536
    assert fifo_delay_samples(2048, 1, 0, 2048) == 0
    assert fifo_delay_samples(4096, 1, 0, 2048) == 0
    assert fifo_delay_samples(3000, 1, 0, 2048) == 2040


def test_fractional_resampler_pattern_delay_is_exact_without_period_cap() -> None:
    # 44.1 kHz host -> 48 kHz model at 512 samples: 470.4 model samples per call on average.
    assert fifo_delay_samples(2352, 5, 0, 2048) == brute_force_delay(2352, 5, 0, 2048)
    # An odd pattern whose period (10**6 * 8192 calls) no loop could walk is still exact.
    assert fifo_delay_samples(999_999_937, 1_000_000, 0, 8192) == (1_000_000 * 8192 - 1) // 1_000_000


def test_scripted_delay_formula_equals_python() -> None:
    scripted = torch.jit.script(fifo_delay_samples)
    for args in [(512, 1, 0, 2048), (2352, 5, 3, 2048), (7, 3, 2, 100), (8192, 1, 0, 1)]:
        assert scripted(*args) == fifo_delay_samples(*args)
