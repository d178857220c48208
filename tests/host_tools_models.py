"""Models and an adapter the host-tool tests export: a true delay, an allocating mixer."""

from typing import Dict, List

import torch
from torch import Tensor, nn

from neutone_core import NeutoneParameter, WaveformToWaveformBase
from neutone_core.stage import AdapterStage


class DelayWrapper(WaveformToWaveformBase):
    """Delays a stereo signal by ``delay`` samples and says so; one unused knob."""

    def __init__(self, delay: int = 64) -> None:
        super().__init__(None)
        self.delay = delay
        self.register_buffer("memory", torch.zeros(2, delay))

    def get_model_name(self) -> str:
        return "delay"

    def get_model_authors(self) -> List[str]:
        return ["neutone tests"]

    def get_neutone_parameters(self) -> List[NeutoneParameter]:
        return [NeutoneParameter("mix", "unused", 0.5)]

    def is_input_mono(self) -> bool:
        return False

    def is_output_mono(self) -> bool:
        return False

    def calc_model_delay_samples(self) -> int:
        return self.delay

    def reset_model(self) -> bool:
        self.memory.zero_()
        return True

    def do_forward_pass(self, x: Tensor, params: Dict[str, Tensor]) -> Tensor:
        joined = torch.cat([self.memory, x], dim=1)
        self.memory.copy_(joined[:, joined.size(1) - self.delay :])
        return joined[:, : x.size(1)]


class BlockLengthGainWrapper(WaveformToWaveformBase):
    """Scales by ``block length / 512``: its output depends on the host's block partition."""

    def get_model_name(self) -> str:
        return "block-length gain"

    def get_model_authors(self) -> List[str]:
        return ["neutone tests"]

    def is_input_mono(self) -> bool:
        return False

    def is_output_mono(self) -> bool:
        return False

    def do_forward_pass(self, x: Tensor, params: Dict[str, Tensor]) -> Tensor:
        return x * (x.size(1) / 512.0)


class AllocatingMixerStage(AdapterStage):
    """A channels adapter that copies every block into a new tensor (what adapters must not do)."""

    def __init__(self, inner: nn.Module, model_in_channels: int, model_out_channels: int) -> None:
        super().__init__(inner, "allocating_mixer")
        self.model_in_channels = model_in_channels
        self.model_out_channels = model_out_channels

    @torch.jit.export
    def configure(
        self,
        sample_rate: int,
        block_size: int,
        in_channels: int,
        out_channels: int,
        model_sample_rate: int,
        model_block_size: int,
    ) -> None:
        self.active = True
        self.inner.configure(
            sample_rate, block_size, self.model_in_channels, self.model_out_channels, model_sample_rate, model_block_size
        )

    def forward(self, x: Tensor, params: Tensor) -> Tensor:
        model_in = x.mean(0, keepdim=True).expand(self.model_in_channels, x.size(1)).clone()
        y = self.inner(model_in, params)
        return y.mean(0, keepdim=True).expand(x.size(0), x.size(1)).clone()

    def reset_state(self) -> None:
        pass

    @torch.jit.export
    def delay_samples(self) -> int:
        return self.inner.delay_samples()
