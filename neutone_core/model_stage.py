"""The innermost stage of a waveform model: knobs per call, the wrapper's forward pass, checks."""

from typing import Dict, List

import torch
from torch import Tensor, nn

from neutone_core.knobs import KnobMap, KnobMean
from neutone_core.parameters import KnobMapping
from neutone_core.stage import Stream


class ModelStage(nn.Module):
    """Calls the wrapper's ``do_forward_pass`` with its knobs, checking what it returns.

    Knobs: the mean of each knob over the block's new samples (:class:`KnobMean`), or what the
    wrapper's own ``aggregate_params`` returns; then mapped to each knob's range
    (:class:`KnobMap`). Without ``aggregate_params`` each call hands ``do_forward_pass`` a fresh
    copy of a dictionary made at configure, its tensors views of the knob buffers those two
    write in place (no view made per call). When bypassed (:meth:`set_model_bypass`, for measuring the adapters
    alone), the stage returns its input's newest samples and declares no delay.

    Shape: x ``(in_channels, L + n)``, params ``(4, L + n)`` -> ``(out_channels, n)``, ``L`` the
    wrapper's look-behind (handed in by the FIFO adapter).

    Args:
        wrapper: the researcher's wrapper (scripted with the stage).
        in_channels: channels ``do_forward_pass`` receives (1 or 2).
        out_channels: channels it returns (1 or 2).
        look_behind_samples: ``L``.
        param_names: the declared knobs' names, in slot order.
        mappings: the four slots' knob mappings.
        custom_aggregation: whether the wrapper overrides ``aggregate_params``.
    """

    param_names: List[str]
    named_knobs: Dict[str, Tensor]

    def __init__(
        self,
        wrapper: nn.Module,
        in_channels: int,
        out_channels: int,
        look_behind_samples: int,
        param_names: List[str],
        mappings: List[KnobMapping],
        custom_aggregation: bool,
    ) -> None:
        super().__init__()
        self.wrapper = wrapper
        self.stage_name = "model"
        self.param_names = list(param_names)
        self.model_in_channels = in_channels
        self.model_out_channels = out_channels
        self.look_behind_samples = look_behind_samples
        self.custom_aggregation = custom_aggregation
        self.knob_mean = KnobMean()
        self.knob_map = KnobMap(mappings)
        self.named_knobs = {}
        self.register_buffer("bypass_mono", torch.zeros(1, 0), persistent=False)
        self.register_buffer("one_half", torch.tensor(0.5), persistent=False)
        self.bypass_requested = False
        self.bypassed = False
        self.sample_rate = 0
        self.block_size = 0
        self.calls = 0

    @torch.jit.export
    def configure(self, stream: Stream) -> None:
        """Prepare the knob buffers and tell the wrapper its stream (Hz, samples)."""
        if stream.in_channels != self.model_in_channels or stream.out_channels != self.model_out_channels:
            raise RuntimeError(
                "model stage configured for "
                + str(stream.in_channels)
                + " -> "
                + str(stream.out_channels)
                + " channels but the model is "
                + str(self.model_in_channels)
                + " -> "
                + str(self.model_out_channels)
                + "; the channels adapter is missing from the plan"
            )
        self.sample_rate = stream.sample_rate
        self.block_size = stream.block_size
        self.bypassed = self.bypass_requested
        span = stream.block_size + self.look_behind_samples
        self.knob_mean.configure(span, self.look_behind_samples)
        self.knob_map.configure(span if self.custom_aggregation else 1)
        self.named_knobs.clear()
        if not self.custom_aggregation:
            knobs = self.knob_map(self.knob_mean.mean)
            for i, name in enumerate(self.param_names):
                self.named_knobs[name] = knobs[i]
        self.bypass_mono = torch.zeros(1, stream.block_size)
        self.calls = 0
        self.wrapper.set_model_sample_rate_and_buffer_size(stream.sample_rate, stream.block_size)

    def forward(self, x: Tensor, params: Tensor) -> Tensor:
        """Run the wrapper on one block; checks the shape it returns."""
        self.calls += 1
        n = x.size(1) - self.look_behind_samples
        if self.bypassed:
            return self._bypass(x, n)
        if self.custom_aggregation:
            knobs = self.knob_map(self.wrapper.aggregate_params(params))
            named: Dict[str, Tensor] = {}
            for i, name in enumerate(self.param_names):
                named[name] = knobs[i]
        else:
            self.knob_map(self.knob_mean(params))
            named = self.named_knobs.copy()
        y = self.wrapper.do_forward_pass(x, named)
        if y.dim() != 2 or y.size(0) != self.model_out_channels or y.size(1) != n:
            raise RuntimeError(
                "do_forward_pass returned shape "
                + str(y.shape)
                + " for an input of shape "
                + str(x.shape)
                + ", expected ["
                + str(self.model_out_channels)
                + ", "
                + str(n)
                + "] (out_channels, samples"
                + (", without the look-behind" if self.look_behind_samples > 0 else "")
                + ")"
            )
        return y

    def _bypass(self, x: Tensor, n: int) -> Tensor:
        newest = x.narrow(1, self.look_behind_samples, n)
        if self.model_in_channels == self.model_out_channels:
            return newest
        if self.model_out_channels == 2:
            return newest.expand(2, n)
        out = self.bypass_mono.narrow(1, 0, n)
        return torch.sum(newest, [0], True, out=out).mul_(self.one_half)

    @torch.jit.export
    def reset(self) -> None:
        """Clear the model's state through ``reset_model``."""
        self.wrapper.reset_model()

    @torch.jit.export
    def set_model_bypass(self, bypassed: bool) -> None:
        """Bypass the model (return the input's newest samples, no declared delay) from the
        next ``configure`` on, or stop bypassing it."""
        self.bypass_requested = bypassed

    @torch.jit.export
    def delay_samples(self) -> int:
        """The model's own declared delay, in samples at its rate (0 when bypassed)."""
        return self.model_delay_samples()

    @torch.jit.export
    def is_active(self) -> bool:
        """The model always runs."""
        return True

    @torch.jit.export
    def underrun_count(self) -> int:
        """The model stage never underruns."""
        return 0

    @torch.jit.export
    def model_calls(self) -> int:
        """Blocks the model has processed since ``configure``."""
        return self.calls

    @torch.jit.export
    def describe(self) -> str:
        """The model's configured rate and block size."""
        bypass = " (bypassed)" if self.bypassed else ""
        return "model: " + str(self.sample_rate) + " Hz, blocks of " + str(self.block_size) + " samples" + bypass

    @torch.jit.export
    def model_sample_rate(self) -> int:
        """Sample rate (Hz) the model was configured with."""
        return self.sample_rate

    @torch.jit.export
    def model_block_size(self) -> int:
        """Block size (samples) the model was configured with, without look-behind."""
        return self.block_size

    @torch.jit.export
    def model_delay_samples(self) -> int:
        """The model's own declared delay, in samples at its rate (0 when bypassed)."""
        if self.bypassed:
            return 0
        return self.wrapper.calc_model_delay_samples()
