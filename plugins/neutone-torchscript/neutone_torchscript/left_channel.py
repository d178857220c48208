"""The ``left-channel`` adapter: stereo host -> mono model through the left channel only."""

import torch
from torch import Tensor, nn

from neutone_core.stage import AdapterStage


class LeftChannelStage(AdapterStage):
    """Feeds a mono model the host's left channel and duplicates its output to every host
    channel. Shape: ``(host_channels, n) -> (host_channels, n)``, model ``(1, n) -> (1, n)``.
    """

    def __init__(self, inner: nn.Module) -> None:
        super().__init__(inner, "left-channel")
        self.register_buffer("host_out_block", torch.zeros(2, 0), persistent=False)

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
        """Allocate the output buffer for blocks of up to ``block_size`` samples."""
        self.active = in_channels != 1
        self.host_out_block = torch.zeros(2, block_size)
        self.inner.configure(sample_rate, block_size, 1, 1, model_sample_rate, model_block_size)

    def forward(self, x: Tensor, params: Tensor) -> Tensor:
        """Run the model on channel 0 and copy its output to all host channels."""
        y = self.inner(x[:1], params)
        if x.size(0) == 1:
            return y
        host_out = self.host_out_block[: x.size(0), : x.size(1)]
        host_out.copy_(y.expand(x.size(0), x.size(1)))
        return host_out

    def reset_state(self) -> None:
        """No state of its own."""

    @torch.jit.export
    def delay_samples(self) -> int:
        """No delay of its own."""
        return self.inner.delay_samples()
