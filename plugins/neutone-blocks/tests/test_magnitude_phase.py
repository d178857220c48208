"""MagnitudePhase's unit-phasor round trip against a numpy reference, zero bins included: the
magnitude is split's, the phasor is X / |X| (1 + 0j where |X| = 0), the join is |X| · phasor,
scripted, without allocating."""

import numpy as np
import pytest
import torch

from neutone_blocks.magnitude_phase import MagnitudePhase
from neutone_core.testing import count_allocations

FLOOR = 1e-8
SETTINGS = [
    {"power": 1.0},  # the STFT adapter's magnitude frames
    {"power": 1.0, "log": True, "floor": FLOOR},  # its log-magnitude frames
    {"power": 2.0, "log": True, "positive": True, "floor": FLOOR},
]
EPS = float(np.finfo(np.float32).eps)


def frames_with_zero_bins(channels: int, bins: int, frames: int) -> torch.Tensor:
    """``(channels, bins, frames)`` complex frames laid out frame by frame (as the STFT stage
    keeps them), with a silent frame, a zero DC bin, lone zero bins and a signed zero."""
    spectrum = torch.randn(channels, frames, bins, dtype=torch.complex64, generator=torch.Generator().manual_seed(bins))
    spectrum[:, 0] = 0
    spectrum[:, 1, 0] = 0
    spectrum[0, 1, 7] = complex(-0.0, 0.0)
    spectrum[-1, 1, 3] = complex(0.0, -0.0)
    return spectrum.transpose(1, 2)


def reference_magnitude(x: np.ndarray, settings: dict) -> np.ndarray:
    """``|x|^power``, floored and in log10 with ``log`` (shifted to >= 0 with ``positive``)."""
    m = np.abs(x) ** settings["power"]
    if settings.get("log"):
        m = np.log10(np.maximum(m, FLOOR)) - (np.log10(FLOOR) if settings.get("positive") else 0.0)
    return m


def reference_linear(m: np.ndarray, settings: dict) -> np.ndarray:
    """``|x|`` from what :func:`reference_magnitude` gives (floored again after the power)."""
    if settings.get("log"):
        m = np.maximum(10.0 ** (m + (np.log10(FLOOR) if settings.get("positive") else 0.0)), FLOOR)
    return m ** (1.0 / settings["power"])


@pytest.mark.parametrize("settings", SETTINGS)
def test_unit_phasor_round_trip_matches_numpy_with_zero_bins(settings: dict) -> None:
    block = torch.jit.script(MagnitudePhase(**settings))
    spectrum = frames_with_zero_bins(2, 1025, 3)
    shape = spectrum.shape
    magnitude, phase, scratch = torch.zeros(shape), torch.zeros(shape), torch.zeros(shape)
    phasor, joined = torch.zeros(shape, dtype=torch.complex64), torch.zeros(shape, dtype=torch.complex64)

    block.split(spectrum, magnitude, phase)
    radians_magnitude = magnitude.clone()
    block.split_phasor(spectrum, magnitude, phasor, scratch)
    assert torch.equal(magnitude, radians_magnitude)  # the same hypot and the same ops after it

    x = spectrum.numpy().astype(np.complex128)
    zero = np.abs(x) == 0
    assert zero.sum() == 2 * 1025 + 2 + 2  # the silent frame, the DC bins, the two lone zeros
    expected_phasor = np.where(zero, 1.0 + 0.0j, x / np.where(zero, 1.0, np.abs(x)))
    assert np.array_equal(phasor.numpy()[zero], expected_phasor[zero])  # exactly 1 + 0j
    assert np.abs(phasor.numpy() - expected_phasor).max() <= 2 * EPS
    expected_magnitude = reference_magnitude(x, settings)
    assert np.allclose(magnitude.numpy(), expected_magnitude, rtol=8 * EPS, atol=8 * EPS * np.abs(expected_magnitude).max())

    # a model's magnitudes, zero bins given a level too: |X| · phasor, as join does with the radians
    edited = magnitude * 0.5 + 0.25
    block.join_phasor(edited, phasor, joined, scratch)
    linear = reference_linear(edited.numpy().astype(np.float64), settings)
    expected = linear * expected_phasor
    assert np.array_equal(joined.numpy()[zero].imag, np.zeros(zero.sum()))
    assert np.allclose(joined.numpy(), expected, rtol=0, atol=16 * EPS * np.abs(expected).max())
    # the phase in radians gives the same but at zero bins, where atan2 reads the zeros' signs (±π for -0 + 0j)
    polar = torch.zeros(shape, dtype=torch.complex64)
    block.join(edited, phase, polar, scratch)
    assert np.allclose(polar.numpy()[~zero], expected[~zero], rtol=0, atol=16 * EPS * np.abs(expected).max())


@pytest.mark.parametrize("settings", SETTINGS)
def test_unit_phasor_round_trip_restores_the_spectrum_and_allocates_nothing(settings: dict) -> None:
    block = torch.jit.script(MagnitudePhase(**settings))
    spectrum = frames_with_zero_bins(2, 513, 2)
    shape = spectrum.shape
    magnitude, scratch = torch.zeros(shape), torch.zeros(shape)
    phasor, joined = torch.zeros(shape, dtype=torch.complex64), torch.zeros(shape, dtype=torch.complex64)

    def round_trip() -> None:
        block.split_phasor(spectrum, magnitude, phasor, scratch)
        block.join_phasor(magnitude, phasor, joined, scratch)

    round_trip()
    x = spectrum.numpy().astype(np.complex128)
    floor = FLOOR ** (1.0 / settings["power"]) if settings.get("log") else 0.0  # silence comes back at the floor, phase 0
    expected = np.where(np.abs(x) == 0, floor + 0.0j, x)
    assert np.allclose(joined.numpy(), expected, rtol=0, atol=8 * EPS * np.abs(x).max())
    silent = joined.numpy()[np.abs(x) == 0]
    assert np.array_equal(silent.imag, np.zeros(silent.size))
    assert np.allclose(silent.real, floor, rtol=4 * EPS, atol=0)
    assert count_allocations(round_trip, 5) == 0


def test_unit_phasor_needs_a_magnitude() -> None:
    block = MagnitudePhase(power=None)
    planes, spectrum = torch.zeros(1, 3, 1), torch.zeros(1, 3, 1, dtype=torch.complex64)
    with pytest.raises(RuntimeError, match="needs a magnitude"):
        block.split_phasor(spectrum, planes, spectrum.clone(), planes)
    with pytest.raises(RuntimeError, match="needs a magnitude"):
        block.join_phasor(planes, spectrum, spectrum.clone(), planes)
