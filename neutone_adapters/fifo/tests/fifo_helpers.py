"""Models and a host driver shared by the FIFO tests."""

from functools import cache
from typing import Dict, List, Optional, Tuple

import torch
from torch import Tensor

from neutone_core import compose
from neutone_core.testing import PassThroughWrapper


class GainWrapper(PassThroughWrapper):
    """Stereo gain of 0.5, a streaming model. Shape: ``(2, L + n) -> (2, n)``."""

    def do_forward_pass(self, x: Tensor, params: Dict[str, Tensor]) -> Tensor:
        return x[:, self.look_behind_samples :] * 0.5


class CausalDelayWrapper(PassThroughWrapper):
    """Stereo causal delay of ``delay_samples`` kept in model state. Shape: ``(2, n) -> (2, n)``."""

    def __init__(self, delay_samples: int, native_buffer_sizes: List[int]) -> None:
        super().__init__(native_buffer_sizes=native_buffer_sizes)
        self.register_buffer("memory", torch.zeros(2, delay_samples))

    def reset_model(self) -> bool:
        self.memory.zero_()
        return True

    def do_forward_pass(self, x: Tensor, params: Dict[str, Tensor]) -> Tensor:
        joined = torch.cat([self.memory, x], 1)
        n = x.size(1)
        self.memory.copy_(joined[:, n:])
        return joined[:, :n]


class LookBehindDelayWrapper(PassThroughWrapper):
    """Returns the oldest ``n`` of its ``L + n`` samples: the input delayed by exactly ``L``,
    which only holds if the look-behind holds the newest past samples.
    Shape: ``(2, L + n) -> (2, n)``."""

    def __init__(self, look_behind_samples: int, native_buffer_sizes: List[int]) -> None:
        super().__init__(
            native_buffer_sizes=native_buffer_sizes,
            look_behind_samples=look_behind_samples,
            model_delay_samples=look_behind_samples,
        )

    def do_forward_pass(self, x: Tensor, params: Dict[str, Tensor]) -> Tensor:
        return x[:, : x.size(1) - self.look_behind_samples]


class ParamEchoWrapper(PassThroughWrapper):
    """Mono model whose output is its first knob, sample by sample, after the look-behind;
    checks the knobs reach the model aligned with the audio. Shape: ``(1, L + n) -> (1, n)``."""

    def __init__(self, look_behind_samples: int, native_buffer_sizes: List[int]) -> None:
        super().__init__(
            input_mono=True,
            output_mono=True,
            native_buffer_sizes=native_buffer_sizes,
            look_behind_samples=look_behind_samples,
        )

    def aggregate_params(self, params: Tensor) -> Tensor:
        return params

    def do_forward_pass(self, x: Tensor, params: Dict[str, Tensor]) -> Tensor:
        return params["p0"][self.look_behind_samples :].unsqueeze(0)


@cache
def scripted_root(
    kind: str = "pass",
    native_buffer_sizes: Tuple[int, ...] = (2048,),
    look_behind_samples: int = 0,
    policy: str = "fixed",
    delay_samples: int = 37,
) -> torch.jit.ScriptModule:
    """The scripted root of a composed test model (cached; ``prepare`` resets its state)."""
    sizes = list(native_buffer_sizes)
    if kind == "pass":
        wrapper = PassThroughWrapper(native_buffer_sizes=sizes, look_behind_samples=look_behind_samples)
    elif kind == "gain":
        wrapper = GainWrapper(native_buffer_sizes=sizes)
    elif kind == "delay":
        wrapper = CausalDelayWrapper(delay_samples, sizes)
    elif kind == "look_behind":
        wrapper = LookBehindDelayWrapper(look_behind_samples, sizes)
    elif kind == "param_echo":
        wrapper = ParamEchoWrapper(look_behind_samples, sizes)
    else:
        raise ValueError(f"unknown test model kind {kind!r}")
    return compose(wrapper, adapter_options={"fifo": {"policy": policy}}).scripted


def drive(
    module: torch.jit.ScriptModule,
    audio: Tensor,
    block_sizes: List[int],
    params: Optional[Tensor] = None,
    sample_rate: int = 48000,
    buffer_size: Optional[int] = None,
) -> Tensor:
    """Configure ``module`` for ``buffer_size`` (default: the largest block) and stream
    ``audio`` ``(channels, n)`` in ``block_sizes`` (repeated, last one cut short), checking
    every call returns exactly the block it was given. Returns ``(channels, n)``."""
    announced = buffer_size or max(block_sizes)
    module.prepare(sample_rate, announced, audio.size(0), 0, 0)
    out = torch.empty_like(audio)
    start = 0
    call = 0
    with torch.inference_mode():
        while start < audio.size(1):
            end = min(start + block_sizes[call % len(block_sizes)], audio.size(1))
            block_params = None if params is None else params[:, start:end]
            y = module(audio[:, start:end], block_params)
            assert tuple(y.shape) == (audio.size(0), end - start), f"call {call} returned {tuple(y.shape)}"
            out[:, start:end] = y
            start = end
            call += 1
    return out


def delayed(signal: Tensor, delay_samples: int) -> Tensor:
    """``signal`` ``(channels, n)`` delayed by ``delay_samples`` with zeros in front."""
    out = torch.zeros_like(signal)
    if delay_samples < signal.size(1):
        out[:, delay_samples:] = signal[:, : signal.size(1) - delay_samples]
    return out

