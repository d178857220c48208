"""Registers the resampler with neutone through the ``"neutone"`` entry point group."""

from __future__ import annotations

from typing import Callable

from torch import nn

from neutone_adapters.resample.polyphase import QUALITY_PRESETS, resample
from neutone_adapters.resample.stage import ResampleStage
from neutone_core import StreamNeeds, choice_option, hookimpl

DEFAULT_QUALITY = "high"
"""Preset used when ``resample.quality`` is not given."""

QUALITY_HELP: dict[str, str] = {
    "high": "flat to 82 % of the lower Nyquist, 110 dB alias/image rejection, 85 samples round trip at 48/44.1 kHz (default)",
    "low-latency": "flat to 72 % of the lower Nyquist, 85 dB rejection, 41 samples round trip at 48/44.1 kHz",
}
"""Accepted values of the ``quality`` option."""


RANK = 200
"""Between the mixer and the FIFO: the FIFO then cuts blocks at the model's rate."""


def resampler_needed(inner: StreamNeeds) -> str | None:
    """Needed when the inner stage names its sample rates."""
    if not inner.native_sample_rates:
        return None
    return f"native sample rates {list(inner.native_sample_rates)} Hz"


def resampler_outer(inner: StreamNeeds, options: dict[str, str]) -> StreamNeeds:
    """Outside the resampler, any rate."""
    return inner.with_changes(native_sample_rates=())


def build_resampler(inner: StreamNeeds, inner_stage: nn.Module, options: dict[str, str]) -> ResampleStage:
    """Factory: a resampler between any host rate and the inner stage's native rates.

    Options: ``quality`` (``high`` or ``low-latency``, see :data:`QUALITY_HELP`)."""
    quality = choice_option("resample", options, "quality", list(QUALITY_PRESETS), DEFAULT_QUALITY)
    return ResampleStage(inner_stage, list(inner.native_sample_rates), QUALITY_PRESETS[quality], quality)


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
        rank=RANK,
        needed=resampler_needed,
        outer=resampler_outer,
    )
