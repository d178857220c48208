"""The spectral wrapper: what a researcher subclasses for a model that works on STFT frames."""

from typing import Dict, List, Union

from torch import Tensor, nn

from neutone_adapters.stft.config import SPECTROGRAM, STFT_EXTRA, SpectralConfigError, StftConfig, stft_config
from neutone_adapters.stft.model_stage import SpectralModelStage
from neutone_core import StreamNeeds, WaveformToWaveformBase
from neutone_core.parameters import IDENTITY, MAX_N_PARAMS

DERIVED_METHODS: Dict[str, str] = {
    "get_native_buffer_sizes": "the block sizes follow from get_hop_length() and get_native_frame_counts()",
    "get_look_behind_samples": "each frame already holds its past samples (n_fft - hop of them)",
    "aggregate_params": "knobs arrive per frame, the mean over the samples that produced each frame",
}
"""Methods of the waveform protocol a spectral wrapper must not override, and why."""


class SpectralToSpectralBase(WaveformToWaveformBase):
    """Base class of a model that maps STFT frames to STFT frames.

    Declare the STFT with the getters below (read once, at export) and write
    ``do_forward_pass(x, params)``: ``x`` is ``(in_channels, bins, frames)`` with
    ``bins = n_fft // 2 + 1``, and it returns ``(out_channels, bins, frames)`` of the same kind:
    complex frames, or magnitudes / log-magnitudes (the stage keeps the phase and reapplies it).
    ``params[name]`` holds one value per frame, ``(frames,)``, the knob's mean over the samples
    that produced each frame, in the knob's range. Every other getter (metadata, mono/stereo,
    native sample rates, knobs, ``calc_model_delay_samples`` in samples, ``reset_model``) is the
    waveform wrapper's; ``set_model_sample_rate_and_buffer_size(sample_rate, n)`` hears the
    frames per call as ``n``. The host still sees a waveform model at any rate and block size:
    the STFT adapter (``neutone[stft]``) frames and resynthesises exactly around it, with the
    FIFO, resampler and mixer outside it as the model needs.
    """

    def get_n_fft(self) -> int:
        """Frame length in samples (>= 1); frames have ``n_fft // 2 + 1`` bins."""
        raise NotImplementedError("implement get_n_fft() -> int (samples per frame) in your spectral wrapper")

    def get_hop_length(self) -> int:
        """Samples between frames (1..n_fft, meeting the overlap-add condition with the window)."""
        raise NotImplementedError("implement get_hop_length() -> int (samples between frames) in your spectral wrapper")

    def get_window(self) -> Union[str, Tensor]:
        """``"hann"`` (default) or ``"sqrt-hann"`` (periodic, as ``torch.stft`` uses), or a
        tensor of ``n_fft`` samples."""
        return "hann"

    def get_frame_representation(self) -> str:
        """What ``do_forward_pass`` receives and returns: ``"complex"`` (default), ``"magnitude"``
        or ``"log-magnitude"`` (``log10(max(|X|, 1e-8))``)."""
        return "complex"

    def get_native_frame_counts(self) -> List[int]:
        """Frames per call the model accepts; empty (default) means any."""
        return []

    def get_native_buffer_sizes(self) -> List[int]:
        """Host block sizes (samples) that add no buffering delay: each native frame count
        times the hop, or the hop itself when any count is accepted."""
        hop = int(self.get_hop_length())
        return [int(count) * hop for count in self.get_native_frame_counts()] or [hop]

    def stft_config(self) -> StftConfig:
        """The declared STFT, checked; raises :class:`SpectralConfigError` naming the constraint."""
        return stft_config(
            self.get_n_fft(),
            self.get_hop_length(),
            self.get_window(),
            self.get_frame_representation(),
            self.get_native_frame_counts(),
            1 if self.is_input_mono() else 2,
            1 if self.is_output_mono() else 2,
        )

    def neutone_stream_needs(self) -> StreamNeeds:
        """The innermost record: spectrogram frames, the STFT configuration in ``extra``."""
        return StreamNeeds(
            input_channels=1 if self.is_input_mono() else 2,
            output_channels=1 if self.is_output_mono() else 2,
            native_sample_rates=tuple(int(r) for r in self.get_native_sample_rates()),
            domain=SPECTROGRAM,
            extra={**self.get_extra_needs(), STFT_EXTRA: self.stft_config()},
        )

    def neutone_model_stage(self) -> nn.Module:
        """The innermost stage: this wrapper inside a :class:`SpectralModelStage`."""
        params = self.neutone_parameters()
        mappings = [p.knob_mapping() for p in params] + [IDENTITY] * (MAX_N_PARAMS - len(params))
        config = self.stft_config()
        return SpectralModelStage(
            self,
            1 if self.is_input_mono() else 2,
            1 if self.is_output_mono() else 2,
            [p.name for p in params],
            mappings,
            config.n_bins,
            complex_frames=config.representation == "complex",
        )

    def neutone_protocol_problems(self) -> List[str]:
        """The waveform wrapper's problems, an STFT that cannot reconstruct, and overrides of
        what a spectral wrapper derives."""
        problems = super().neutone_protocol_problems()
        if type(self).do_forward_pass is SpectralToSpectralBase.do_forward_pass:
            problems.append("do_forward_pass(x, params): not implemented; it is the model's forward pass on STFT frames")
        for name, why in DERIVED_METHODS.items():
            if getattr(type(self), name) is not getattr(SpectralToSpectralBase, name):
                problems.append(f"{name}(): a spectral wrapper does not override it: {why}")
        try:
            self.stft_config()
        except SpectralConfigError as exc:
            problems.append(str(exc))
        return problems

    def do_forward_pass(self, x: Tensor, params: Dict[str, Tensor]) -> Tensor:
        """Run the model on STFT frames: x ``(in_channels, bins, frames)`` -> ``(out_channels,
        bins, frames)``, the same kind (complex or magnitudes); ``params[name]`` is ``(frames,)``."""
        raise NotImplementedError("implement do_forward_pass(x, params) -> Tensor in your spectral wrapper")
