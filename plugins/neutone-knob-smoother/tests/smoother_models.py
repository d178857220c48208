"""A model for the knob smoother tests: asks for smoothing, outputs its first knob."""

from typing import Any, Dict

from torch import Tensor

from neutone_core.testing import PassThroughWrapper


class KnobEcho(PassThroughWrapper):
    """Mono model asking for 5 ms knob smoothing; it outputs its first knob, sample by sample."""

    def __init__(self) -> None:
        super().__init__(input_mono=True, output_mono=True, native_sample_rates=[44100], extra_needs={"knob_smoothing_ms": 5.0})

    def aggregate_params(self, params: Tensor) -> Tensor:
        return params

    def do_forward_pass(self, x: Tensor, params: Dict[str, Tensor]) -> Tensor:
        return params["p0"].unsqueeze(0)

    def get_extra_needs(self) -> Dict[str, Any]:
        return self.extra_needs
