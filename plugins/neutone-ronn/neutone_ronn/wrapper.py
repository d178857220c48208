"""The wrapper: drive, tone and level knobs around a :class:`~neutone_ronn.network.RandomizedOverdrive`."""

from typing import Dict, List

from torch import Tensor

from neutone_core import ContinuousNeutoneParameter, NeutoneParameter, WaveformToWaveformBase
from neutone_ronn.network import RandomizedOverdrive


class RandomizedOverdriveWrapper(WaveformToWaveformBase):
    """A randomized overdrive at any rate and block size, stereo (a mono host is mixed up and
    down by the mixer adapter). Shape: ``(2, n) -> (2, n)``.

    Args:
        model: the network.
        settings: one line naming the seed and the options it was built with.
    """

    def __init__(self, model: RandomizedOverdrive, settings: str) -> None:
        self.settings = settings
        super().__init__(model)

    def get_model_name(self) -> str:
        """``randomized overdrive``."""
        return "randomized overdrive"

    def get_model_authors(self) -> List[str]:
        """The paper's authors."""
        return ["Christian J. Steinmetz", "Joshua D. Reiss"]

    def get_model_short_description(self) -> str:
        """What it is."""
        return "An untrained random-weight convolutional network as an overdrive."

    def get_technical_description(self) -> str:
        """The network it was built with."""
        return f"Causal TCN of random weights ({self.settings}), tanh output, tone blending a 1 kHz low-pass."

    def get_technical_links(self) -> Dict[str, str]:
        """The paper."""
        return {"Paper": "https://arxiv.org/abs/2010.04237"}

    def get_citation(self) -> str:
        """The paper."""
        return "Steinmetz, C. J., & Reiss, J. D. (2020). Randomized overdrive neural networks. arXiv:2010.04237."

    def get_tags(self) -> List[str]:
        """Distortion tags."""
        return ["distortion", "overdrive", "tcn"]

    def get_neutone_parameters(self) -> List[NeutoneParameter]:
        """Drive (dB), tone, level (dB)."""
        return [
            ContinuousNeutoneParameter("drive", "input gain into the network, dB", 12.0, 0.0, 36.0),
            NeutoneParameter("tone", "dark (low-pass at 1 kHz) to bright (flat)", default_value=0.6),
            ContinuousNeutoneParameter("level", "output level, dB", -6.0, -36.0, 0.0),
        ]

    def is_input_mono(self) -> bool:
        """Stereo in."""
        return False

    def is_output_mono(self) -> bool:
        """Stereo out."""
        return False

    def set_model_sample_rate_and_buffer_size(self, sample_rate: int, n_samples: int) -> bool:
        """The tone filter's rate (Hz) and buffers for blocks of up to ``n_samples``."""
        self.model.set_sample_rate(sample_rate)
        self.model.allocate(2, n_samples)
        return True

    def reset_model(self) -> bool:
        """Forget the stream's past."""
        self.model.reset()
        return True

    def do_forward_pass(self, x: Tensor, params: Dict[str, Tensor]) -> Tensor:
        """Distort the block with the block's knob values."""
        return self.model(x, params["drive"], params["tone"], params["level"])
