"""Registers the mixer with neutone through the ``"neutone"`` entry point group."""

from __future__ import annotations

from typing import Callable

from torch import nn

from neutone_adapters.mixer.stage import MixerStage
from neutone_core.hookspecs import hookimpl
from neutone_core.needs import ModelNeeds


def build_mixer(needs: ModelNeeds, inner: nn.Module, options: dict[str, str]) -> MixerStage:
    """Factory: a mixer between any host layout and the model's channels."""
    return MixerStage(inner, needs.input_channels, needs.output_channels)


@hookimpl
def register_adapters(register: Callable[..., None]) -> None:
    """Serve the ``channels`` need."""
    register(
        "mixer",
        "channels",
        build_mixer,
        priority=0,
        description="mono/stereo: averages stereo into mono models, duplicates mono out to stereo hosts",
    )
