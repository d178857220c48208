"""The delay the model reports equals the delay measured with an impulse, over a host grid.

An impulse measures a model unambiguously when the model is deterministic and passes the
impulse through as an impulse (its largest sample holds at least half the response's
energy) or as a linear-phase response (symmetric about its peak): then the peak's position is
the delay, and a wrong report fails. Codecs, random distortion and other models that spread
or scramble an impulse cannot be measured so: for them the adapters are measured with the
model bypassed (``set_model_bypass``), and the model's own delay is taken as declared.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from neutone_core.errors import ExportCheckError
from neutone_core.tools.host import configure, host_setting, impulse_length, impulse_response, stream

if TYPE_CHECKING:
    from neutone_core.export import ExportContext

NAME = "delay_reported"
DESCRIPTION = "measured (impulse) delay equals reported delay over a grid of host settings"

HOST_SAMPLE_RATES = (44100, 48000, 96000)
"""Host rates (Hz) always checked, besides the model's native rates."""

HOST_BLOCK_SIZES = (64, 256, 1000, 4096)
"""Host buffer sizes (samples) always checked, besides the native sizes: the smallest and
largest a DAW offers, a common one and one that is not a power of two."""

MONO_SETTINGS = ((48000, 512), (44100, 256))
"""Mono hosts checked (channel mixing adds no delay, so a few settings suffice)."""

PEAK_ENERGY_SHARE = 0.5
"""An impulse-like response: its largest sample holds at least this share of the energy."""

SYMMETRY_ERROR = 1e-3
"""A linear-phase response: ``sum (r[p-k] - r[p+k])^2 / sum (r[p-k]^2 + r[p+k]^2)`` below this."""

AUDIBLE_PEAK = 1e-3
"""A response whose largest sample is below this (for an impulse of 1) is silence."""

SEEDS = (1, 2)
"""Two RNG seeds: a model whose impulse response differs between them is stochastic."""


@dataclass(frozen=True)
class Measurement:
    """One host setting: the reported delay, the measured one (None if the model cannot be
    measured there), and why not."""

    setting: str
    reported: int
    measured: int | None
    why_not: str


def host_grid(metadata: dict[str, Any]) -> list[tuple[int, int, int]]:
    """``(rate Hz, buffer size samples, channels)`` to check: every rate x size in stereo, and
    :data:`MONO_SETTINGS` in mono."""
    rates = sorted(set(HOST_SAMPLE_RATES) | set(metadata["native_sample_rates"]))
    sizes = sorted(set(HOST_BLOCK_SIZES) | set(metadata["native_buffer_sizes"]))
    return [(rate, size, 2) for rate in rates for size in sizes] + [(rate, size, 1) for rate, size in MONO_SETTINGS]


def unmeasurable(response: Tensor) -> str:
    """Why an impulse response ``(channels, m)`` cannot be read as a delay, or ``""`` if it can."""
    summed = response.to(torch.float64).sum(0)
    peak_at = int(summed.abs().argmax())
    peak = float(summed[peak_at].abs())
    if peak < AUDIBLE_PEAK:
        return f"the model turns an impulse into near silence (peak {peak:.2g})"
    energy = float((summed * summed).sum())
    share = peak * peak / energy
    if share >= PEAK_ENERGY_SHARE:
        return ""
    reach = min(peak_at, summed.numel() - 1 - peak_at)
    left = summed[peak_at - reach : peak_at].flip(0)
    right = summed[peak_at + 1 : peak_at + 1 + reach]
    spread = float((left * left + right * right).sum())
    asymmetry = float(((left - right) ** 2).sum()) / spread if spread > 0 else 0.0
    if asymmetry <= SYMMETRY_ERROR:
        return ""
    return f"the model spreads an impulse (its largest sample holds {share:.0%} of the energy, asymmetric about it)"


