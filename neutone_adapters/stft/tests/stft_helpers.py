"""Spectral wrappers and measures shared by the STFT adapter's tests."""

import math
from typing import Dict, List, Optional, Union

import torch
from torch import Tensor

from neutone_adapters.stft import SpectralToSpectralBase
from neutone_core import ContinuousNeutoneParameter, NeutoneParameter
from neutone_core.parameters import MAX_N_PARAMS


class IdentitySpectral(SpectralToSpectralBase):
    """Returns the frames it gets; every STFT choice configurable. One knob ``gain`` (unused)."""

    def __init__(
        self,
        n_fft: int = 1024,
        hop_length: int = 256,
        window: Union[str, Tensor] = "hann",
        representation: str = "complex",
        frame_counts: Optional[List[int]] = None,
        input_mono: bool = False,
        output_mono: bool = False,
        native_sample_rates: Optional[List[int]] = None,
    ) -> None:
        self.n_fft = n_fft
        self.hop_length = hop_length
        self.window = window
        self.representation = representation
        self.frame_counts = list(frame_counts or [])
        self.input_mono = input_mono
        self.output_mono = output_mono
        self.native_sample_rates = list(native_sample_rates or [])
        super().__init__()

    def get_model_name(self) -> str:
        return "spectral identity"

    def get_model_authors(self) -> List[str]:
        return ["neutone"]

    def get_neutone_parameters(self) -> List[NeutoneParameter]:
        return [ContinuousNeutoneParameter("gain", "unused", default_value=0.5, min_value=0.0, max_value=2.0)]

    def is_input_mono(self) -> bool:
        return self.input_mono

    def is_output_mono(self) -> bool:
        return self.output_mono

    def get_native_sample_rates(self) -> List[int]:
        return self.native_sample_rates

    def get_n_fft(self) -> int:
        return self.n_fft

    def get_hop_length(self) -> int:
        return self.hop_length

    def get_window(self) -> Union[str, Tensor]:
        return self.window

    def get_frame_representation(self) -> str:
        return self.representation

    def get_native_frame_counts(self) -> List[int]:
        return self.frame_counts

    def do_forward_pass(self, x: Tensor, params: Dict[str, Tensor]) -> Tensor:
        if self.input_mono and not self.output_mono:
            return x.expand(2, x.size(1), x.size(2))
        if self.output_mono and not self.input_mono:
            return x.mean(0, keepdim=True)
        return x


class RecordingSpectral(IdentitySpectral):
    """An identity that keeps every call's frames and knob values (run it eagerly)."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.frames: List[Tensor] = []
        self.knobs: List[Tensor] = []

    def do_forward_pass(self, x: Tensor, params: Dict[str, Tensor]) -> Tensor:
        self.frames.append(x.clone())
        self.knobs.append(params["gain"].clone())
        return x


class BinGainSpectral(IdentitySpectral):
    """Multiplies each bin by a fixed gain ``0.2 + 0.8·cos²(π·bin / 7)`` (a comb on the spectrum):
    the output is the offline ``istft(gain · stft(x))``."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.register_buffer("gain", bin_gains(self.n_fft // 2 + 1).view(1, -1, 1))

    def do_forward_pass(self, x: Tensor, params: Dict[str, Tensor]) -> Tensor:
        return x.mul_(self.gain)


class OneFrameLate(IdentitySpectral):
    """Returns the previous call's frame (one frame per call): a model delaying by one hop,
    which it declares."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(frame_counts=[1], **kwargs)  # type: ignore[arg-type]
        self.register_buffer("previous", torch.zeros(2, self.n_fft // 2 + 1, 1, dtype=torch.complex64))
        self.register_buffer("current", torch.zeros(2, self.n_fft // 2 + 1, 1, dtype=torch.complex64))

    def calc_model_delay_samples(self) -> int:
        return self.hop_length

    def reset_model(self) -> bool:
        self.previous.zero_()
        return True

    def do_forward_pass(self, x: Tensor, params: Dict[str, Tensor]) -> Tensor:
        self.current.copy_(self.previous)
        self.previous.copy_(x)
        return self.current


def bin_gains(n_bins: int) -> Tensor:
    """The gains of :class:`BinGainSpectral`, ``(n_bins,)``."""
    return 0.2 + 0.8 * torch.cos(torch.arange(n_bins) * (math.pi / 7)) ** 2


def snr_db(reference: Tensor, actual: Tensor) -> float:
    """Signal-to-error ratio of ``actual`` against ``reference``, in dB (float64)."""
    error = (actual.double() - reference.double()).pow(2).sum()
    return float(10 * torch.log10(reference.double().pow(2).sum() / error))


def expected_frame_means(knob: Tensor, span: int, hop_length: int, n_frames: int) -> Tensor:
    """Mean of ``knob`` ``(n,)`` over each frame's ``span`` samples, frame ``m`` ending at sample
    ``(m + 1)·hop``; samples before the stream hold its first value (the FIFO's history).
    Exact sums (``math.fsum``), float64. Shape: ``(n_frames,)``."""
    values = knob.double().tolist()
    means = []
    for m in range(n_frames):
        end = (m + 1) * hop_length
        window = [values[max(i, 0)] for i in range(end - span, end)]
        means.append(math.fsum(window) / span)
    return torch.tensor(means, dtype=torch.float64)


def knob_signal(n: int, value: float = 0.5) -> Tensor:
    """Knobs ``(4, n)``: the first knob a ramp 0..1 then back, the others constant ``value``."""
    knobs = torch.full((MAX_N_PARAMS, n), value)
    knobs[0] = 1.0 - (torch.arange(n) / (n / 2) - 1.0).abs()
    return knobs


def mono_magnitude_model_at_44100() -> IdentitySpectral:
    """A mono-in stereo-out magnitude identity at 44.1 kHz: mixer, resampler, FIFO and STFT."""
    return IdentitySpectral(1024, 256, "sqrt-hann", "magnitude", input_mono=True, native_sample_rates=[44100])
