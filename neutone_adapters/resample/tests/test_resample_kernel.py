"""The polyphase kernel on its own: references, TorchScript, streaming equals offline."""

import numpy as np
import pytest
import scipy.signal
import soxr
import torch

from neutone_adapters.resample.design import farrow_coefficients, rate_ticks
from neutone_adapters.resample.polyphase import QUALITY_PRESETS, PolyphaseResampler, resample

from .resample_helpers import rounding_bound, snr_db

RATE_PAIRS = [(48000, 44100), (44100, 48000), (96000, 44100), (16000, 48000), (48000, 8000), (22050, 24000)]


def band_limited_tones(rate: int, n: int, frequencies: list[float]) -> np.ndarray:
    t = np.arange(n) / rate
    return sum(np.sin(2 * np.pi * f * t + i) for i, f in enumerate(frequencies)) / len(frequencies)


@pytest.mark.parametrize(("in_rate", "out_rate"), RATE_PAIRS)
def test_tones_match_the_exact_band_limited_signal(in_rate: int, out_rate: int) -> None:
    """Tones inside the pass band come out as the same tones sampled at the new rate:
    error <= -95 dB relative to the signal (float32 kernel)."""
    n = in_rate // 4
    low = min(in_rate, out_rate)
    frequencies = [0.01 * low, 0.2 * low, 0.38 * low]
    x = band_limited_tones(in_rate, n, frequencies)
    y = resample(torch.tensor(x, dtype=torch.float32)[None], in_rate, out_rate)[0].numpy()
    assert y.shape[0] == -(-n * out_rate // in_rate)
    exact = band_limited_tones(out_rate, y.shape[0], frequencies)
    cut = y.shape[0] // 8
    assert snr_db(exact[cut:-cut], y[cut:-cut]) > 95


@pytest.mark.parametrize(("in_rate", "out_rate"), RATE_PAIRS[:3])
def test_agrees_with_soxr_and_scipy(in_rate: int, out_rate: int) -> None:
    """Against soxr (VHQ) and scipy's resample_poly on noise with nothing above 35 % of the lower
    rate: the residual is >= 90 dB below the signal against soxr, >= 60 dB against scipy
    (whose own Kaiser filter agrees with soxr to only 66 dB here)."""
    rng = np.random.default_rng(1)
    n = in_rate // 4
    spectrum = np.fft.rfft(rng.standard_normal(n))
    spectrum[np.fft.rfftfreq(n, 1 / in_rate) > 0.35 * min(in_rate, out_rate)] = 0
    x = np.fft.irfft(spectrum, n)
    ours = resample(torch.tensor(x, dtype=torch.float32)[None], in_rate, out_rate)[0].numpy()
    by_soxr = soxr.resample(x, in_rate, out_rate, quality="VHQ")
    g = np.gcd(in_rate, out_rate)
    by_scipy = scipy.signal.resample_poly(x, out_rate // g, in_rate // g, window=("kaiser", 14.0))
    length = min(len(ours), len(by_soxr), len(by_scipy))
    cut = length // 8
    assert snr_db(by_soxr[cut : length - cut], ours[cut : length - cut]) > 90
    assert snr_db(by_scipy[cut : length - cut], ours[cut : length - cut]) > 60


def streaming(resampler: torch.nn.Module, x: torch.Tensor, sizes: list[int]) -> torch.Tensor:
    pieces = []
    start = 0
    for size in sizes:
        resampler.push(x[:, start : start + size])
        start += size
        count = resampler.available() - resampler.outputs_done
        if count > 0:
            pieces.append(resampler.pull(count).clone())
    return torch.cat(pieces, 1)


@pytest.mark.parametrize(("in_rate", "out_rate"), RATE_PAIRS)
def test_streaming_equals_one_block(in_rate: int, out_rate: int) -> None:
    """Random partitions (1..700 samples) give the one-block output to within float32 rounding
    (the two use other matrix shapes)."""
    rng = np.random.default_rng(in_rate + out_rate)
    n = 6000
    x = torch.tensor(rng.uniform(-1, 1, (3, n)), dtype=torch.float32)
    quality = QUALITY_PRESETS["high"]
    whole = PolyphaseResampler()
    whole.configure(in_rate, out_rate, 3, 0, n, n * out_rate // in_rate + 2, quality, 5)
    reference = streaming(whole, x, [n])
    sizes = []
    while sum(sizes) < n:
        sizes.append(int(min(rng.integers(1, 700), n - sum(sizes))))
    pieces = PolyphaseResampler()
    pieces.configure(in_rate, out_rate, 3, 0, 700, 700 * out_rate // in_rate + 2, quality, 5)
    streamed = streaming(pieces, x, sizes)
    assert streamed.shape == reference.shape
    assert (streamed - reference).abs().max().item() <= rounding_bound(whole.taps)


def test_torchscript_round_trip_matches_eager() -> None:
    x = torch.randn(2, 3000)
    eager = PolyphaseResampler()
    scripted = torch.jit.script(PolyphaseResampler())
    for module in (eager, scripted):
        module.configure(48000, 44100, 2, 0, 512, 512, QUALITY_PRESETS["low-latency"], 0)
    sizes = [512] * 5 + [440]
    assert torch.equal(streaming(eager, x, sizes), streaming(scripted, x, sizes))


@pytest.mark.parametrize(("in_rate", "out_rate"), RATE_PAIRS)
def test_held_signals_take_the_nearest_input_sample(in_rate: int, out_rate: int) -> None:
    """A held ramp (5 + its sample index) reads back, for output ``j``, the input sample
    nearest ``j``'s content time ``(j * Q + phase - C) / P`` (ties up); before the stream, the
    first value."""
    resampler = PolyphaseResampler()
    resampler.configure(in_rate, out_rate, 1, 1, 300, 300 * out_rate // in_rate + 2, QUALITY_PRESETS["high"], 3)
    ramp = 5 + torch.arange(3000, dtype=torch.float32)
    got = []
    for start in range(0, 3000, 300):
        resampler.push(torch.stack([torch.zeros(300), ramp[start : start + 300]]))
        count = resampler.available() - resampler.outputs_done
        got.append(resampler.pull_with(count)[1].clone()[0])
    held = torch.cat(got).numpy()
    j = np.arange(len(held))
    p, q, c = resampler.input_ticks, resampler.output_ticks, resampler.center_ticks
    nearest = np.floor((j * q + 3 - c + p // 2) / p)
    assert np.array_equal(held, 5 + np.maximum(nearest, 0))


@pytest.mark.parametrize(("in_rate", "out_rate"), RATE_PAIRS)
def test_farrow_kernel_matches_the_periodic_kernel(in_rate: int, out_rate: int) -> None:
    """Rate pairs with a long period (e.g. 48000 -> 47999 Hz) use the Farrow kernel; forced here on
    common pairs, it gives the periodic kernel's held signals exactly and its outputs to within
    float32 rounding plus the polynomial fit (each tap within 130 dB of the largest)."""
    long_period = PolyphaseResampler()
    long_period.configure(48000, 47999, 1, 0, 512, 512, QUALITY_PRESETS["high"], 0)
    assert long_period.use_farrow
    rng = np.random.default_rng(7)
    x = torch.tensor(rng.uniform(-1, 1, (3, 6000)), dtype=torch.float32)
    results = []
    for limit in (1 << 30, 0):
        resampler = PolyphaseResampler()
        resampler.period_table_limit = limit
        resampler.configure(in_rate, out_rate, 2, 1, 500, 500 * out_rate // in_rate + 2, QUALITY_PRESETS["high"], 5)
        assert resampler.use_farrow == (limit == 0)
        audio, held = [], []
        for start in range(0, 6000, 500):
            count = resampler.push(x[:, start : start + 500])
            pulled = resampler.pull_with(count)
            audio.append(pulled[0].clone())
            held.append(pulled[1].clone())
        results.append((torch.cat(audio, 1), torch.cat(held, 1)))
    high = QUALITY_PRESETS["high"]
    taps_at_phase_0 = farrow_coefficients(in_rate, out_rate, high, rate_ticks(in_rate, out_rate, high))[:, 0]
    fit = resampler.taps * 10 ** (-130 / 20) * taps_at_phase_0.abs().max().item()
    assert (results[0][0] - results[1][0]).abs().max().item() <= rounding_bound(resampler.taps) + fit
    assert torch.equal(results[0][1], results[1][1])


@pytest.mark.parametrize("held_channels", [0, 2])
def test_configured_resampler_saves_and_loads(held_channels: int) -> None:
    """A configured scripted resampler (with its cached views) survives torch.jit.save / load
    and streams exactly like the original."""
    import io

    resampler = torch.jit.script(PolyphaseResampler())
    resampler.configure(48000, 44100, 2, held_channels, 512, 471, QUALITY_PRESETS["high"], 3)
    buffer = io.BytesIO()
    torch.jit.save(resampler, buffer)
    buffer.seek(0)
    loaded = torch.jit.load(buffer)
    x = torch.randn(2 + held_channels, 3000)
    sizes = [512] * 5 + [440]
    assert torch.equal(streaming(resampler, x, sizes), streaming(loaded, x, sizes))