def measure(model: Any, silent: Any, sample_rate: int, block_size: int, n_channels: int, stochastic: bool) -> Measurement:
    """Measure one setting with an impulse half a block into the stream; ``silent``, another
    fresh copy of the model, hears silence, and what it outputs anyway (knob echoes, DC, noise
    floors) is taken off the response, so only what the impulse caused is read."""
    offset = block_size // 2 + 1
    torch.manual_seed(SEEDS[0])
    response, reported = impulse_response(model, sample_rate, block_size, n_channels, offset)
    torch.manual_seed(SEEDS[0])
    silence = torch.zeros(n_channels, impulse_length(configure(silent, sample_rate, block_size, n_channels), block_size, offset))
    response = response - stream(silent, silence, sample_rate, block_size, reset=False)[:, offset:]
    setting = host_setting(sample_rate, block_size, n_channels)
    why_not = "the model is stochastic (its response to an impulse changes with the random seed)" if stochastic else ""
    why_not = why_not or unmeasurable(response)
    if why_not:
        return Measurement(setting, reported, None, why_not)
    return Measurement(setting, reported, int(response.abs().sum(0).argmax()), "")


def is_stochastic(model: Any) -> bool:
    """Whether the impulse response at 48 kHz / 512 stereo changes with torch's RNG seed."""
    responses = []
    for seed in SEEDS:
        torch.manual_seed(seed)
        responses.append(impulse_response(model, 48000, 512, 2, 257)[0])
    scale = max(float(responses[0].abs().max()), 1e-12)
    return float((responses[0] - responses[1]).abs().max()) > 1e-6 * scale


def adapters_delay_mismatches(model: Any, settings: list[tuple[int, int, int]]) -> list[str]:
    """With the model bypassed, where the adapters' measured delay differs from their reported one."""
    mismatches = []
    model.set_model_bypass(True)
    try:
        for sample_rate, block_size, n_channels in settings:
            measured = measure(model, model, sample_rate, block_size, n_channels, stochastic=False)
            if measured.measured != measured.reported:
                mismatches.append(f"{measured.setting}: reported {measured.reported}, measured {measured.measured}")
    finally:
        model.set_model_bypass(False)
    return mismatches


def check(context: ExportContext) -> str:
    """Measure every grid setting the model allows, each on a fresh load (a model without
    ``reset_model`` must not ring on from the previous impulse); measure the adapters alone
    where the model cannot be measured."""
    model = context.loaded
    grid = host_grid(context.metadata)
    stochastic = is_stochastic(model)
    results = [measure(context.fresh(), context.fresh(), rate, size, channels, stochastic) for rate, size, channels in grid]
    wrong = [r for r in results if r.measured is not None and r.measured != r.reported]
    if wrong:
        listed = "; ".join(f"{r.setting}: reported {r.reported}, measured {r.measured}" for r in wrong[:3])
        raise ExportCheckError(
            f"reported delay is wrong at {len(wrong)} of {len(grid)} host settings "
            f"({listed}{'; ...' if len(wrong) > 3 else ''}); "
            "the model passes an impulse through unambiguously, so make calc_model_delay_samples() return its own "
            "delay in samples at its rate"
        )
    unmeasured = [(setting, r) for setting, r in zip(grid, results, strict=True) if r.measured is None]
    reported = sorted({r.reported for r in results})
    span = f"{reported[0]}..{reported[-1]}" if len(reported) > 1 else f"{reported[0]}"
    if not unmeasured:
        return f"measured delay equals reported at {len(grid)} host settings (delay {span} samples)"
    mismatches = adapters_delay_mismatches(model, [setting for setting, _ in unmeasured])
    if mismatches:
        raise ExportCheckError(
            f"with the model bypassed, the adapters' delay is reported wrongly ({'; '.join(mismatches[:3])}); "
            "an adapter plugin misreports its delay_samples()"
        )
    declared = model.calc_model_delay_samples()
    return (
        f"delay {span} samples: measured at {len(grid) - len(unmeasured)} of {len(grid)} host settings; at the others "
        f"{unmeasured[0][1].why_not}, so the adapters were measured with the model bypassed (all exact) and the "
        f"model's own delay is as declared ({declared} samples at {unmeasured[-1][1].setting})"
    )
