"""Wrappers for tests: a pass-through with every native need configurable."""

from typing import Any, Dict, List

import torch
from torch import Tensor

from neutone_core.needs import StreamNeeds
from neutone_core.parameters import NeutoneParameter
from neutone_core.wrapper import WaveformToWaveformBase


class PassThroughWrapper(WaveformToWaveformBase):
    """A wrapper that returns its input (stereo -> mono averages, mono -> stereo duplicates),
    allocating nothing per call, with every native need configurable.

    With ``look_behind_samples = L`` it returns the newest ``n`` of its ``L + n`` input
    samples. Shape: ``(in_channels, L + n) -> (out_channels, n)``.
    """

    def __init__(
        self,
        input_mono: bool = False,
        output_mono: bool = False,
        native_sample_rates: List[int] | None = None,
        native_buffer_sizes: List[int] | None = None,
        look_behind_samples: int = 0,
        model_delay_samples: int = 0,
        n_params: int = 1,
        extra_needs: Dict[str, Any] | None = None,
    ) -> None:
        self.input_mono = input_mono
        self.output_mono = output_mono
        self.native_sample_rates = list(native_sample_rates or [])
        self.native_buffer_sizes = list(native_buffer_sizes or [])
        self.look_behind_samples = look_behind_samples
        self.model_delay = model_delay_samples
        self.n_params = n_params
        self.extra_needs = dict(extra_needs or {})
        super().__init__(None)
        self.register_buffer("mono_out", torch.zeros(1, 0), persistent=False)
        self.register_buffer("one_half", torch.tensor(0.5), persistent=False)

    def get_model_name(self) -> str:
        return "pass-through"

    def get_model_authors(self) -> List[str]:
        return ["neutone"]

    def get_neutone_parameters(self) -> List[NeutoneParameter]:
        return [NeutoneParameter(f"p{i}", f"unused knob {i}", 0.5) for i in range(self.n_params)]

    def is_input_mono(self) -> bool:
        return self.input_mono

    def is_output_mono(self) -> bool:
        return self.output_mono

    @classmethod
    def for_needs(cls, needs: StreamNeeds, model_delay_samples: int = 0) -> "PassThroughWrapper":
        """A pass-through whose innermost record is ``needs`` (waveform, fixed channels)."""
        return cls(
            input_mono=needs.input_channels == 1,
            output_mono=needs.output_channels == 1,
            native_sample_rates=list(needs.native_sample_rates),
            native_buffer_sizes=list(needs.native_buffer_sizes),
            look_behind_samples=needs.look_behind_samples,
            model_delay_samples=model_delay_samples,
            extra_needs=needs.extra,
        )

    def get_native_sample_rates(self) -> List[int]:
        return self.native_sample_rates

    def get_native_buffer_sizes(self) -> List[int]:
        return self.native_buffer_sizes

    def get_look_behind_samples(self) -> int:
        return self.look_behind_samples

    def get_extra_needs(self) -> Dict[str, Any]:
        return self.extra_needs

    def calc_model_delay_samples(self) -> int:
        return self.model_delay

    def set_model_sample_rate_and_buffer_size(self, sample_rate: int, n_samples: int) -> bool:
        self.mono_out = torch.zeros(1, n_samples)
        return True

    def do_forward_pass(self, x: Tensor, params: Dict[str, Tensor]) -> Tensor:
        if self.look_behind_samples > 0:
            x = x.narrow(1, self.look_behind_samples, x.size(1) - self.look_behind_samples)
        if self.input_mono == self.output_mono:
            return x
        if self.output_mono:
            if x.size(1) > self.mono_out.size(1):
                self.mono_out = torch.zeros(1, x.size(1))
            out = self.mono_out.narrow(1, 0, x.size(1))
            return torch.sum(x, [0], True, out=out).mul_(self.one_half)
        return x.expand(2, x.size(1))
