"""The issue's quality targets at reduced cost: 48 kHz host / 512, 44.1 kHz pass-through model."""

import numpy as np
import pytest

from neutone_core.tools.host import stream

from .resample_helpers import composed, sine, snr_db

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
