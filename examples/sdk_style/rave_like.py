"""An SDK-style RAVE wrapper around a small random TorchScript codec standing in for RAVE.

``TinyCodec`` has RAVE's scripted interface (``encode``, ``decode``, ``latent_size``), a
compression ratio of 2048 and a cache: ``decode`` returns the previous block's reconstruction,
a delay of 2048 samples, as a cached RAVE model has. The wrapper is written as for the SDK's
RAVE example: mono at 48 kHz in blocks of 2048, four knobs editing the latent code (noise
scaled by "Chaos" with ``torch.randn_like``, one latent dimension scaled and offset in
place), no ``reset_model`` although the codec holds state. An impulse cannot measure a
codec; export measures the adapters with the model bypassed and takes its declared delay.
"""

from argparse import ArgumentParser
from pathlib import Path
from typing import Dict, List

import torch
from torch import Tensor, nn

from neutone_core import ContinuousNeutoneParameter, NeutoneParameter, WaveformToWaveformBase, save_neutone_model

COMPRESSION_RATIO = 2048
"""Samples per latent frame."""


class TinyCodec(nn.Module):
    """A random convolutional codec with a one-block cache.

    ``encode``: ``(batch, 1, n)`` -> ``(batch, latent_size, n / 2048)``; ``decode``: back to
    ``(batch, 1, n)``, one block late.
    """

    def __init__(self, latent_size: int = 8, seed: int = 0) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        self.latent_size = latent_size
        self.encoder = nn.Conv1d(1, latent_size, COMPRESSION_RATIO, stride=COMPRESSION_RATIO, bias=False)
        self.decoder = nn.ConvTranspose1d(latent_size, 1, COMPRESSION_RATIO, stride=COMPRESSION_RATIO, bias=False)
        with torch.no_grad():
            self.encoder.weight.copy_(torch.randn(self.encoder.weight.shape, generator=generator) * 0.05)
            self.decoder.weight.copy_(torch.randn(self.decoder.weight.shape, generator=generator) * 0.05)
        self.register_buffer("cached", torch.zeros(1, latent_size, 1))

    @torch.jit.export
    def encode(self, x: Tensor) -> Tensor:
        return torch.tanh(self.encoder(x))

    @torch.jit.export
    def decode(self, z: Tensor) -> Tensor:
        previous = self.cached
        self.cached = z.clone()
        if previous.shape != z.shape:
            previous = torch.zeros_like(z)
        return torch.tanh(self.decoder(previous))

    def forward(self, x: Tensor) -> Tensor:
        return self.decode(self.encode(x))


class RAVEModelWrapper(WaveformToWaveformBase):
    """RAVE-style latent editing around the codec."""

    def get_model_name(self) -> str:
        return "RAVE.like"

    def get_model_authors(self) -> List[str]:
        return ["neutone examples"]

    def get_model_short_description(self) -> str:
        return "A RAVE-like codec with latent editing knobs."

    def get_model_long_description(self) -> str:
        return "A small random codec standing in for RAVE: latent noise and one latent dimension edited by the knobs."

    def get_technical_description(self) -> str:
        return "Random conv encoder/decoder, compression ratio 2048, a one-block cache."

    def get_technical_links(self) -> Dict[str, str]:
        return {"Paper": "https://arxiv.org/abs/2111.05011", "Code": "https://github.com/acids-ircam/RAVE"}

    def get_tags(self) -> List[str]:
        return ["timbre transfer", "RAVE"]

    def get_model_version(self) -> str:
        return "1.0.0"

    def is_experimental(self) -> bool:
        return True

    def get_neutone_parameters(self) -> List[NeutoneParameter]:
        return [
            ContinuousNeutoneParameter(name="Chaos", description="Magnitude of latent noise", default_value=0.0),
            ContinuousNeutoneParameter(name="Z edit index", description="Index of latent dimension to edit", default_value=0.0),
            ContinuousNeutoneParameter(name="Z scale", description="Scale of latent variable", default_value=0.5),
            ContinuousNeutoneParameter(name="Z offset", description="Offset of latent variable", default_value=0.5),
        ]

    def is_input_mono(self) -> bool:
        return True

    def is_output_mono(self) -> bool:
        return True

    def get_native_sample_rates(self) -> List[int]:
        return [48000]

    def get_native_buffer_sizes(self) -> List[int]:
        return [COMPRESSION_RATIO]

    def get_citation(self) -> str:
        return (
            "Caillon, A., & Esling, P. (2021). RAVE: A variational autoencoder for fast and high-quality neural audio synthesis."
        )

    def calc_model_delay_samples(self) -> int:
        return 2048  # the codec's cache: one block

    def do_forward_pass(self, x: Tensor, params: Dict[str, Tensor]) -> Tensor:
        z = self.model.encode(x.unsqueeze(1))
        noise_amp = params["Chaos"]
        z = torch.randn_like(z) * noise_amp + z
        idx_z = int(torch.clamp(params["Z edit index"], min=0.0, max=0.99) * self.model.latent_size)
        z_scale = params["Z scale"] * 2
        z_offset = params["Z offset"] * 2 - 1
        z[:, idx_z] = z[:, idx_z] * z_scale + z_offset
        out = self.model.decode(z)
        return out.squeeze(1)


def build() -> RAVEModelWrapper:
    """The wrapper around a scripted codec, as a user wraps a RAVE ``.ts`` file loaded with
    ``torch.jit.load`` (``neutone compose rave_like.py:build``)."""
    return RAVEModelWrapper(torch.jit.script(TinyCodec()))


if __name__ == "__main__":
    parser = ArgumentParser()
    parser.add_argument("-o", "--output", default="export_model")
    args = parser.parse_args()
    save_neutone_model(build(), Path(args.output), dump_samples=True, submission=True)
