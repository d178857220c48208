from typing import List

import pytest

from neutone_core import NeutoneParameter, Parameter, ParameterError, WaveformToWaveformBase
from neutone_core.testing import PassThroughWrapper


class ManyParams(PassThroughWrapper):
    def __init__(self, params: list) -> None:
        self.declared = params
        super().__init__()

    def get_neutone_parameters(self) -> list:
        return self.declared


def test_four_parameters_are_accepted_and_named_in_order() -> None:
    wrapper = ManyParams([NeutoneParameter(f"k{i}", "d", 0.25 * i) for i in range(4)])
    assert wrapper.neutone_parameter_names == ["k0", "k1", "k2", "k3"]


def test_more_than_four_parameters_are_refused_at_construction() -> None:
    with pytest.raises(ParameterError, match="5 parameters declared; the host has 4 knobs, remove 1"):
        ManyParams([NeutoneParameter(f"k{i}", "d", 0.0) for i in range(5)])


def test_duplicate_names_are_refused() -> None:
    with pytest.raises(ParameterError, match="duplicate name 'gain'"):
        ManyParams([NeutoneParameter("gain", "a", 0.0), NeutoneParameter("gain", "b", 0.0)])


@pytest.mark.parametrize("value", [-0.1, 1.5, float("nan"), "0.5"])
def test_defaults_outside_unit_range_are_refused(value: object) -> None:
    with pytest.raises(ParameterError, match="outside 0..1"):
        ManyParams([NeutoneParameter("gain", "g", value)])  # type: ignore[arg-type]


def test_every_problem_is_listed_at_once() -> None:
    with pytest.raises(ParameterError) as info:
        ManyParams([NeutoneParameter("a", "", 2.0), NeutoneParameter("a", "", -1.0), "knob"])
    message = str(info.value)
    assert "item 0 ('a'): default_value 2.0" in message
    assert "item 1: duplicate name 'a'" in message
    assert "item 2 is a str" in message


def test_sdk_readme_spelling_get_parameters_with_parameter_works() -> None:
    class OldStyle(WaveformToWaveformBase):
        def get_parameters(self) -> List[Parameter]:
            return [Parameter(name="min", description="min clip threshold", default_value=0.5)]

    assert Parameter is NeutoneParameter
    assert OldStyle().neutone_parameter_names == ["min"]
