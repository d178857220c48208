r"""The STFT stage: blocks of whole hops in, STFT frames to the model, exact resynthesis out.

Per call the FIFO outside hands in ``k`` hops of new samples after ``S - hop`` samples of
look-behind, where ``S`` is the window's nonzero span (``n_fft`` less the zeros at the
window's ends: ``n_fft - 1`` for the periodic Hann window and its square root, which start
with a zero). The stage frames the block into ``k`` frames and transforms them, every
channel, in one batched rfft (``neutone_blocks.stft``); reduces the knobs to one value per
frame, the mean over the ``S`` samples that produced it (:class:`FrameKnobMean`); hands the
model the frames as it asked for them (complex, or magnitude / log-magnitude with the phase
kept here as the unit phasor ``X / |X|`` and multiplied back); and overlap-adds what the model returns with the normalised
synthesis window, carrying the tail to the next call. With an identity model the output is
the input, delayed, to float32 rounding, for any window and hop meeting NOLA.

Delay. An output sample needs every frame whose nonzero span covers it, and the last of them
ends up to ``S - 1`` samples after it; a host block arrives all at once, so for a host keeping
blocks of ``B`` samples no causal STFT on a grid of frames ``hop`` apart (at any phase) can be
faster than ``S - gcd(B, hop)``. This stage emits, at the end of each call, exactly the ``k``
hops that are complete (its own delay is ``S - hop``) and the FIFO outside adds the least
delay a causal FIFO allows for the host's block pattern (``hop - gcd(B, hop)`` for blocks of
``B``), so the total is that bound::

    D = S - gcd(B, hop)

e.g. Hann, n_fft 2048, hop 512: 1535 samples at B = 512 (or any multiple of 512), 2039 at
B = 1000, 1791 at B = 256. Under the FIFO's ``any`` policy (any block lengths) ``D = S - 1``;
with native frame counts ``f`` the FIFO picks the count with the least delay:
``D = S - hop + min_f (f·hop - gcd(B, f·hop))`` (``S - hop + min_f f·hop - 1`` under
``any``). The model's own declared delay
(``calc_model_delay_samples``, in samples) adds to each.
"""

import torch
from neutone_blocks.magnitude_phase import MagnitudePhase
from neutone_blocks.stft import StftAnalysis, StftSynthesis
from torch import Tensor, nn

from neutone_adapters.stft.config import LOG_FLOOR
from neutone_adapters.stft.frame_knobs import FrameKnobMean
from neutone_core.stage import AdapterStage, Stream, stream_with


