"""Knobs that set a model's attributes: ``--option knob1=temperature:0:2``.

A knob option names a settable attribute and, for numbers, the range the knob sweeps
(``ATTRIBUTE:MIN:MAX``); a bool attribute takes ``ATTRIBUTE`` alone and the knob switches it
(off below half way). The knob starts at the attribute's current value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from neutone_core import CategoricalNeutoneParameter, ContinuousNeutoneParameter, FamilyError, NeutoneParameter
from neutone_nn_tilde.convention import attribute_type, current_value

KNOB_OPTIONS = ("knob1", "knob2", "knob3", "knob4")


@dataclass(frozen=True)
class KnobBinding:
    """A knob setting one attribute with ``set_<attribute>``; its value in ``minimum..maximum``."""

    attribute: str
    kind: type
    minimum: float
    maximum: float
    default: float

    def parameter(self) -> NeutoneParameter:
        """The knob the host shows: the attribute's range, or off/on for a bool."""
        description = f"sets the model's {self.attribute}"
        if self.kind is bool:
            return CategoricalNeutoneParameter(self.attribute, description, 2, int(self.default), ["off", "on"])
        return ContinuousNeutoneParameter(
            self.attribute, f"{description} ({self.minimum:g}..{self.maximum:g})", self.default, self.minimum, self.maximum
        )

    def setter_call(self, index: int) -> str:
        """The TorchScript statement setting the attribute from ``values[index]``."""
        value = f"values[{index}]"
        argument = {bool: f"{value} >= 0.5", int: f"int(round({value}))", float: value}[self.kind]
        return f"self.set_{self.attribute}({argument})"


def _bind(module: torch.jit.ScriptModule, option: str, text: str) -> KnobBinding:
    attribute, *bounds = text.split(":")
    kind = attribute_type(module, attribute)
    value: Any = current_value(module, attribute)
    if kind is bool:
        if bounds:
            raise FamilyError(f"{option}={text!r}: {attribute} is a bool, give it alone ({option}={attribute})")
        return KnobBinding(attribute, bool, 0.0, 1.0, float(bool(value)))
    try:
        minimum, maximum = (float(bound) for bound in bounds)
    except ValueError:
        raise FamilyError(f"{option}={text!r}: expected ATTRIBUTE:MIN:MAX with numbers, e.g. {attribute}:0:1") from None
    if not minimum < maximum:
        raise FamilyError(f"{option}={text!r}: MIN {minimum:g} must be below MAX {maximum:g}")
    if not minimum <= float(value) <= maximum:
        raise FamilyError(f"{option}={text!r}: {attribute} is {value} now, outside {minimum:g}..{maximum:g}; widen the range")
    for bound in (minimum, maximum):
        status = getattr(module, f"set_{attribute}")(kind(round(bound)) if kind is int else bound)
        if status != 0:
            raise FamilyError(f"{option}={text!r}: set_{attribute}({bound:g}) returned {status}: the model refuses that range")
    getattr(module, f"set_{attribute}")(value)
    return KnobBinding(attribute, kind, minimum, maximum, float(value))


def knob_bindings(module: torch.jit.ScriptModule, options: dict[str, Any]) -> list[KnobBinding]:
    """The knobs ``knob1`` .. ``knob4`` give, in order (no gaps)."""
    given = [name for name in KNOB_OPTIONS if name in options]
    if given != list(KNOB_OPTIONS[: len(given)]):
        raise FamilyError(f"knob options {', '.join(given)}: number the knobs from knob1 without gaps")
    return [_bind(module, name, options[name]) for name in given]
