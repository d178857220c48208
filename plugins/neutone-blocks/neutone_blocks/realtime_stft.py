"""An STFT inside a model: audio blocks to a rolling spectrogram and back, exactly invertible.

The Neutone SDK's ``RealtimeSTFT`` role and method names, built on :mod:`neutone_blocks.stft`.
Each call takes ``io_n_samples = k·hop`` new samples, computes their ``k`` causal frames (each
ending at or before the newest sample) and shifts them into a spectrogram of the last
``model_io_n_frames`` frames; ``spec_to_audio`` overlap-adds the newest ``k`` frames of the
model's output. An identity model returns the input delayed by ``n_fft - hop`` samples
(:meth:`RealtimeSTFT.calc_min_delay_samples`), at any overlap whose window meets NOLA.

Differences from the SDK: frames are causal (the SDK centres them, ``center=True``), so the
reported delay is the true one; the overlap-add is exact, so ``fade_n_samples`` (the SDK's
crossfade against buzzing) is accepted and validated but applies no fade and adds no delay.
"""

from typing import List, Optional

import torch
from torch import Tensor, nn

from neutone_blocks.look_behind import LookBehind
from neutone_blocks.magnitude_phase import MagnitudePhase
from neutone_blocks.stft import StftAnalysis, StftSynthesis, stft_delay_samples