class StftStage(AdapterStage):
    """Streams a spectral model: framed analysis, per-frame knobs, the model, overlap-add.

    Shape: x ``(in_channels, S - hop + k·hop)``, params ``(4, S - hop + k·hop)`` ->
    ``(out_channels, k·hop)``; the model gets ``(in_channels, bins, k)`` frames and ``(4, k)``
    knobs and returns ``(out_channels, bins, k)``. The frames it gets are views laid out frame
    by frame (contiguous when ``k = 1``; use ``reshape`` rather than ``view``), rewritten at
    every call.

    Args:
        inner: the spectral model stage.
        n_fft: frame length in samples.
        hop_length: samples between frames.
        window: the analysis window ``(n_fft,)``, meeting NOLA with the hop.
        representation: ``"complex"``, ``"magnitude"`` or ``"log-magnitude"``.
        in_channels: channels the model receives (1 or 2).
        out_channels: channels it returns (1 or 2).
        description: one line for ``neutone inspect`` (the configuration in words).
    """

    def __init__(
        self,
        inner: nn.Module,
        n_fft: int,
        hop_length: int,
        window: Tensor,
        representation: str,
        in_channels: int,
        out_channels: int,
        description: str,
    ) -> None:
        super().__init__(inner, "stft")
        self.analysis = StftAnalysis(n_fft, hop_length, window, trim_zero_ends=True)
        self.synthesis = StftSynthesis(n_fft, hop_length, window, trim_zero_ends=True)
        self.hop_length = hop_length
        self.n_bins = n_fft // 2 + 1
        self.look_behind = self.analysis.look_behind_samples
        self.frame_knobs = FrameKnobMean(self.analysis.span, hop_length)
        self.complex_frames = representation == "complex"
        self.magnitude_phase = MagnitudePhase(power=1.0, log=representation == "log-magnitude", floor=LOG_FLOOR)
        self.model_in_channels = in_channels
        self.model_out_channels = out_channels
        self.description = description
        self.register_buffer("magnitude", torch.zeros(in_channels, 0, self.n_bins), persistent=False)
        self.register_buffer("phasor", torch.zeros(in_channels, 0, self.n_bins, dtype=torch.complex64), persistent=False)
        self.register_buffer("joined", torch.zeros(out_channels, 0, self.n_bins, dtype=torch.complex64), persistent=False)
        self.register_buffer("scratch", torch.zeros(out_channels, 0, self.n_bins), persistent=False)
        self.sample_rate = 0
        self.block_size = 0

    @torch.jit.export
    def configure(self, stream: Stream) -> None:
        """Allocate for blocks of ``stream.block_size`` samples (a multiple of the hop), then
        configure the model for that many frames per call."""
        if stream.in_channels != self.model_in_channels or stream.out_channels != self.model_out_channels:
            raise RuntimeError(
                "stft stage configured for " + str(stream.in_channels) + " -> " + str(stream.out_channels)
                + " channels but the model is " + str(self.model_in_channels) + " -> " + str(self.model_out_channels)
                + "; the channels adapter is missing from the plan"
            )
        if stream.block_size < self.hop_length or stream.block_size % self.hop_length != 0:
            raise RuntimeError(
                "stft stage configured for blocks of " + str(stream.block_size) + " samples: it needs whole hops of "
                + str(self.hop_length) + " samples after " + str(self.look_behind)
                + " samples of look-behind; the buffer_size adapter (FIFO) is missing from the plan"
            )
        n_frames = stream.block_size // self.hop_length
        self.sample_rate = stream.sample_rate
        self.block_size = stream.block_size
        self.analysis.configure(self.model_in_channels, n_frames)
        self.synthesis.configure(self.model_out_channels, n_frames)
        self.frame_knobs.configure(n_frames)
        planes = 0 if self.complex_frames else n_frames
        self.magnitude = torch.zeros(self.model_in_channels, planes, self.n_bins)
        self.phasor = torch.zeros(self.model_in_channels, planes, self.n_bins, dtype=torch.complex64)
        self.joined = torch.zeros(self.model_out_channels, planes, self.n_bins, dtype=torch.complex64)
        self.scratch = torch.zeros(self.model_out_channels, planes, self.n_bins)
        self.active = True
        self.inner.configure(stream_with(stream, stream.sample_rate, n_frames, n_frames, 1, 0))
        self.reset_state()

    def reset_state(self) -> None:
        """Forget the overlap-add tail (the look-behind is the FIFO's)."""
        self.synthesis.reset()

    def forward(self, x: Tensor, params: Tensor) -> Tensor:
        """Analyse the block's frames, run the model on them, return the ``k`` completed hops."""
        new_samples = x.size(1) - self.look_behind
        if new_samples < self.hop_length or new_samples % self.hop_length != 0 or new_samples > self.block_size:
            raise RuntimeError(
                "stft stage got " + str(x.size(1)) + " samples: expected " + str(self.look_behind)
                + " samples of look-behind plus 1 to " + str(self.block_size // self.hop_length) + " hops of "
                + str(self.hop_length) + " samples"
            )
        spectrum = self.analysis(x)
        knobs = self.frame_knobs(params)
        if self.complex_frames:
            return self.synthesis(self.inner(spectrum, knobs))
        n_frames = new_samples // self.hop_length
        magnitude = self.magnitude.narrow(1, 0, n_frames).transpose(1, 2)
        phasor = self.phasor.narrow(1, 0, n_frames).transpose(1, 2)
        scratch = self.scratch.narrow(1, 0, n_frames).transpose(1, 2)
        self.magnitude_phase.split_phasor(spectrum, magnitude, phasor, scratch.narrow(0, 0, self.model_in_channels))
        y = self.inner(magnitude, knobs)
        joined = self.joined.narrow(1, 0, n_frames).transpose(1, 2)
        if self.model_out_channels != self.model_in_channels:
            phasor = phasor.expand(self.model_out_channels, self.n_bins, n_frames)
        self.magnitude_phase.join_phasor(y, phasor, joined, scratch)
        return self.synthesis(joined)

    @torch.jit.export
    def delay_samples(self) -> int:
        """``S - hop`` plus the model's own declared delay, in samples."""
        return self.look_behind + self.inner.delay_samples()

    @torch.jit.export
    def model_block_size(self) -> int:
        """Samples of new audio per model call (frames per call times the hop)."""
        return self.block_size

    @torch.jit.export
    def describe(self) -> str:
        """``stft: ...`` with the configuration, frames per call and own delay."""
        return (
            "stft: " + self.description + ", frames of " + str(self.analysis.span) + " samples, "
            + str(self.block_size // max(self.hop_length, 1)) + " per call, own delay " + str(self.look_behind) + " samples"
        )
