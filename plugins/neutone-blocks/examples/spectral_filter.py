"""A spectral notch filter inside the model, on ``neutone_blocks.realtime_stft.RealtimeSTFT``.

The STFT turns each block into magnitude frames (kept phase), the model attenuates a band
whose centre, width and depth follow the knobs, and the STFT resynthesises exactly: with the
knob at zero depth the output is the input delayed by ``n_fft - hop`` samples, which the
wrapper reports. Native rate 44.1 kHz; the accepted block sizes are the STFT's (multiples of
the hop). Run ``python spectral_filter.py OUT_DIR`` to export.
"""

import math
import sys
from typing import Dict, List

import torch
from torch import Tensor, nn

from neutone_blocks.realtime_stft import RealtimeSTFT
from neutone_core import NeutoneParameter, WaveformToWaveformBase, save_neutone_model


class SpectralNotch(nn.Module):
    """Raised-cosine notch on a logarithmic frequency axis, applied to magnitude frames in place.

    Bin ``b`` sits at ``p = log(1 + b) / log(n_bins)`` in 0..1; the gain is
    ``1 - amount · (1 + cos(π·clamp((p - centre) / half_width, -1, 1))) / 2`` with
    ``half_width = 0.02 + 0.2·width``. Shape: ``(ch, bins, frames) -> (ch, bins, frames)``.
    """

    def __init__(self, n_bins: int) -> None:
        super().__init__()
        position = torch.log1p(torch.arange(n_bins, dtype=torch.float32)) / math.log(n_bins)
        self.register_buffer("position", position.view(1, -1, 1), persistent=False)
        self.register_buffer("gain", torch.zeros(1, n_bins, 1), persistent=False)

    def forward(self, magnitudes: Tensor, centre: Tensor, width: Tensor, amount: Tensor) -> Tensor:
        """Attenuate ``magnitudes`` around ``centre`` (knobs in 0..1, each ``(1,)``)."""
        half_width = width * 0.2 + 0.02
        torch.sub(self.position, centre, out=self.gain)
        self.gain.div_(half_width).clamp_(-1.0, 1.0).mul_(math.pi).cos_().add_(1.0).mul_(amount * -0.5).add_(1.0)
        return magnitudes.mul_(self.gain)


class SpectralFilterWrapper(WaveformToWaveformBase):
    """Stereo spectral notch at 44.1 kHz: STFT 2048 / hop 512, blocks of one hop (the notch needs only the newest frame)."""

    def __init__(self, model: nn.Module | None = None, n_fft: int = 2048, hop_length: int = 512) -> None:
        super().__init__(model if model is not None else SpectralNotch(n_fft // 2 + 1))
        self.stft = RealtimeSTFT(
            model_io_n_frames=1,
            io_n_ch=2,
            io_n_samples=hop_length,
            n_fft=n_fft,
            hop_len=hop_length,
            power=1.0,
            logarithmize=False,
            ensure_pos_spec=True,
            use_phase_info=True,
            use_debug_mode=False,
        )

    def get_model_name(self) -> str:
        return "spectral.notch"

    def get_model_authors(self) -> List[str]:
        return ["neutone"]

    def get_model_short_description(self) -> str:
        return "Spectral notch filter."

    def get_model_long_description(self) -> str:
        return "Attenuates a band of the spectrum; centre, width and depth follow the knobs. Exact resynthesis."

    def get_technical_description(self) -> str:
        return "neutone_blocks RealtimeSTFT (Hann 2048, hop 512, exact overlap-add) around a raised-cosine notch on magnitudes."

    def get_tags(self) -> List[str]:
        return ["spectral", "filter", "stft"]

    def is_experimental(self) -> bool:
        return True

    def get_neutone_parameters(self) -> List[NeutoneParameter]:
        return [
            NeutoneParameter("center", "centre frequency of the notch (log scale)", default_value=0.6),
            NeutoneParameter("width", "width of the notch", default_value=0.3),
            NeutoneParameter("amount", "attenuation depth", default_value=0.9),
        ]

    def is_input_mono(self) -> bool:
        return False

    def is_output_mono(self) -> bool:
        return False

    def get_native_sample_rates(self) -> List[int]:
        return [44100]

    def get_native_buffer_sizes(self) -> List[int]:
        return self.stft.calc_supported_buffer_sizes()

    def calc_model_delay_samples(self) -> int:
        return self.stft.calc_min_delay_samples()

    def set_model_sample_rate_and_buffer_size(self, sample_rate: int, n_samples: int) -> bool:
        self.stft.set_buffer_size(n_samples)
        return True

    def reset_model(self) -> bool:
        self.stft.reset()
        return True

    def do_forward_pass(self, x: Tensor, params: Dict[str, Tensor]) -> Tensor:
        spec = self.stft.audio_to_spec(x)
        spec = self.model(spec, params["center"], params["width"], params["amount"])
        return self.stft.spec_to_audio(spec)


if __name__ == "__main__":
    save_neutone_model(SpectralFilterWrapper(), sys.argv[1] if len(sys.argv) > 1 else "export_spectral_filter")
