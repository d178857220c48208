"""The innermost stage of a spectral model: per-frame knobs, the wrapper's forward pass, checks.

The core's :class:`~neutone_core.model_stage.ModelStage` configured with per-column knobs:
the STFT stage outside has already reduced the knobs to one value per frame, and this stage
maps each to its knob's range (:class:`~neutone_core.knobs.KnobMap`), calls
``do_forward_pass`` and checks that it returned frames of the kind it was given.
"""

from typing import Dict, List

import torch
from torch import Tensor, nn

from neutone_core.model_stage import ModelStage
from neutone_core.parameters import KnobMapping


class SpectralModelStage(ModelStage):
    """Calls a spectral wrapper's ``do_forward_pass`` on STFT frames with per-frame knobs.

    Configured by the STFT stage with a stream whose block size is the largest number of
    frames per call (the wrapper's ``set_model_sample_rate_and_buffer_size(sample_rate,
    n_frames)`` hears it). When bypassed (for measuring the adapters alone), the frames pass
    through unchanged (a stereo-to-mono model averages the channels' spectra, which is the
    spectrum of the averaged signal; only complex frames go from stereo to mono).

    Shape: x ``(in_channels, bins, k)``, params ``(4, k)`` -> ``(out_channels, bins, k)``; complex
    for complex frames, real for (log) magnitudes.

    Args:
        wrapper: the researcher's spectral wrapper.
        in_channels: channels ``do_forward_pass`` receives (1 or 2).
        out_channels: channels it returns (1 or 2).
        param_names: the declared knobs' names, in slot order.
        mappings: the four slots' knob mappings.
        n_bins: bins per frame (``n_fft // 2 + 1``).
        complex_frames: whether the frames are complex (else magnitudes, real).
    """

    def __init__(
        self,
        wrapper: nn.Module,
        in_channels: int,
        out_channels: int,
        param_names: List[str],
        mappings: List[KnobMapping],
        n_bins: int,
        complex_frames: bool,
    ) -> None:
        super().__init__(wrapper, in_channels, out_channels, 0, param_names, mappings, custom_aggregation=True)
        self.n_bins = n_bins
        self.complex_frames = complex_frames
        self.register_buffer("complex_half", torch.tensor(0.5 + 0.0j, dtype=torch.complex64), persistent=False)

    def forward(self, x: Tensor, params: Tensor) -> Tensor:
        """Run the wrapper on ``k`` frames with their knobs; checks what it returns."""
        self.calls += 1
        if self.bypassed:
            return self._bypass_frames(x)
        knobs = self.knob_map(params)
        named: Dict[str, Tensor] = {}
        for i, name in enumerate(self.param_names):
            named[name] = knobs[i]
        y = self.wrapper.do_forward_pass(x, named)
        n_frames = x.size(2)
        if (
            y.dim() != 3
            or y.size(0) != self.model_out_channels
            or y.size(1) != self.n_bins
            or y.size(2) != n_frames
            or y.is_complex() != self.complex_frames
        ):
            kind = "complex" if self.complex_frames else "real"
            raise RuntimeError(
                "do_forward_pass returned "
                + ("complex" if y.is_complex() else "real")
                + " frames of shape "
                + str(y.shape)
                + " for frames of shape "
                + str(x.shape)
                + ", expected "
                + kind
                + " frames of shape ["
                + str(self.model_out_channels)
                + ", "
                + str(self.n_bins)
                + ", "
                + str(n_frames)
                + "] (out_channels, bins = n_fft // 2 + 1, frames)"
            )
        return y

    def _bypass_frames(self, x: Tensor) -> Tensor:
        if self.model_in_channels == self.model_out_channels:
            return x
        if self.model_out_channels == 2:
            return x.expand(2, x.size(1), x.size(2))
        left = x.narrow(0, 0, 1)
        return left.add_(x.narrow(0, 1, 1)).mul_(self.complex_half)

    @torch.jit.export
    def describe(self) -> str:
        """The model's configured rate and frames per call."""
        bypass = " (bypassed)" if self.bypassed else ""
        return "model: " + str(self.sample_rate) + " Hz, STFT frames, at most " + str(self.block_size) + " per call" + bypass
