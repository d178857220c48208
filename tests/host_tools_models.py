"""Models and an adapter the host-tool tests export: a true delay, an allocating mixer."""

from typing import Dict, List

import torch
from torch import Tensor, nn

from neutone_core import AdapterStage, NeutoneParameter, Stream, WaveformToWaveformBase, stream_with_channels


class StereoTestModel(WaveformToWaveformBase):
    """The getters every stereo test model here shares; subclasses name themselves and process."""

    def get_model_authors(self) -> List[str]:
        return ["neutone tests"]

    def is_input_mono(self) -> bool:
        return False

    def is_output_mono(self) -> bool:
        return False


class DelayWrapper(StereoTestModel):
    """Delays a stereo signal by ``delay`` samples and says so; one unused knob."""

    def __init__(self, delay: int = 64) -> None:
        super().__init__(None)
        self.delay = delay
        self.register_buffer("memory", torch.zeros(2, delay))

    def get_model_name(self) -> str:
        return "delay"

    def get_neutone_parameters(self) -> List[NeutoneParameter]:
        return [NeutoneParameter("mix", "unused", 0.5)]

    def calc_model_delay_samples(self) -> int:
        return self.delay

    def reset_model(self) -> bool:
        self.memory.zero_()
        return True

    def do_forward_pass(self, x: Tensor, params: Dict[str, Tensor]) -> Tensor:
        joined = torch.cat([self.memory, x], dim=1)
        self.memory.copy_(joined[:, joined.size(1) - self.delay :])
        return joined[:, : x.size(1)]


class RunningSumWrapper(StereoTestModel):
    """A running sum carried across calls in float32 (``cumsum`` per block plus the carried
    total): partitions differ only by the rounding of sums taken in other orders."""

    def __init__(self) -> None:
        super().__init__(None)
        self.register_buffer("state", torch.zeros(2, 1))

    def get_model_name(self) -> str:
        return "running sum"

    def reset_model(self) -> bool:
        self.state.zero_()
        return True

    def do_forward_pass(self, x: Tensor, params: Dict[str, Tensor]) -> Tensor:
        out = torch.cumsum(x, dim=1) * 0.01 + self.state
        self.state.copy_(out[:, -1:])
        return out


class ForgetfulSumWrapper(RunningSumWrapper):
    """The same integrator forgetting its state at every call: a state bug."""

    def do_forward_pass(self, x: Tensor, params: Dict[str, Tensor]) -> Tensor:
        return torch.cumsum(x, dim=1) * 0.01


class BlockLengthGainWrapper(StereoTestModel):
    """Scales by ``block length / 512``: its output depends on the host's block partition."""

    def get_model_name(self) -> str:
        return "block-length gain"

    def do_forward_pass(self, x: Tensor, params: Dict[str, Tensor]) -> Tensor:
        return x * (x.size(1) / 512.0)


class AllocatingMixerStage(AdapterStage):
    """A channels adapter that copies every block into a new tensor (what adapters must not do)."""

    def __init__(self, inner: nn.Module, model_in_channels: int, model_out_channels: int) -> None:
        super().__init__(inner, "allocating_mixer")
        self.model_in_channels = model_in_channels
        self.model_out_channels = model_out_channels

    @torch.jit.export
    def configure(self, stream: Stream) -> None:
        self.active = True
        self.inner.configure(stream_with_channels(stream, self.model_in_channels, self.model_out_channels))

    def forward(self, x: Tensor, params: Tensor) -> Tensor:
        model_in = x.mean(0, keepdim=True).expand(self.model_in_channels, x.size(1)).clone()
        y = self.inner(model_in, params)
        return y.mean(0, keepdim=True).expand(x.size(0), x.size(1)).clone()

    def reset_state(self) -> None:
        pass

    @torch.jit.export
    def delay_samples(self) -> int:
        return self.inner.delay_samples()


class HiddenDelayWrapper(DelayWrapper):
    """Delays its input by 100 samples (a delay line in state) and declares no delay; no knobs."""

    def __init__(self) -> None:
        super().__init__(100)

    def get_model_name(self) -> str:
        return "hidden delay"

    def get_neutone_parameters(self) -> List[NeutoneParameter]:
        return []

    def calc_model_delay_samples(self) -> int:
        return 0
