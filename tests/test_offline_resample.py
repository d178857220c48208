"""The render tool's offline resampler against exact band-limited signals, scipy and soxr."""

import math

import numpy as np
import pytest
import scipy.signal
import soxr
import torch

from neutone_core.offline_resample import resample

RATE_PAIRS = [(44100, 48000), (48000, 44100), (22050, 48000), (96000, 8000), (48000, 96000), (44101, 48000)]


def tones(rate: int, n: int, frequencies: list[float]) -> np.ndarray:
    t = np.arange(n) / rate
    return sum(np.sin(2 * math.pi * f * t + i) for i, f in enumerate(frequencies)) / len(frequencies)


def interior(x: np.ndarray) -> np.ndarray:
    """Drop the first and last tenth, where the signal starts and stops (zero outside)."""
    cut = x.shape[-1] // 10
    return x[..., cut:-cut]


@pytest.mark.parametrize(("from_rate", "to_rate"), RATE_PAIRS)
def test_band_limited_tones_come_out_exact(from_rate: int, to_rate: int) -> None:
    frequencies = [100.0, 0.12 * min(from_rate, to_rate), 0.4 * min(from_rate, to_rate)]
    x = tones(from_rate, from_rate, frequencies)
    y = resample(torch.from_numpy(np.stack([x, -x])).float(), from_rate, to_rate).numpy()
    assert y.shape == (2, math.ceil(from_rate * to_rate / from_rate))
    expected = tones(to_rate, y.shape[1], frequencies)
    # error relative to the peak (1.0): 1e-4 is -80 dB
    assert np.abs(interior(y[0]) - interior(expected)).max() < 1e-4
    assert np.array_equal(y[1], -y[0])


@pytest.mark.parametrize(("from_rate", "to_rate"), RATE_PAIRS)
def test_agrees_with_soxr_very_high_quality(from_rate: int, to_rate: int) -> None:
    x = tones(from_rate, from_rate // 2, [220.0, 0.3 * min(from_rate, to_rate)]).astype(np.float32)
    ours = resample(torch.from_numpy(x)[None], from_rate, to_rate)[0].numpy()
    theirs = soxr.resample(x, from_rate, to_rate, quality="VHQ")
    # ours has ceil(n * to / from) samples like scipy's; soxr rounds to nearest
    assert abs(ours.size - theirs.size) <= 1
    n = min(ours.size, theirs.size)
    assert np.abs(interior(ours[:n]) - interior(theirs[:n])).max() < 1e-4


@pytest.mark.parametrize(("from_rate", "to_rate"), [(44100, 48000), (48000, 44100), (96000, 8000), (16000, 48000)])
def test_agrees_with_scipy_resample_poly_below_its_transition_band(from_rate: int, to_rate: int) -> None:
    # scipy's default Kaiser filter (beta 5, 10 zero crossings) rolls off earlier than ours,
    # so compare where both are flat: below a quarter of the lower rate; tolerance -60 dB.
    x = tones(from_rate, from_rate // 2, [50.0, 0.05 * min(from_rate, to_rate), 0.2 * min(from_rate, to_rate)])
    common = math.gcd(from_rate, to_rate)
    theirs = scipy.signal.resample_poly(x, to_rate // common, from_rate // common)
    ours = resample(torch.from_numpy(x).float()[None], from_rate, to_rate)[0].numpy()
    assert ours.shape == theirs.shape
    assert np.abs(interior(ours) - interior(theirs)).max() < 1e-3


def test_same_rate_is_a_copy_and_constant_stays_constant() -> None:
    x = torch.rand(2, 1000)
    same = resample(x, 48000, 48000)
    assert torch.equal(same, x) and same.data_ptr() != x.data_ptr()
    level = resample(torch.full((1, 48000), 0.5), 48000, 44100)
    assert np.abs(interior(level.numpy()) - 0.5).max() < 1e-5


def test_bad_rates_are_refused() -> None:
    with pytest.raises(ValueError, match="must be >= 1"):
        resample(torch.zeros(1, 10), 0, 48000)
