"""The mixer stage: converts between host channels and model channels, both ways."""


import torch
from torch import Tensor, nn

from neutone_core.stage import AdapterStage, Stream, stream_with_channels


class MixerStage(AdapterStage):
    """Maps host channels (1 or 2, decided per call) to the model's and back.

    Averaging is ``(left + right) / 2``: on the way in one ``[0.5, 0.5]`` matrix product over
    the host's buffer, on the way out a sum and a scale, which accept any layout the model
    returns (an expanded view included) without copying it. Duplication copies the one
    channel to both (a broadcasting copy, no view made).
    Shape: ``(host_channels, n) -> (host_channels, n)``; the model sees
    ``(model_in_channels, n)`` and returns ``(model_out_channels, n)``.

    Args:
        inner: the stage the mixer wraps.
        model_in_channels: channels the inner stage takes (1 or 2).
        model_out_channels: channels the inner stage returns (1 or 2).
    """

    def __init__(self, inner: nn.Module, model_in_channels: int, model_out_channels: int) -> None:
        super().__init__(inner, "mixer")
        self.model_in_channels = model_in_channels
        self.model_out_channels = model_out_channels
        self.host_max_channels = 2
        self.register_buffer("model_in_block", torch.zeros(model_in_channels, 0), persistent=False)
        self.register_buffer("host_out_block", torch.zeros(2, 0), persistent=False)
        self.register_buffer("host_out_view", torch.zeros(2, 0), persistent=False)
        self.register_buffer("average_row", torch.full((1, 2), 0.5), persistent=False)
        self.register_buffer("one_half", torch.tensor(0.5), persistent=False)
        self.block_size = 0

    @torch.jit.export
    def configure(self, stream: Stream) -> None:
        """Allocate mixing buffers for blocks of up to ``stream.block_size`` samples; the host's
        channel count may still change per call."""
        self.active = stream.in_channels != self.model_in_channels or stream.out_channels != self.model_out_channels
        self.block_size = stream.block_size
        self.model_in_block = torch.zeros(self.model_in_channels, stream.block_size)
        self.host_out_block = torch.zeros(self.host_max_channels, stream.block_size)
        self.host_out_view = self.host_out_block.narrow(0, 0, stream.in_channels)
        self.inner.configure(stream_with_channels(stream, self.model_in_channels, self.model_out_channels))

    def forward(self, x: Tensor, params: Tensor) -> Tensor:
        """Mix ``x`` ``(host_channels, n)`` to the model's channels, run it, mix back."""
        host_channels = x.size(0)
        model_in = x
        if host_channels != self.model_in_channels:
            n = x.size(1)
            model_in = self.model_in_block if n == self.block_size else self.model_in_block.narrow(1, 0, n)
            if host_channels > self.model_in_channels:
                torch.mm(self.average_row, x, out=model_in)
            else:
                model_in.copy_(x)
        y = self.inner(model_in, params)
        if y.size(0) == host_channels:
            return y
        n = y.size(1)
        if n == self.block_size and host_channels == self.host_out_view.size(0):
            host_out = self.host_out_view
        else:
            host_out = self.host_out_block.narrow(0, 0, host_channels).narrow(1, 0, n)
        if y.size(0) > host_channels:
            torch.sum(y, [0], True, out=host_out).mul_(self.one_half)
        else:
            host_out.copy_(y)
        return host_out

    def reset_state(self) -> None:
        """The mixer keeps no state between calls."""

    @torch.jit.export
    def delay_samples(self) -> int:
        """Mixing adds no delay: the inner's delay."""
        return self.inner.delay_samples()
