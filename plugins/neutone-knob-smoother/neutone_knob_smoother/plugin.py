"""Registers the knob smoother with neutone: a need the core does not know, served by name."""

from typing import Callable

from torch import nn

from neutone_core import StreamNeeds, hookimpl
from neutone_knob_smoother.stage import KnobSmootherStage

NEED = "knob_smoothing_ms"
"""The extra need a model declares in ``get_extra_needs()``: the time constant in ms."""

RANK = 250
"""Between the mixer (300) and the resampler (200): it smooths the knobs as the host sends them."""


def smoother_needed(inner: StreamNeeds) -> str | None:
    """Needed when the stage inside asks for smoothed knobs."""
    if NEED not in inner.extra:
        return None
    return f"the model asks for knobs smoothed over {inner.extra[NEED]} ms"


def smoother_outer(inner: StreamNeeds, options: dict[str, str]) -> StreamNeeds:
    """Outside the smoother nobody asks for smoothing any more."""
    return inner.without_extra(NEED)


def build_smoother(inner: StreamNeeds, inner_stage: nn.Module, options: dict[str, str]) -> KnobSmootherStage:
    """Factory: a smoother with the time constant the model declared."""
    return KnobSmootherStage(inner_stage, float(inner.extra[NEED]))


@hookimpl
def register_adapters(register: Callable[..., None]) -> None:
    """Serve the ``knob_smoothing_ms`` need."""
    register(
        "knob-smoother",
        NEED,
        build_smoother,
        description="one-pole knob smoothing (no zipper noise) for models declaring knob_smoothing_ms",
        rank=RANK,
        needed=smoother_needed,
        outer=smoother_outer,
    )
