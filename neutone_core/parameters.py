"""Knob parameters: the up to four 0..1 controls a host shows for a model."""

from __future__ import annotations

from dataclasses import dataclass

from neutone_core.errors import ParameterError

MAX_N_PARAMS = 4
"""The host shows exactly four knobs; a model may use up to this many."""


@dataclass(frozen=True)
class NeutoneParameter:
    """One continuous knob.

    Args:
        name: key of this knob in the ``params`` dict handed to ``do_forward_pass``.
        description: what the knob does, shown by the host.
        default_value: value in 0..1 the knob starts at.
    """

    name: str
    description: str
    default_value: float = 0.0

    def to_metadata(self, used: bool = True) -> dict[str, object]:
        """The knob as it appears in ``neutone_parameters`` of the metadata."""
        return {
            "name": self.name,
            "description": self.description,
            "default_value": float(self.default_value),
            "used": used,
            "type": "continuous",
        }


Parameter = NeutoneParameter
"""The Neutone SDK README's older spelling of :class:`NeutoneParameter`."""


def validate_parameters(params: list[NeutoneParameter], where: str) -> list[NeutoneParameter]:
    """Check a wrapper's declared knobs; raise :class:`ParameterError` listing every problem.

    ``where`` names the method the list came from, for the error message.
    """
    problems: list[str] = []
    if not isinstance(params, (list, tuple)):
        raise ParameterError(
            f"{where} must return a list of NeutoneParameter, got {type(params).__name__}"
        )
    if len(params) > MAX_N_PARAMS:
        problems.append(
            f"{len(params)} parameters declared; the host has {MAX_N_PARAMS} knobs, remove {len(params) - MAX_N_PARAMS}"
        )
    seen: set[str] = set()
    for i, p in enumerate(params):
        if not isinstance(p, NeutoneParameter):
            problems.append(f"item {i} is a {type(p).__name__}, expected NeutoneParameter(name, description, default_value)")
            continue
        if not p.name or not isinstance(p.name, str):
            problems.append(f"item {i}: name must be a non-empty string")
        if p.name in seen:
            problems.append(f"item {i}: duplicate name {p.name!r}; names are the keys of the params dict and must be unique")
        seen.add(p.name)
        value = p.default_value
        if not isinstance(value, (int, float)) or not 0.0 <= float(value) <= 1.0:
            problems.append(
                f"item {i} ({p.name!r}): default_value {value!r} outside 0..1; "
                "knobs send values in 0..1, rescale inside do_forward_pass"
            )
    if problems:
        raise ParameterError(f"invalid parameters from {where}:\n" + "\n".join(f"  - {p}" for p in problems))
    return list(params)
