"""The randomized-overdrive family end to end, against a numpy/scipy rendering of the same network."""

import math
from pathlib import Path

import numpy as np
import pytest
import scipy.signal
import torch

from neutone_core import FamilyError
from neutone_core.plugins import get_registry
from neutone_core.testing import check_family
from neutone_core.tools.host import stream
from neutone_core.tools.sources import build_wrapper
from neutone_ronn.network import ACTIVATIONS, TONE_CUTOFF_HZ, RandomizedOverdrive

SMALL = {"depth": "3", "channels": "4", "kernel_size": "5", "dilation_growth": "3"}
"""A small network, so the export's checks stay quick."""

NUMPY_ACTIVATIONS = {
    "tanh": np.tanh,
    "sin": np.sin,
    "hardtanh": lambda y: np.clip(y, -1.0, 1.0),
    "softsign": lambda y: y / (1.0 + np.abs(y)),
}


def reference(network: RandomizedOverdrive, audio: np.ndarray, sample_rate: int, drive_db: float, tone: float,
              level_db: float) -> np.ndarray:
    """The network in float64 with scipy: each causal dilated convolution as FIR filters (taps
    ``b[j·d] = w[K-1-j]``), the activations, tanh, the tone's Butterworth low-pass (bilinear,
    prewarped at its cutoff, as the state-variable filter) blended with the dry signal, the level."""
    signal = audio[:, None, :] * 10 ** (drive_db / 20)
    layers = list(network.layers)
    for index, layer in enumerate(layers):
        weight = layer.weight.detach().double().numpy()
        dilation = layer.dilation[0]
        out = np.zeros((signal.shape[0], weight.shape[0], signal.shape[2]))
        for o in range(weight.shape[0]):
            for c in range(weight.shape[1]):
                taps = np.zeros((weight.shape[2] - 1) * dilation + 1)
                taps[::dilation] = weight[o, c, ::-1]
                out[:, o] += scipy.signal.lfilter(taps, [1.0], signal[:, c], axis=-1)
        signal = NUMPY_ACTIVATIONS[network.activation](out) if index < len(layers) - 1 else np.tanh(out)
    distorted = signal[:, 0]
    b, a = scipy.signal.butter(2, TONE_CUTOFF_HZ, fs=sample_rate)
    low = scipy.signal.lfilter(b, a, distorted, axis=-1)
    return (low + tone * (distorted - low)) * 10 ** (level_db / 20)


def test_a_seed_composes_and_streams_as_the_reference_renders(tmp_path: Path) -> None:
    settings = ((48000, 512, 2), (44100, 128, 1))
    checked = check_family("randomized-overdrive", "7", tmp_path, SMALL, host_settings=settings, signal_samples=8192,
                           measure_delay=False)
    assert [p.spec.name for p in checked.export.plan] == ["mixer"]
    metadata = checked.export.metadata
    assert [metadata["neutone_parameters"][f"p{i}"]["name"] for i in (1, 2, 3)] == ["drive", "tone", "level"]
    network = build_wrapper(get_registry(), "7", "randomized-overdrive", SMALL).model
    for host in checked.hosts:
        expected = reference(network, host.audio.double().numpy(), host.sample_rate, 12.0, 0.6, -6.0)
        peak = float(np.abs(expected).max())
        np.testing.assert_allclose(host.output.numpy(), expected, rtol=0.0, atol=1e-4 * peak)
        silence = torch.zeros_like(host.audio)
        assert torch.equal(stream(checked.module, silence, host.sample_rate, host.block_size), silence)
        assert host.reported_delay == 0 and bool((host.response[:, 0] != 0).all()), "the impulse is heard where it enters"


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_every_activation_is_odd_and_follows_the_reference(activation: str) -> None:
    network = build_wrapper(get_registry(), "3", "randomized-overdrive", {**SMALL, "activation": activation}).model
    network.set_sample_rate(44100)
    audio = torch.rand(2, 3000, generator=torch.Generator().manual_seed(1)) - 0.5
    knobs = torch.tensor([24.0]), torch.tensor([0.3]), torch.tensor([0.0])
    with torch.no_grad():
        out = network(audio, *knobs).clone()
        network.reset()
        mirrored = network(-audio, *knobs).clone()
    torch.testing.assert_close(mirrored, -out, rtol=0.0, atol=1e-6)
    expected = reference(network, audio.double().numpy(), 44100, 24.0, 0.3, 0.0)
    np.testing.assert_allclose(out.numpy(), expected, rtol=0.0, atol=1e-4 * float(np.abs(expected).max()))


def test_the_seed_chooses_the_weights() -> None:
    def weights(seed: str) -> list[torch.Tensor]:
        return [layer.weight for layer in build_wrapper(get_registry(), seed, "randomized-overdrive").model.layers]

    assert all(torch.equal(a, b) for a, b in zip(weights("11"), weights("11"), strict=True))
    assert not any(torch.equal(a, b) for a, b in zip(weights("11"), weights("12"), strict=True))


def test_the_network_description_names_its_settings() -> None:
    wrapper = build_wrapper(get_registry(), "5", "randomized-overdrive", {"activation": "sin"})
    field = 1 + (13 - 1) * sum(2**i for i in range(4))
    assert wrapper.get_technical_description() == (
        "Causal TCN of random weights (seed 5, depth 4, channels 8, kernel_size 13, dilation_growth 2, activation sin, "
        f"receptive field {field} samples), tanh output, tone blending a 1 kHz low-pass."
    )


@pytest.mark.parametrize(
    ("source", "options", "message"),
    [
        ("seven", {}, "cannot build from 'seven': expected a seed, a whole number >= 0"),
        ("1", {"depth": "16", "kernel_size": "255", "dilation_growth": "16"}, "expected a receptive field of at most 65536"),
        ("1", {"activation": "relu"}, "option activation='relu' must be one of tanh, sin, hardtanh, softsign"),
    ],
)
def test_bad_sources_and_options_are_refused(source: str, options: dict[str, str], message: str) -> None:
    with pytest.raises(FamilyError, match=message):
        build_wrapper(get_registry(), source, "randomized-overdrive", options)


def test_level_is_in_decibels() -> None:
    network = build_wrapper(get_registry(), "2", "randomized-overdrive", SMALL).model
    audio = torch.rand(2, 1024, generator=torch.Generator().manual_seed(2)) - 0.5
    with torch.no_grad():
        loud = network(audio, torch.tensor([6.0]), torch.tensor([1.0]), torch.tensor([0.0])).clone()
        network.reset()
        quiet = network(audio, torch.tensor([6.0]), torch.tensor([1.0]), torch.tensor([-20.0])).clone()
    torch.testing.assert_close(quiet, loud * math.pow(10.0, -1.0), rtol=1e-6, atol=0.0)
