"""Knob values per STFT frame: the mean of each knob over the samples that produced the frame.

Frame ``j`` of a block ``(4, S - hop + k·hop)`` (look-behind first) is made of samples
``j·hop .. j·hop + S`` (``S`` the window's nonzero span, see
:attr:`~neutone_adapters.stft.config.StftConfig.frame_span`); its knob value is their mean.
As :class:`neutone_core.knobs.KnobMean` does, the float32 knobs are summed in float64 and
scaled by ``1 / S`` (float64), then rounded once to float32: a constant knob gives exactly its
value, whatever the host's blocks, and any other knob the exact mean to within one rounding.
"""

import torch
from torch import Tensor, nn

from neutone_core.parameters import MAX_N_PARAMS


class FrameKnobMean(nn.Module):
    """Mean of each knob over each frame's samples, allocation-free.

    Args:
        frame_span: samples per frame ``S`` (the window's nonzero span).
        hop_length: samples between frames.

    Shape: ``(4, S - hop + k·hop) -> (4, k)``; the result is a view of an internal buffer,
    valid until the next call.
    """

    def __init__(self, frame_span: int, hop_length: int) -> None:
        super().__init__()
        self.frame_span = frame_span
        self.hop_length = hop_length
        self.n_params = MAX_N_PARAMS
        self.register_buffer("samples64", torch.zeros(MAX_N_PARAMS, 0, dtype=torch.float64), persistent=False)
        self.register_buffer("sums64", torch.zeros(MAX_N_PARAMS, 0, dtype=torch.float64), persistent=False)
        self.register_buffer("means", torch.zeros(MAX_N_PARAMS, 0), persistent=False)
        self.register_buffer("inverse_span", torch.tensor(1.0 / frame_span, dtype=torch.float64), persistent=False)
        self.register_buffer("frames_view", torch.zeros(MAX_N_PARAMS, 0, frame_span, dtype=torch.float64), persistent=False)
        self.max_frames = 0

    @torch.jit.export
    def configure(self, max_frames: int) -> None:
        """Allocate for blocks of up to ``max_frames`` frames (views for exactly that many are kept)."""
        self.samples64 = torch.zeros(self.n_params, self.frame_span + (max_frames - 1) * self.hop_length, dtype=torch.float64)
        self.frames_view = self.samples64.unfold(1, self.frame_span, self.hop_length)
        self.sums64 = torch.zeros(self.n_params, max_frames, dtype=torch.float64)
        self.means = torch.zeros(self.n_params, max_frames)
        self.max_frames = max_frames

    def forward(self, params: Tensor) -> Tensor:
        """The ``(4, k)`` frame means of ``params`` ``(4, S - hop + k·hop)``."""
        n_frames = (params.size(1) - self.frame_span) // self.hop_length + 1
        if n_frames == self.max_frames:
            self.samples64.copy_(params)
            torch.sum(self.frames_view, dim=2, out=self.sums64)
            self.sums64.mul_(self.inverse_span)
            self.means.copy_(self.sums64)
            return self.means
        samples = self.samples64.narrow(1, 0, params.size(1))
        samples.copy_(params)
        sums = self.sums64.narrow(1, 0, n_frames)
        torch.sum(samples.unfold(1, self.frame_span, self.hop_length), dim=2, out=sums)
        sums.mul_(self.inverse_span)
        means = self.means.narrow(1, 0, n_frames)
        means.copy_(sums)
        return means
