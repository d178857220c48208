"""Resampler adapter: hosts at any rate around models with native sample rates.

Streaming polyphase conversion with Kaiser-windowed sinc filters for any pair of integer
rates: the model hears its exact native rate, the host gets exactly ``n`` samples for ``n``
sent, and the round trip is an exact integer delay. When the host runs at a native rate the
stage is inactive and costs nothing. Presets: ``high`` (default) and ``low-latency``.
"""

from neutone_adapters.resample.polyphase import QUALITY_PRESETS, PolyphaseResampler, resample
from neutone_adapters.resample.stage import ResampleStage, choose_native_rate

__all__ = ["QUALITY_PRESETS", "PolyphaseResampler", "ResampleStage", "choose_native_rate", "resample"]
