"""The delay the model reports equals the delay measured with an impulse, over a host grid."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from neutone_core.errors import ExportCheckError
from neutone_core.host import impulse_delay

if TYPE_CHECKING:
    from neutone_core.export import ExportContext

NAME = "delay_reported"
DESCRIPTION = "measured (impulse) delay equals reported delay over a grid of host settings"

HOST_SAMPLE_RATES = (44100, 48000, 96000)
"""Host rates (Hz) always checked, besides the model's native rates."""

HOST_BLOCK_SIZES = (64, 256, 1000, 4096)
"""Host buffer sizes (samples) always checked, besides the native sizes: the smallest and
largest a DAW offers, a common one and one that is not a power of two."""


def host_grid(metadata: dict[str, Any]) -> list[tuple[int, int, int]]:
    """``(rate Hz, buffer size samples, channels)`` to check: every rate x size x mono/stereo."""
    rates = sorted(set(HOST_SAMPLE_RATES) | set(metadata["native_sample_rates"]))
    sizes = sorted(set(HOST_BLOCK_SIZES) | set(metadata["native_buffer_sizes"]))
    return [(rate, size, channels) for rate in rates for size in sizes for channels in (1, 2)]


def check(context: ExportContext) -> str:
    """Measure each grid setting with an impulse half a block into the stream."""
    grid = host_grid(context.metadata)
    mismatches = []
    reported_delays = set()
    for sample_rate, block_size, n_channels in grid:
        measured = impulse_delay(context.loaded, sample_rate, block_size, n_channels, offset=block_size // 2 + 1)
        reported = context.loaded.calc_total_delay_samples()
        reported_delays.add(reported)
        if measured != reported:
            host = "mono" if n_channels == 1 else "stereo"
            mismatches.append(f"{sample_rate} Hz / {block_size} / {host}: reported {reported}, measured {measured}")
    if mismatches:
        raise ExportCheckError(
            f"reported delay is wrong at {len(mismatches)} of {len(grid)} host settings ({'; '.join(mismatches[:3])}"
            f"{'; ...' if len(mismatches) > 3 else ''}); make calc_model_delay_samples() return the model's own delay "
            f"in samples at its rate, or skip this check (--skip-check {NAME}) for a model that does not pass an impulse"
        )
    span = f"{min(reported_delays)}..{max(reported_delays)}" if len(reported_delays) > 1 else f"{min(reported_delays)}"
    return f"measured delay equals reported at {len(grid)} host settings (delay {span} samples)"
