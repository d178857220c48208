"""Knob parameters: the up to four controls a host shows for a model.

The host always sends every knob as a value in 0..1. Each parameter says what the model
receives for that value: a plain :class:`NeutoneParameter` the value itself, a
:class:`ContinuousNeutoneParameter` the value mapped linearly onto its own range, a
:class:`CategoricalNeutoneParameter` the index of the chosen category (a whole number, as a
float). :meth:`NeutoneParameter.knob_mapping` gives that map as ``offset + scale * v``,
rounded for categories; the model stage applies it after aggregation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from neutone_core.errors import ParameterError

MAX_N_PARAMS = 4
"""The host shows exactly four knobs; a model may use up to this many."""

MAX_N_CATEGORICAL_VALUES = 20
"""Most categories a categorical knob may have."""

MAX_N_CATEGORICAL_LABEL_CHARS = 20
"""Labels of a categorical knob are shorter than this many characters."""


@dataclass(frozen=True)
class KnobMapping:
    """What the model receives for a host value ``v`` in 0..1: ``offset + scale * v``, rounded
    to a whole number when ``rounded``."""

    offset: float
    scale: float
    rounded: bool

    @property
    def is_identity(self) -> bool:
        """Whether the model receives the host value unchanged."""
        return self.offset == 0.0 and self.scale == 1.0 and not self.rounded


IDENTITY = KnobMapping(0.0, 1.0, False)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(float(value))


class NeutoneParameter:
    """A continuous knob whose value the model receives as the host sends it, in 0..1.

    Args:
        name: key of this knob in the ``params`` dict handed to ``do_forward_pass``.
        description: what the knob does, shown by the host.
        default_value: value in 0..1 the knob starts at.
        used: whether the host shows the knob.
    """

    kind = "continuous"

    def __init__(self, name: str, description: str, default_value: float = 0.0, used: bool = True) -> None:
        self.name = name
        self.description = description
        self.default_value = default_value
        self.used = used

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, default {self.default_value!r})"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and vars(other) == vars(self)

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.name))

    @property
    def default_value_0to1(self) -> float:
        """The default as the host sends it, in 0..1."""
        return float(self.default_value)

    def knob_mapping(self) -> KnobMapping:
        """How a host value becomes the value the model receives."""
        return IDENTITY

    def problems(self) -> list[str]:
        """What is wrong with this parameter's declaration, one line each."""
        problems = []
        if not isinstance(self.name, str) or not self.name:
            problems.append("name must be a non-empty string")
        if not isinstance(self.description, str):
            problems.append("description must be a string")
        if not isinstance(self.used, bool):
            problems.append(f"used must be True or False, got {self.used!r}")
        if not _is_number(self.default_value) or not 0.0 <= float(self.default_value) <= 1.0:
            problems.append(
                f"default_value {self.default_value!r} outside 0..1; the host sends 0..1 "
                "(use ContinuousNeutoneParameter(min_value=, max_value=) for another range)"
            )
        return problems

    def to_metadata(self) -> dict[str, Any]:
        """The knob as the Neutone SDK writes it in ``neutone_parameters``."""
        return {
            "name": self.name,
            "description": self.description,
            "default_value": float(self.default_value),
            "used": self.used,
            "type": self.kind,
        }


Parameter = NeutoneParameter
"""The Neutone SDK README's older spelling of :class:`NeutoneParameter`."""


class ContinuousNeutoneParameter(NeutoneParameter):
    """A continuous knob mapped onto ``min_value .. max_value``: the host sends ``v`` in 0..1,
    the model receives ``min_value + v * (max_value - min_value)``.

    Args:
        name: key of this knob in the ``params`` dict.
        description: what the knob does.
        default_value: default in the knob's own range.
        min_value: what the model receives at host value 0.
        max_value: what the model receives at host value 1 (> ``min_value``).
        used: whether the host shows the knob.
    """

    def __init__(
        self,
        name: str,
        description: str,
        default_value: float,
        min_value: float = 0.0,
        max_value: float = 1.0,
        used: bool = True,
    ) -> None:
        super().__init__(name, description, default_value, used)
        self.min_value = min_value
        self.max_value = max_value

    def _range_valid(self) -> bool:
        return _is_number(self.min_value) and _is_number(self.max_value) and float(self.min_value) < float(self.max_value)

    @property
    def default_value_0to1(self) -> float:
        """The default as the host sends it: ``(default - min) / (max - min)``."""
        return (float(self.default_value) - float(self.min_value)) / (float(self.max_value) - float(self.min_value))

    def knob_mapping(self) -> KnobMapping:
        """``min_value + v * (max_value - min_value)``."""
        return KnobMapping(float(self.min_value), float(self.max_value) - float(self.min_value), False)

    def problems(self) -> list[str]:
        """Name, range and default checks."""
        problems = NeutoneParameter.problems(self)
        problems = [p for p in problems if not p.startswith("default_value")]
        if not self._range_valid():
            problems.append(f"min_value {self.min_value!r} must be a number below max_value {self.max_value!r}")
        elif not _is_number(self.default_value) or not self.min_value <= self.default_value <= self.max_value:
            problems.append(
                f"default_value {self.default_value!r} outside min_value..max_value ({self.min_value}..{self.max_value})"
            )
        return problems

    def to_metadata(self) -> dict[str, Any]:
        """As the SDK writes it: the default in the knob's range, with ``min_value``, ``max_value``."""
        return {**NeutoneParameter.to_metadata(self), "min_value": float(self.min_value), "max_value": float(self.max_value)}


