"""A spectral pass-through: STFT frames in, the same frames out, resynthesised exactly.

The smallest spectral wrapper: the STFT adapter frames the host's audio (Hann, n_fft 2048,
hop 512 by default), hands ``do_forward_pass`` complex frames ``(2, 1025, frames)`` and
overlap-adds what it returns, so the host hears its input delayed by the reported delay
(1535 samples at host blocks of 512). Run ``python examples/spectral_passthrough.py OUT_DIR``
to export with every check on.
"""

import sys
from typing import Dict, List, Union

from torch import Tensor

from neutone_adapters.stft import SpectralToSpectralBase
from neutone_core import save_neutone_model


class SpectralPassThroughWrapper(SpectralToSpectralBase):
    """Returns the STFT frames it gets, at any rate and block size.

    Args:
        n_fft: frame length in samples.
        hop_length: samples between frames.
        window: ``"hann"``, ``"sqrt-hann"`` or a tensor of ``n_fft`` samples.
        representation: the frames it passes: ``"complex"``, ``"magnitude"`` or ``"log-magnitude"``.
    """

    def __init__(
        self, n_fft: int = 2048, hop_length: int = 512, window: Union[str, Tensor] = "hann", representation: str = "complex"
    ) -> None:
        self.n_fft = n_fft
        self.hop_length = hop_length
        self.window = window
        self.representation = representation
        super().__init__()

    def get_model_name(self) -> str:
        return "spectral pass-through"

    def get_model_authors(self) -> List[str]:
        return ["neutone"]

    def get_model_short_description(self) -> str:
        return "Returns its input through an exact STFT round trip."

    def get_technical_description(self) -> str:
        return f"STFT {self.n_fft} / hop {self.hop_length}, {self.representation} frames, exact overlap-add."

    def get_tags(self) -> List[str]:
        return ["utility", "spectral"]

    def is_input_mono(self) -> bool:
        return False

    def is_output_mono(self) -> bool:
        return False

    def get_n_fft(self) -> int:
        return self.n_fft

    def get_hop_length(self) -> int:
        return self.hop_length

    def get_window(self) -> Union[str, Tensor]:
        return self.window

    def get_frame_representation(self) -> str:
        return self.representation

    def do_forward_pass(self, x: Tensor, params: Dict[str, Tensor]) -> Tensor:
        return x


if __name__ == "__main__":
    save_neutone_model(SpectralPassThroughWrapper(), sys.argv[1] if len(sys.argv) > 1 else "export_spectral_passthrough")
