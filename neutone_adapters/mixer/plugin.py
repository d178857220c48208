"""Registers the mixer with neutone through the ``"neutone"`` entry point group."""

from __future__ import annotations

from typing import Callable

from torch import nn

from neutone_adapters.mixer.stage import MixerStage
from neutone_core import ANY_CHANNELS, StreamNeeds, hookimpl

RANK = 300
"""Outermost: it converts between the host's channels and everything inside."""


def mixer_needed(inner: StreamNeeds) -> str | None:
    """Needed around any stage with a fixed channel layout (hosts send mono or stereo)."""
    if inner.input_channels == ANY_CHANNELS and inner.output_channels == ANY_CHANNELS:
        return None
    layout = inner.describe().split(",")[0]
    return f"the model is {layout} and hosts send mono or stereo"


def mixer_outer(inner: StreamNeeds, options: dict[str, str]) -> StreamNeeds:
    """Outside the mixer, any host layout."""
    return inner.with_changes(input_channels=ANY_CHANNELS, output_channels=ANY_CHANNELS)


def build_mixer(inner: StreamNeeds, inner_stage: nn.Module, options: dict[str, str]) -> MixerStage:
    """Factory: a mixer between any host layout and the inner stage's channels."""
    return MixerStage(inner_stage, inner.input_channels, inner.output_channels)


@hookimpl
def register_adapters(register: Callable[..., None]) -> None:
    """Serve the ``channels`` need."""
    register(
        "mixer",
        "channels",
        build_mixer,
        priority=0,
        description="mono/stereo: averages stereo into mono models, duplicates mono out to stereo hosts",
        rank=RANK,
        needed=mixer_needed,
        outer=mixer_outer,
    )
