"""Registers the resampler with neutone through the ``"neutone"`` entry point group."""

from __future__ import annotations

from typing import Callable

from torch import nn

from neutone_adapters.resample.polyphase import QUALITY_PRESETS, resample
from neutone_adapters.resample.stage import ResampleStage
from neutone_core.hookspecs import hookimpl
from neutone_core.needs import ModelNeeds
from neutone_core.planner import choice_option

DEFAULT_QUALITY = "high"
"""Preset used when ``resample.quality`` is not given."""

QUALITY_HELP: dict[str, str] = {
    "high": "flat to 82 % of the lower Nyquist, 110 dB alias/image rejection, 85 samples round trip at 48/44.1 kHz (default)",
    "low-latency": "flat to 72 % of the lower Nyquist, 85 dB rejection, 41 samples round trip at 48/44.1 kHz",
}
"""Accepted values of the ``quality`` option."""


def build_resampler(needs: ModelNeeds, inner: nn.Module, options: dict[str, str]) -> ResampleStage:
    """Factory: a resampler between any host rate and the model's native rates.

    Options: ``quality`` (``high`` or ``low-latency``, see :data:`QUALITY_HELP`)."""
    quality = choice_option("resample", options, "quality", list(QUALITY_PRESETS), DEFAULT_QUALITY)
    return ResampleStage(inner, list(needs.native_sample_rates), QUALITY_PRESETS[quality], quality)


@hookimpl
def register_adapters(register: Callable[..., None]) -> None:
    """Serve the ``sample_rate`` need."""
    register(
        "resample",
        "sample_rate",
        build_resampler,
        priority=0,
        description="polyphase Kaiser-sinc resampler: exact native rate, exact integer delay, any host rate",
        options={"quality": "high | low-latency: " + "; ".join(f"{k}: {v}" for k, v in QUALITY_HELP.items())},
        offline=resample,
    )
