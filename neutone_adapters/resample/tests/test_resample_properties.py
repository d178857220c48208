"""Hypothesis properties over host rates 8000..192000 Hz and host blocks of 1..8192 samples."""

import numpy as np
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neutone_core.tools.host import impulse_delay, stream

from .resample_helpers import STANDARD_RATES, composed, round_trip_bound

host_rates = st.one_of(st.sampled_from(STANDARD_RATES), st.integers(160, 3840).map(lambda k: 50 * k))
native_rates = st.sampled_from([16000, 22050, 24000, 44100, 48000])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(host_rate=host_rates, native_rate=native_rates, block_size=st.integers(1, 8192), offset=st.integers(0, 300))
def test_impulse_delay_equals_reported_delay(host_rate: int, native_rate: int, block_size: int, offset: int) -> None:
    model = composed((native_rate,), (), 0)
    assert impulse_delay(model, host_rate, block_size, offset=offset) == model.calc_total_delay_samples()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    host_rate=host_rates,
    native_rate=native_rates,
    sizes=st.lists(st.integers(1, 8192), min_size=1, max_size=6),
    seed=st.integers(0, 2**31 - 1),
)
def test_any_partition_gives_the_same_output(host_rate: int, native_rate: int, sizes: list[int], seed: int) -> None:
    """Blocks of any lengths up to the announced size: same output as one-size blocks to within
    float32 rounding (other calls make other matrix shapes), exactly ``n`` samples back for ``n`` sent."""
    model = composed((native_rate,), (), 0)
    rng = np.random.default_rng(seed)
    x = torch.tensor(rng.uniform(-1, 1, (2, 3 * max(sizes) + 1000)), dtype=torch.float32)
    announced = max(sizes)
    reference = stream(model, x, host_rate, announced)
    partitioned = stream(model, x, host_rate, sizes, max_block_size=announced)
    assert partitioned.shape == x.shape
    stage = model.host.chain.inner
    assert (partitioned - reference).abs().max().item() <= round_trip_bound(stage.down.taps, stage.up.taps)
