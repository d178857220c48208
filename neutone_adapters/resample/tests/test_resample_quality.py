"""The issue's quality targets at reduced cost: 48 kHz host / 512, 44.1 kHz pass-through model."""

import numpy as np
import pytest
import torch

from neutone_core.tools.host import stream

from .resample_helpers import composed, exact_tone, sine, snr_db

RATE = 48000
N = 24000
SETTLE = 4000


def round_trip(frequency: float, quality: str) -> tuple[np.ndarray, np.ndarray]:
    """Input and delay-aligned output of the round trip, settled part only (channel 0)."""
    model = composed((44100,), (), 0, quality)
    x = sine(frequency, RATE, N)
    y = stream(model, x, RATE, 512)
    delay = model.calc_total_delay_samples()
    return x[0, SETTLE : N - delay].numpy(), y[0, SETTLE + delay :].numpy()


def grid_snr_db(quality: str, frequencies: list[int], host_rate: int = RATE) -> dict[int, float]:
    """Round-trip SNR (dB) of exact-phase tones, two per stream (one per channel), after the delay."""
    model = composed((44100,), (), 0, quality)
    snr = {}
    for i in range(0, len(frequencies), 2):
        pair = frequencies[i : i + 2] if i + 1 < len(frequencies) else [frequencies[i]] * 2
        x = torch.tensor(np.stack([exact_tone(f, host_rate, N) for f in pair]), dtype=torch.float32)
        y = stream(model, x, host_rate, 512)
        delay = model.calc_total_delay_samples()
        for channel, frequency in enumerate(pair):
            reference = x[channel, SETTLE : N - delay].double().numpy()
            snr[frequency] = snr_db(reference, y[channel, SETTLE + delay :].double().numpy())
    return snr


@pytest.mark.parametrize(("quality", "top_hz", "least_snr_db"), [("high", 16000, 100), ("low-latency", 15000, 75)])
def test_snr_on_a_grid_of_tones(quality: str, top_hz: int, least_snr_db: float) -> None:
    """Every tone of a 500 Hz grid from 20 Hz to ``top_hz`` (the benchmark runs the 100 Hz grid):
    high >= 100 dB (measured worst 112.5 dB, at 11.5 kHz), low-latency >= 75 dB (79.5 dB)."""
    snr = grid_snr_db(quality, [20] + list(range(500, top_hz + 1, 500)))
    worst = min(snr, key=snr.get)
    assert snr[worst] >= least_snr_db, f"{quality}: {snr[worst]:.1f} dB at {worst} Hz"


def test_coprime_host_rate_keeps_the_quality() -> None:
    """A host at 47999 Hz (Farrow kernel both ways): high >= 100 dB on a 1 kHz grid to 16 kHz
    (measured worst 112.6 dB on the 500 Hz grid, as at 48000 Hz)."""
    model = composed((44100,), (), 0, "high")
    model.prepare(47999, 512, 2, 0, 0)
    assert model.host.chain.inner.down.use_farrow and model.host.chain.inner.up.use_farrow
    snr = grid_snr_db("high", [20] + list(range(1000, 16001, 1000)), 47999)
    worst = min(snr, key=snr.get)
    assert snr[worst] >= 100, f"{snr[worst]:.1f} dB at {worst} Hz"


@pytest.mark.parametrize(("frequency", "least_snr_db"), [(20, 90), (1000, 90), (10000, 90), (16000, 90), (18000, 60)])
def test_high_quality_snr(frequency: float, least_snr_db: float) -> None:
    reference, output = round_trip(frequency, "high")
    assert snr_db(reference, output) >= least_snr_db


@pytest.mark.parametrize("frequency", [1000, 18000])
def test_high_quality_pass_band_gain(frequency: float) -> None:
    reference, output = round_trip(frequency, "high")
    gain_db = 20 * np.log10(np.std(output) / np.std(reference))
    assert abs(gain_db) <= 0.05


@pytest.mark.parametrize("frequency", [5000, 15000])
def test_alias_and_image_products_below_minus_90_dbc(frequency: float) -> None:
    """Kaiser-windowed (beta 38) spectrum: the largest component away from the tone is
    <= -90 dB relative to it."""
    _, output = round_trip(frequency, "high")
    window = np.kaiser(len(output), 38.0)
    spectrum = np.abs(np.fft.rfft(output * window))
    peak = int(np.argmax(spectrum))
    spectrum[max(peak - 40, 0) : peak + 41] = 0
    assert 20 * np.log10(spectrum.max() / np.abs(np.fft.rfft(output * window))[peak]) <= -90


@pytest.mark.parametrize("frequency", [1000, 5000, 10000])
def test_low_latency_snr(frequency: float) -> None:
    reference, output = round_trip(frequency, "low-latency")
    assert snr_db(reference, output) >= 60
