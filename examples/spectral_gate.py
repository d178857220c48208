"""A spectral noise gate: bins quieter than a threshold are turned down, per frame.

The STFT adapter hands ``do_forward_pass`` magnitude frames ``(2, 1025, frames)`` (Hann,
n_fft 2048, hop 512; it keeps the phase and reapplies it) and the knobs one value per frame.
Each bin's level is measured against a full-scale sine's bin; below ``threshold`` the gain
falls over a 6 dB knee to ``1 - reduction``. With ``reduction`` at 0 the output is the input,
delayed. Run ``python examples/spectral_gate.py OUT_DIR`` to export with every check on.
"""

import sys
from typing import Dict, List

import torch
from torch import Tensor, nn

from neutone_adapters.stft import SpectralToSpectralBase
from neutone_core import ContinuousNeutoneParameter, NeutoneParameter, save_neutone_model


class SpectralGate(nn.Module):
    """Per-bin downward gate on magnitude frames, in place and allocation-free.

    ``gain = 1 - reduction · clamp((threshold_db - level_db) / knee_db, 0, 1)`` with
    ``level_db = 20·log10(|X| / full_scale)``. Shape: ``(ch, bins, k) -> (ch, bins, k)``.

    Args:
        full_scale: the magnitude of a full-scale sine's bin (half the window's sum).
        knee_db: width of the transition below the threshold, in dB.
    """

    def __init__(self, full_scale: float, knee_db: float = 6.0) -> None:
        super().__init__()
        self.register_buffer("inverse_full_scale", torch.tensor(1.0 / full_scale), persistent=False)
        self.register_buffer("twenty", torch.tensor(20.0), persistent=False)
        self.register_buffer("inverse_knee", torch.tensor(1.0 / knee_db), persistent=False)
        self.register_buffer("one", torch.tensor(1.0), persistent=False)
        self.register_buffer("gain", torch.zeros(0, 0, 0), persistent=False)

    @torch.jit.export
    def configure(self, n_channels: int, n_bins: int, max_frames: int) -> None:
        """Allocate the gain for up to ``max_frames`` frames."""
        self.gain = torch.zeros(n_channels, n_bins, max_frames)

    def forward(self, magnitudes: Tensor, threshold_db: Tensor, reduction: Tensor) -> Tensor:
        """Gate ``magnitudes`` with per-frame ``threshold_db`` and ``reduction`` (each ``(k,)``)."""
        gain = self.gain.narrow(2, 0, magnitudes.size(2))
        torch.mul(magnitudes, self.inverse_full_scale, out=gain)
        gain.clamp_(min=1e-10).log10_().mul_(self.twenty)
        gain.sub_(threshold_db.view(1, 1, -1)).mul_(self.inverse_knee).neg_().clamp_(0.0, 1.0)
        gain.mul_(reduction.view(1, 1, -1)).neg_().add_(self.one)
        return magnitudes.mul_(gain)


class SpectralGateWrapper(SpectralToSpectralBase):
    """Stereo spectral gate at any rate: STFT 2048 / hop 512, magnitude frames."""

    def __init__(self, model: nn.Module | None = None, n_fft: int = 2048, hop_length: int = 512) -> None:
        self.n_fft = n_fft
        self.hop_length = hop_length
        super().__init__(model if model is not None else SpectralGate(float(torch.hann_window(n_fft).sum()) / 2))

    def get_model_name(self) -> str:
        return "spectral.gate"

    def get_model_authors(self) -> List[str]:
        return ["neutone"]

    def get_model_short_description(self) -> str:
        return "Spectral noise gate."

    def get_model_long_description(self) -> str:
        return "Turns down every frequency bin quieter than the threshold; the reduction knob sets by how much."

    def get_technical_description(self) -> str:
        return "Per-bin gate with a 6 dB knee on STFT magnitudes (Hann 2048, hop 512), phase kept, exact overlap-add."

    def get_tags(self) -> List[str]:
        return ["spectral", "gate", "denoise"]

    def get_neutone_parameters(self) -> List[NeutoneParameter]:
        return [
            ContinuousNeutoneParameter(
                "threshold", "gate threshold (dBFS)", default_value=-50.0, min_value=-100.0, max_value=0.0
            ),
            NeutoneParameter("reduction", "how much a gated bin is turned down", default_value=0.8),
        ]

    def is_input_mono(self) -> bool:
        return False

    def is_output_mono(self) -> bool:
        return False

    def get_n_fft(self) -> int:
        return self.n_fft

    def get_hop_length(self) -> int:
        return self.hop_length

    def get_frame_representation(self) -> str:
        return "magnitude"

    def set_model_sample_rate_and_buffer_size(self, sample_rate: int, n_samples: int) -> bool:
        self.model.configure(2, self.n_fft // 2 + 1, n_samples)
        return True

    def do_forward_pass(self, x: Tensor, params: Dict[str, Tensor]) -> Tensor:
        return self.model(x, params["threshold"], params["reduction"])


if __name__ == "__main__":
    save_neutone_model(SpectralGateWrapper(), sys.argv[1] if len(sys.argv) > 1 else "export_spectral_gate")
