"""Models, signals and measures shared by the resampler tests."""

from functools import cache
from typing import Dict, List, Tuple

import numpy as np
import torch
from torch import Tensor

from neutone_core import compose
from neutone_core.testing import PassThroughWrapper

STANDARD_RATES = [8000, 16000, 22050, 24000, 32000, 44100, 48000, 88200, 96000, 176400, 192000]


class DelayWrapper(PassThroughWrapper):
    """Stereo causal delay of exactly the ``model_delay_samples`` it declares, held in model
    state, so impulse tests see the declared delay. Shape: ``(2, n) -> (2, n)``."""

    def __init__(self, native_sample_rates: List[int], native_buffer_sizes: List[int], delay_samples: int) -> None:
        super().__init__(
            native_sample_rates=native_sample_rates, native_buffer_sizes=native_buffer_sizes, model_delay_samples=delay_samples
        )
        self.register_buffer("memory", torch.zeros(2, delay_samples))
        self.register_buffer("joined", torch.zeros(2, 0))

    def reset_model(self) -> bool:
        self.memory.zero_()
        return True

    def do_forward_pass(self, x: Tensor, params: Dict[str, Tensor]) -> Tensor:
        if self.memory.size(1) == 0:
            return x
        joined = torch.cat([self.memory, x], 1)
        n = x.size(1)
        self.memory.copy_(joined[:, n:])
        return joined[:, :n]


class TanhWrapper(PassThroughWrapper):
    """Stereo ``tanh(3 x) * knob``: nonlinear, so any change in what the model hears shows.
    Shape: ``(2, n) -> (2, n)``."""

    def __init__(self, native_sample_rates: List[int], native_buffer_sizes: List[int]) -> None:
        super().__init__(native_sample_rates=native_sample_rates, native_buffer_sizes=native_buffer_sizes)

    def do_forward_pass(self, x: Tensor, params: Dict[str, Tensor]) -> Tensor:
        return torch.tanh(3.0 * x) * params["p0"]


class RecordingWrapper(PassThroughWrapper):
    """Pass-through that keeps a copy of every block it is given (read it from eager graphs)."""

    blocks: List[Tensor]

    def __init__(self, native_sample_rates: List[int], native_buffer_sizes: List[int]) -> None:
        super().__init__(native_sample_rates=native_sample_rates, native_buffer_sizes=native_buffer_sizes)
        self.blocks: List[Tensor] = []

    def reset_model(self) -> bool:
        self.blocks.clear()
        return True

    def do_forward_pass(self, x: Tensor, params: Dict[str, Tensor]) -> Tensor:
        self.blocks.append(x.clone())
        return x


class KnobToAudioWrapper(PassThroughWrapper):
    """Outputs its first knob, sample by sample, on both channels (the knobs are not
    averaged). Shape: ``(2, n) -> (2, n)``."""

    def aggregate_params(self, params: Tensor) -> Tensor:
        return params

    def do_forward_pass(self, x: Tensor, params: Dict[str, Tensor]) -> Tensor:
        return params["p0"].unsqueeze(0).expand(2, x.size(1))


@cache
def composed(
    native_rates: Tuple[int, ...], native_sizes: Tuple[int, ...] = (), delay: int = 0, quality: str = "high"
) -> torch.jit.ScriptModule:
    """The scripted root of a delaying pass-through model with the given needs."""
    wrapper = DelayWrapper(list(native_rates), list(native_sizes), delay)
    return compose(wrapper, adapter_options={"resample": {"quality": quality}}).scripted


def exact_tone(frequency: float, rate: int, n: int) -> np.ndarray:
    """``(n,)`` unit sine at ``frequency`` Hz sampled at ``rate`` Hz with exact phase: the sample
    index is reduced modulo ``rate`` before the float64 sine, so late samples are as exact as
    early ones."""
    return np.sin(2 * np.pi * frequency * (np.arange(n) % rate) / rate)


def sine(frequency: float, rate: int, n: int, channels: int = 2) -> Tensor:
    """``(channels, n)`` float32 :func:`exact_tone`."""
    return torch.tensor(exact_tone(frequency, rate, n), dtype=torch.float32).repeat(channels, 1)


def rounding_bound(taps: int) -> float:
    """Largest difference, per unit of input magnitude, between two float32 evaluations of one
    output summed in different orders (other block sizes, matrix shapes or CPU instruction sets):
    ``2 * gamma_n * sum |h|`` with ``gamma_n ~ n * eps / 2`` for ``n = taps + 16`` terms (the taps,
    plus the Farrow kernel's polynomial terms) and ``sum |h| <= 2`` (Higham, *Accuracy and
    Stability of Numerical Algorithms*, 2nd ed., section 3.1)."""
    return 2.0 * (taps + 16) * float(torch.finfo(torch.float32).eps)


def round_trip_bound(down_taps: int, up_taps: int) -> float:
    """:func:`rounding_bound` through both filters of a round trip: the down filter's error passes
    the up filter (absolute sum <= 2), which adds its own."""
    return 2.0 * rounding_bound(down_taps) + rounding_bound(up_taps)


def snr_db(reference: np.ndarray, measured: np.ndarray) -> float:
    """``10 log10(sum ref^2 / sum (measured - ref)^2)`` in dB."""
    return float(10 * np.log10(np.sum(reference**2) / max(np.sum((measured - reference) ** 2), 1e-30)))
