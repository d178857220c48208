"""The ``left-channel`` adapter: stereo host -> mono model through the left channel only."""

import torch
from torch import Tensor, nn

from neutone_core import AdapterStage, Stream, stream_with_channels


class LeftChannelStage(AdapterStage):
    """Feeds a mono model the host's left channel and duplicates its output to every host
    channel. Shape: ``(host_channels, n) -> (host_channels, n)``, model ``(1, n) -> (1, n)``.
    """

    def __init__(self, inner: nn.Module) -> None:
        super().__init__(inner, "left-channel")
        self.register_buffer("host_out_block", torch.zeros(2, 0), persistent=False)

    @torch.jit.export
    def configure(self, stream: Stream) -> None:
        """Allocate the output buffer for blocks of up to ``stream.block_size`` samples."""
        self.active = stream.in_channels != 1
        self.host_out_block = torch.zeros(2, stream.block_size)
        self.inner.configure(stream_with_channels(stream, 1, 1))

    def forward(self, x: Tensor, params: Tensor) -> Tensor:
        """Run the model on channel 0 and copy its output to all host channels."""
        y = self.inner(x.narrow(0, 0, 1), params)
        if x.size(0) == 1:
            return y
        host_out = self.host_out_block.narrow(0, 0, x.size(0)).narrow(1, 0, x.size(1))
        host_out.copy_(y.expand(x.size(0), x.size(1)))
        return host_out

    def reset_state(self) -> None:
        """No state of its own."""

    @torch.jit.export
    def delay_samples(self) -> int:
        """No delay of its own."""
        return self.inner.delay_samples()