class CategoricalNeutoneParameter(NeutoneParameter):
    """A knob choosing one of ``n_values`` categories: the host sends ``v`` in 0..1, the model
    receives ``round(v * (n_values - 1))``, the category's index, as a float.

    Args:
        name: key of this knob in the ``params`` dict.
        description: what the knob chooses.
        n_values: number of categories, 2..20.
        default_value: index of the default category, 0..n_values-1.
        labels: one label per category, each under 20 characters (default ``"0"``, ``"1"``, ...).
        used: whether the host shows the knob.
    """

    kind = "categorical"

    def __init__(
        self,
        name: str,
        description: str,
        n_values: int,
        default_value: int,
        labels: list[str] | None = None,
        used: bool = True,
    ) -> None:
        super().__init__(name, description, default_value, used)
        self.n_values = n_values
        self.labels = (
            list(labels) if labels is not None else [str(i) for i in range(n_values if isinstance(n_values, int) else 0)]
        )

    @property
    def default_value_0to1(self) -> float:
        """The default as the host sends it: ``index / (n_values - 1)``."""
        return float(self.default_value) / float(self.n_values - 1)

    def knob_mapping(self) -> KnobMapping:
        """``round(v * (n_values - 1))``."""
        return KnobMapping(0.0, float(self.n_values - 1), True)

    def problems(self) -> list[str]:
        """Name, category count, default index and label checks."""
        problems = [p for p in NeutoneParameter.problems(self) if not p.startswith("default_value")]
        if (
            isinstance(self.n_values, bool)
            or not isinstance(self.n_values, int)
            or not 2 <= self.n_values <= MAX_N_CATEGORICAL_VALUES
        ):
            problems.append(f"n_values {self.n_values!r} must be an integer in 2..{MAX_N_CATEGORICAL_VALUES}")
            return problems
        if isinstance(self.default_value, bool) or not isinstance(self.default_value, int):
            problems.append(f"default_value {self.default_value!r} must be a category index (int)")
        elif not 0 <= self.default_value < self.n_values:
            problems.append(f"default_value {self.default_value} outside 0..{self.n_values - 1}")
        if len(self.labels) != self.n_values:
            problems.append(f"{len(self.labels)} labels for {self.n_values} categories; give one label per category")
        for label in self.labels:
            if not isinstance(label, str) or len(label) >= MAX_N_CATEGORICAL_LABEL_CHARS:
                problems.append(f"label {label!r} must be a string under {MAX_N_CATEGORICAL_LABEL_CHARS} characters")
        return problems

    def to_metadata(self) -> dict[str, Any]:
        """As the SDK writes it: the default index, ``n_values`` and ``labels``."""
        return {
            **NeutoneParameter.to_metadata(self),
            "default_value": int(self.default_value),
            "n_values": self.n_values,
            "labels": list(self.labels),
        }


class TextNeutoneParameter(NeutoneParameter):
    """A text field (the SDK's, for generative models in Neutone Gen). A waveform-to-waveform
    model cannot use one: Neutone FX shows knobs only, and export says so.

    Args:
        name: name of the field.
        description: what the text is for.
        max_n_chars: longest text accepted, -1 for no limit.
        default_value: text the field starts with.
        used: whether the host shows the field.
    """

    kind = "text"

    def __init__(self, name: str, description: str, max_n_chars: int = -1, default_value: str = "", used: bool = True) -> None:
        super().__init__(name, description, 0.0, used)
        self.default_value = default_value
        self.max_n_chars = max_n_chars

    def problems(self) -> list[str]:
        """Always one problem for a waveform model: hosts show no text fields."""
        return [
            "a TextNeutoneParameter cannot drive a waveform-to-waveform model: Neutone FX shows four knobs and "
            "sends no text; use NeutoneParameter, ContinuousNeutoneParameter or CategoricalNeutoneParameter"
        ]

    def to_metadata(self) -> dict[str, Any]:
        """As the SDK writes it: the default text and ``max_n_chars``."""
        return {**NeutoneParameter.to_metadata(self), "default_value": self.default_value, "max_n_chars": self.max_n_chars}


def validate_parameters(params: Any, where: str) -> list[NeutoneParameter]:
    """Check a wrapper's declared knobs; raise :class:`ParameterError` listing every problem.

    ``where`` names the method the list came from, for the error message.
    """
    if not isinstance(params, (list, tuple)):
        raise ParameterError(f"{where} must return a list of NeutoneParameter, got {type(params).__name__}")
    problems: list[str] = []
    if len(params) > MAX_N_PARAMS:
        problems.append(
            f"{len(params)} parameters declared; the host has {MAX_N_PARAMS} knobs, remove {len(params) - MAX_N_PARAMS}"
        )
    seen: set[str] = set()
    for i, param in enumerate(params):
        if not isinstance(param, NeutoneParameter):
            problems.append(
                f"item {i} is a {type(param).__name__}, expected NeutoneParameter(name, description, default_value) "
                "or ContinuousNeutoneParameter / CategoricalNeutoneParameter"
            )
            continue
        problems.extend(f"item {i} ({param.name!r}): {problem}" for problem in param.problems())
        if param.name in seen:
            problems.append(f"item {i}: duplicate name {param.name!r}; names are the keys of the params dict and must be unique")
        seen.add(param.name)
    if problems:
        raise ParameterError(f"invalid parameters from {where}:\n" + "\n".join(f"  - {p}" for p in problems))
    return list(params)


def unused_slot_metadata() -> dict[str, Any]:
    """A knob slot no parameter occupies, as written in ``neutone_parameters``."""
    return {"name": "", "description": "", "default_value": 0.0, "used": False, "type": "continuous"}
