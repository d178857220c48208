"""A RAVE-like codec behind a band-limiting prefilter, native 48 kHz / 2048.

RAVE exports a TorchScript module with ``encode`` and ``decode`` built from cached strided
convolutions. This example builds a small random stand-in of that shape (``neutone_blocks.conv``:
a stride-16 causal encoder to 16 latent channels and the transposed decoder that inverts it,
so the codec itself is exact and adds no delay), scripts it, and wraps it as the SDK's RAVE
prefilter example does: a 500 Hz - 4 kHz FIR band-pass in front whose delay is reported, and
knobs that scale and offset one latent dimension. Replace ``random_codec()`` with
``torch.jit.load("rave.ts")`` for a real model. Run ``python rave_prefilter.py OUT_DIR`` to export.
"""

import sys
from typing import Dict, List

import torch
from torch import Tensor, nn

from neutone_blocks.conv import CachedConv1d, CachedConvTranspose1d
from neutone_blocks.filters import FilterType, FIRFilter
from neutone_core import NeutoneParameter, WaveformToWaveformBase, save_neutone_model

LATENT_SIZE = 16
"""Latent channels, also the codec's stride (samples per latent frame)."""


class RandomCodec(nn.Module):
    """Encoder ``(1, 1, n) -> (1, 16, n / 16)`` and its exact inverse decoder, random orthogonal weights."""

    def __init__(self, seed: int = 3) -> None:
        super().__init__()
        self.latent_size = LATENT_SIZE
        basis, _ = torch.linalg.qr(torch.randn(LATENT_SIZE, LATENT_SIZE, generator=torch.Generator().manual_seed(seed)))
        self.encoder = CachedConv1d(1, LATENT_SIZE, LATENT_SIZE, stride=LATENT_SIZE, bias=False, cached=True)
        self.decoder = CachedConvTranspose1d(LATENT_SIZE, 1, LATENT_SIZE, stride=LATENT_SIZE, bias=False, cached=True)
        with torch.no_grad():
            self.encoder.weight.copy_(basis.view(LATENT_SIZE, 1, LATENT_SIZE))
            self.decoder.weight.copy_(basis.view(LATENT_SIZE, 1, LATENT_SIZE))

    @torch.jit.export
    def encode(self, x: Tensor) -> Tensor:
        """Audio ``(1, 1, n)`` -> latent ``(1, latent_size, n / 16)``."""
        return self.encoder(x)

    @torch.jit.export
    def decode(self, z: Tensor) -> Tensor:
        """Latent ``(1, latent_size, m)`` -> audio ``(1, 1, 16 m)``."""
        return self.decoder(z)

    @torch.jit.export
    def reset(self) -> None:
        """Clear both caches."""
        self.encoder.reset()
        self.decoder.reset()

    def forward(self, x: Tensor) -> Tensor:
        """Encode then decode: returns ``x`` (the codec is exact)."""
        return self.decode(self.encode(x))


def random_codec() -> torch.jit.ScriptModule:
    """The scripted stand-in, as ``torch.jit.load`` would return a RAVE export."""
    return torch.jit.script(RandomCodec())


class FilteredRaveWrapper(WaveformToWaveformBase):
    """Mono RAVE-like model at 48 kHz / 2048 with a band-pass prefilter (257 taps, 128 samples of delay)."""

    def __init__(self, model: nn.Module | None = None) -> None:
        super().__init__(model if model is not None else random_codec())
        self.pre_filter = FIRFilter(FilterType.BANDPASS, cutoffs=[500.0, 4000.0], filt_size=257)

    def get_model_name(self) -> str:
        return "rave.prefilter.example"

    def get_model_authors(self) -> List[str]:
        return ["neutone"]

    def get_model_short_description(self) -> str:
        return "RAVE-like codec with a band-pass prefilter."

    def get_model_long_description(self) -> str:
        return "Band-limits the input to 500 Hz - 4 kHz, encodes it to a latent, edits one latent dimension and decodes."

    def get_technical_description(self) -> str:
        return "neutone_blocks FIRFilter prefilter; a random stride-16 cached-convolution codec standing in for RAVE."

    def get_technical_links(self) -> Dict[str, str]:
        return {"Paper": "https://arxiv.org/abs/2111.05011", "Code": "https://github.com/acids-ircam/RAVE"}

    def get_citation(self) -> str:
        return (
            "Caillon, A., & Esling, P. (2021). RAVE: A variational autoencoder for fast and high-quality "
            "neural audio synthesis. arXiv:2111.05011."
        )

    def get_tags(self) -> List[str]:
        return ["timbre transfer", "RAVE"]

    def is_experimental(self) -> bool:
        return True

    def get_neutone_parameters(self) -> List[NeutoneParameter]:
        return [
            NeutoneParameter("Z edit index", "index of the latent dimension to edit", default_value=0.0),
            NeutoneParameter("Z scale", "scale of that latent dimension, 0 to 2", default_value=0.5),
            NeutoneParameter("Z offset", "offset of that latent dimension, -1 to 1", default_value=0.5),
        ]

    def is_input_mono(self) -> bool:
        return True

    def is_output_mono(self) -> bool:
        return True

    def get_native_sample_rates(self) -> List[int]:
        return [48000]

    def get_native_buffer_sizes(self) -> List[int]:
        return [2048]

    def calc_model_delay_samples(self) -> int:
        return self.pre_filter.delay

    def set_model_sample_rate_and_buffer_size(self, sample_rate: int, n_samples: int) -> bool:
        self.pre_filter.set_parameters(sample_rate=sample_rate)
        return True

    def reset_model(self) -> bool:
        self.pre_filter.reset()
        self.model.reset()
        return True

    def do_forward_pass(self, x: Tensor, params: Dict[str, Tensor]) -> Tensor:
        z = self.model.encode(self.pre_filter(x).unsqueeze(1))
        index = int(torch.clamp(params["Z edit index"], 0.0, 0.99) * self.model.latent_size)
        edited = z[:, index]
        edited.mul_(params["Z scale"] * 2.0).add_(params["Z offset"] * 2.0 - 1.0)
        return self.model.decode(z).squeeze(1)


if __name__ == "__main__":
    save_neutone_model(FilteredRaveWrapper(), sys.argv[1] if len(sys.argv) > 1 else "export_rave_prefilter")