class RealtimeSTFT(nn.Module):
    """Streaming STFT for spectral models.

    Args:
        model_io_n_frames: frames in the spectrogram the model sees (the newest last).
        io_n_ch: audio channels.
        io_n_samples: samples per call, a multiple of ``hop_len`` (change with :meth:`set_buffer_size`).
        n_fft: frame length in samples.
        hop_len: samples between frames.
        window: analysis window ``(n_fft,)`` meeting NOLA (default periodic Hann).
        power: the spectrogram is ``|X|^power`` (>= 1); None: the real part (imaginary part as "phase").
        logarithmize: ``log10`` of the magnitude, floored at ``eps``.
        ensure_pos_spec: with ``logarithmize``, shift by ``-log10(eps)`` so values are >= 0.
        use_phase_info: resynthesise with the analysed phase (else zero phase).
        fade_n_samples: accepted for SDK compatibility (``0 <= fade < io_n_samples``); no fade is needed.
        eps: magnitude floor of the log.
        use_debug_mode: check every call's input shape.

    Shape: ``audio_to_spec``: ``(io_n_ch, k·hop) -> (io_n_ch, n_fft // 2 + 1, model_io_n_frames)``;
    ``spec_to_audio``: the reverse.
    """

    def __init__(
        self,
        model_io_n_frames: int = 16,
        io_n_ch: int = 2,
        io_n_samples: int = 512,
        n_fft: int = 2048,
        hop_len: int = 512,
        window: Optional[Tensor] = None,
        power: Optional[float] = 1.0,
        logarithmize: bool = True,
        ensure_pos_spec: bool = True,
        use_phase_info: bool = True,
        fade_n_samples: int = 0,
        eps: float = 1e-8,
        use_debug_mode: bool = True,
    ) -> None:
        super().__init__()
        if not 0 <= fade_n_samples < io_n_samples:
            raise ValueError(f"fade_n_samples {fade_n_samples}: must be in 0..io_n_samples - 1 = {io_n_samples - 1}")
        self.model_io_n_frames = model_io_n_frames
        self.io_n_ch = io_n_ch
        self.n_fft = n_fft
        self.hop_len = hop_len
        self.n_bins = n_fft // 2 + 1
        self.use_phase_info = use_phase_info
        self.use_debug_mode = use_debug_mode
        self.look_behind = LookBehind(n_fft - hop_len)
        self.analysis = StftAnalysis(n_fft, hop_len, window)
        self.synthesis = StftSynthesis(n_fft, hop_len, window)
        self.representation = MagnitudePhase(power, logarithmize, ensure_pos_spec, eps)
        shape = [io_n_ch, self.n_bins, model_io_n_frames]
        for name in ("magnitudes", "next_magnitudes", "phases", "next_phases", "model_spec", "scratch", "zero_phases"):
            self.register_buffer(name, torch.zeros(shape), persistent=False)
        self.register_buffer("new_spectrum", torch.zeros(0, dtype=torch.complex64), persistent=False)
        self.io_n_frames = 0
        self.set_buffer_size(io_n_samples)

    @torch.jit.export
    def calc_min_buffer_size(self) -> int:
        """Smallest block (samples): one hop."""
        return self.hop_len

    @torch.jit.export
    def calc_max_buffer_size(self) -> int:
        """Largest block (samples): ``model_io_n_frames`` hops."""
        return self.model_io_n_frames * self.hop_len

    @torch.jit.export
    def calc_supported_buffer_sizes(self) -> List[int]:
        """Every block size (samples) this STFT accepts: the multiples of the hop up to the maximum."""
        return list(range(self.hop_len, self.calc_max_buffer_size() + 1, self.hop_len))

    @torch.jit.export
    def latency_samples(self) -> int:
        """Delay (samples) from ``audio_to_spec`` input to ``spec_to_audio`` output: ``n_fft - hop_len``."""
        return stft_delay_samples(self.n_fft, self.hop_len)

    @torch.jit.export
    def calc_min_delay_samples(self) -> int:
        """The SDK's name for :meth:`latency_samples`."""
        return self.latency_samples()

    @torch.jit.export
    def set_buffer_size(self, io_n_samples: int) -> None:
        """Take blocks of ``io_n_samples`` (a multiple of the hop, at most the maximum); allocates and resets."""
        if io_n_samples < self.hop_len or io_n_samples % self.hop_len != 0 or io_n_samples > self.calc_max_buffer_size():
            raise ValueError(
                f"RealtimeSTFT buffer size {io_n_samples}: must be a multiple of hop_len = {self.hop_len} "
                f"from {self.hop_len} to model_io_n_frames * hop_len = {self.calc_max_buffer_size()}"
            )
        self.io_n_frames = io_n_samples // self.hop_len
        self.look_behind.allocate([self.io_n_ch], io_n_samples)
        self.analysis.configure(self.io_n_ch, self.io_n_frames)
        self.synthesis.configure(self.io_n_ch, self.io_n_frames)
        # frames-major storage: the synthesis inverse transforms a contiguous (ch, k, bins) tensor
        self.new_spectrum = torch.zeros(self.io_n_ch, self.io_n_frames, self.n_bins, dtype=torch.complex64).transpose(1, 2)
        self.reset()

    @torch.jit.export
    def reset(self) -> None:
        """Silence: empty look-behind, spectrogram history and overlap-add tail."""
        self.look_behind.reset()
        self.synthesis.reset()
        silence = self.next_magnitudes.narrow(2, 0, self.io_n_frames)
        self.new_spectrum.zero_()
        self.representation.split(self.new_spectrum, silence, self.phases.narrow(2, 0, self.io_n_frames))
        self.magnitudes.copy_(silence.narrow(2, 0, 1).expand_as(self.magnitudes))
        self.phases.zero_()

    @torch.jit.export
    def audio_to_spec(self, audio: Tensor) -> Tensor:
        """Shift the new block's frames into the spectrogram and return a copy the model may edit."""
        if self.use_debug_mode and (audio.size(0) != self.io_n_ch or audio.size(1) != self.io_n_frames * self.hop_len):
            raise ValueError(
                f"RealtimeSTFT.audio_to_spec got {list(audio.shape)}: expected [{self.io_n_ch}, "
                f"{self.io_n_frames * self.hop_len}] (call set_buffer_size for another block size)"
            )
        spectrum = self.analysis(self.look_behind(audio))
        kept = self.model_io_n_frames - self.io_n_frames
        self.next_magnitudes.narrow(2, 0, kept).copy_(self.magnitudes.narrow(2, self.io_n_frames, kept))
        self.next_phases.narrow(2, 0, kept).copy_(self.phases.narrow(2, self.io_n_frames, kept))
        self.representation.split(
            spectrum, self.next_magnitudes.narrow(2, kept, self.io_n_frames), self.next_phases.narrow(2, kept, self.io_n_frames)
        )
        self.magnitudes, self.next_magnitudes = self.next_magnitudes, self.magnitudes
        self.phases, self.next_phases = self.next_phases, self.phases
        self.model_spec.copy_(self.magnitudes)
        return self.model_spec

    @torch.jit.export
    def spec_to_audio(self, spec: Tensor) -> Tensor:
        """Resynthesise the newest ``k`` frames of ``spec`` (the model's output): ``(io_n_ch, k·hop)``."""
        if self.use_debug_mode and list(spec.shape) != list(self.model_spec.shape):
            raise ValueError(f"RealtimeSTFT.spec_to_audio got {list(spec.shape)}: expected {list(self.model_spec.shape)}")
        newest = self.model_io_n_frames - self.io_n_frames
        phase = self.phases.narrow(2, newest, self.io_n_frames)
        if not self.use_phase_info:
            phase = self.zero_phases.narrow(2, 0, self.io_n_frames)
        self.representation.join(
            spec.narrow(2, newest, self.io_n_frames), phase, self.new_spectrum, self.scratch.narrow(2, newest, self.io_n_frames)
        )
        return self.synthesis(self.new_spectrum)
