"""A stereo pass-through: the smallest complete wrapper, useful to check a host setup."""

from typing import Dict, List

from torch import Tensor

from neutone_core import WaveformToWaveformBase


class PassThroughModelWrapper(WaveformToWaveformBase):
    """Returns its input unchanged, at any rate and block size."""

    def get_model_name(self) -> str:
        return "pass-through"

    def get_model_authors(self) -> List[str]:
        return ["neutone"]

    def get_model_short_description(self) -> str:
        return "Returns its input unchanged."

    def get_tags(self) -> List[str]:
        return ["utility"]

    def is_input_mono(self) -> bool:
        return False

    def is_output_mono(self) -> bool:
        return False

    def do_forward_pass(self, x: Tensor, params: Dict[str, Tensor]) -> Tensor:
        return x
