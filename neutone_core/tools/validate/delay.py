"""The delay a model reports equals the delay an impulse measures, at every setting tried.

An impulse measures a model unambiguously when the model is deterministic and passes the
impulse through as an impulse (its largest sample holds at least half the response's
energy) or as a linear-phase response (symmetric about its peak): then the peak's position is
the delay, and a wrong report fails. Codecs, random distortion and other models that spread
or scramble an impulse cannot be measured so: for them the adapters are measured with the
model bypassed (the root's ``set_model_bypass``), and the model's own delay is taken as
declared. The settings: every host rate (44.1, 48, 96 kHz and the native rates) by every
buffer size (64, 256, 1000, 4096 and the native sizes) in stereo, two mono settings, and at
strictness above 1 random settings (odd rates, any buffer size, mono or stereo). A wrong
report fails with the host calls of its measurement (:func:`impulse_sequence`), the block where
the impulse comes out marked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from neutone_core.tools.host import configure, host_setting, impulse_length, impulse_response, stream
from neutone_core.tools.native.session import Configure, Process
from neutone_core.tools.validate.model_file import ModelFile
from neutone_core.tools.validate.options import ValidationOptions
from neutone_core.tools.validate.report import CheckResult, Reproduction
from neutone_core.tools.validate.sessions import HostSequence, random_setting, sequence_rng

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

SETTINGS_STREAM = 1
"""Seed stream of the random settings (see :func:`~neutone_core.tools.validate.sessions.sequence_rng`)."""

Setting = tuple[int, int, int]
"""(host rate Hz, buffer size samples, channels)."""


@dataclass(frozen=True)
class Measurement:
    """One host setting: the reported delay, the measured one (None if the model cannot be
    measured there), and why not."""

    setting: str
    reported: int
    measured: int | None
    why_not: str


def host_grid(native_sample_rates: list[int], native_buffer_sizes: list[int]) -> list[Setting]:
    """The fixed settings: every rate x size in stereo, and :data:`MONO_SETTINGS` in mono."""
    rates = sorted(set(HOST_SAMPLE_RATES) | set(native_sample_rates))
    sizes = sorted(set(HOST_BLOCK_SIZES) | set(native_buffer_sizes))
    return [(rate, size, 2) for rate in rates for size in sizes] + [(rate, size, 1) for rate, size in MONO_SETTINGS]


def random_settings(seed: int, count: int) -> list[Setting]:
    """``count`` random settings of ``seed`` (rates and sizes as the host sessions draw them)."""
    settings = []
    for index in range(count):
        rng = sequence_rng(seed, SETTINGS_STREAM, index)
        rate, size = random_setting(rng)
        settings.append((rate, size, int(rng.integers(1, 3))))
    return settings


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


def impulse_offset(block_size: int) -> int:
    """Where (samples into the stream) the measuring impulse lands: half a block in."""
    return block_size // 2 + 1


def impulse_sequence(sample_rate: int, buffer_size: int, channels: int, reported_delay: int, measured: int = -1) -> HostSequence:
    """The host calls of one measurement: the setting, then whole blocks of silence with an
    impulse of 1 at :func:`impulse_offset`, no knobs; the block ``measured`` samples after the
    impulse (where the model puts it) is marked."""
    offset = impulse_offset(buffer_size)
    arguments = f"sample_rate={sample_rate}, buffer_size={buffer_size}, channels={channels}, reported_delay={reported_delay}"
    sequence = HostSequence(f"impulse at {host_setting(sample_rate, buffer_size, channels)}",
                            f"delay.impulse_sequence({arguments}, measured={measured})")
    sequence.add(Configure(sample_rate, buffer_size))
    for start in range(0, impulse_length(reported_delay, buffer_size, offset), buffer_size):
        block = np.zeros((channels, buffer_size), dtype=np.float32)
        notes = []
        if start <= offset < start + buffer_size:
            block[:, offset - start] = 1.0
            notes.append(f"impulse at sample {offset - start}")
        if measured >= 0 and start <= offset + measured < start + buffer_size:
            notes.append(f"out at sample {offset + measured - start}: {measured} samples later, reported {reported_delay}")
        sequence.add(Process(block), "; ".join(notes))
    return sequence


def wrong_delay_reproduction(seed: int, setting: Setting, measurement: Measurement) -> Reproduction:
    """The calls of a measurement whose delay is reported wrongly, up to the block where the impulse comes out."""
    sample_rate, buffer_size, channels = setting
    measured = measurement.measured if measurement.measured is not None else -1
    sequence = impulse_sequence(sample_rate, buffer_size, channels, measurement.reported, measured)
    out_block = 1 + (impulse_offset(buffer_size) + max(measured, 0)) // buffer_size
    return sequence.reproduction(seed, min(out_block, len(sequence.calls) - 1))


def measure(model: Any, silent: Any, sample_rate: int, block_size: int, n_channels: int, stochastic: bool) -> Measurement:
    """Measure one setting with an impulse half a block into the stream; ``silent``, another
    fresh copy of the model, hears silence, and what it outputs anyway (knob echoes, DC, noise
    floors) is taken off the response, so only what the impulse caused is read."""
    offset = impulse_offset(block_size)
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


def adapters_delay_mismatches(model: Any, settings: list[Setting]) -> list[str]:
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


def measure_delays(model: ModelFile, settings: list[Setting], seed: int = 0) -> tuple[bool, str, Reproduction | None]:
    """Measure every setting, each on a fresh copy (a model without ``reset_model`` must not
    ring on from the previous impulse), and the adapters alone where the model cannot be
    measured; whether all agree with the reports, the report line, and for a wrong report the
    host calls of the first setting it is wrong at."""
    stochastic = is_stochastic(model.fresh())
    results = [measure(model.fresh(), model.fresh(), rate, size, channels, stochastic) for rate, size, channels in settings]
    paired = list(zip(settings, results, strict=True))
    wrong = [(setting, r) for setting, r in paired if r.measured is not None and r.measured != r.reported]
    if wrong:
        listed = "; ".join(f"{r.setting}: reported {r.reported}, measured {r.measured}" for _, r in wrong[:3])
        return False, (
            f"reported delay is wrong at {len(wrong)} of {len(settings)} host settings "
            f"({listed}{'; ...' if len(wrong) > 3 else ''}); "
            "the model passes an impulse through unambiguously, so make calc_model_delay_samples() return its own "
            "delay in samples at its rate"
        ), wrong_delay_reproduction(seed, *wrong[0])
    unmeasured = [(setting, r) for setting, r in paired if r.measured is None]
    reported = sorted({r.reported for r in results})
    span = f"{reported[0]}..{reported[-1]}" if len(reported) > 1 else f"{reported[0]}"
    if not unmeasured:
        return True, f"measured delay equals reported at {len(settings)} host settings (delay {span} samples)", None
    bypassable = model.fresh()
    if not hasattr(bypassable, "set_model_bypass"):
        return True, (
            f"delay {span} samples: measured at {len(settings) - len(unmeasured)} of {len(settings)} host settings; at "
            f"the others {unmeasured[0][1].why_not}, and the file has no set_model_bypass to measure its adapters "
            "alone, so the delay is as declared"
        ), None
    mismatches = adapters_delay_mismatches(bypassable, [setting for setting, _ in unmeasured])
    if mismatches:
        return False, (
            f"with the model bypassed, the adapters' delay is reported wrongly ({'; '.join(mismatches[:3])}); "
            "an adapter plugin misreports its delay_samples()"
        ), None
    declared = bypassable.calc_model_delay_samples()
    return True, (
        f"delay {span} samples: measured at {len(settings) - len(unmeasured)} of {len(settings)} host settings; at the "
        f"others {unmeasured[0][1].why_not}, so the adapters were measured with the model bypassed (all exact) and the "
        f"model's own delay is as declared ({declared} samples at {unmeasured[-1][1].setting})"
    ), None


def check(model: ModelFile, options: ValidationOptions) -> CheckResult:
    """The fixed grid and, above strictness 1, random settings of the seed."""
    settings = host_grid(model.native_sample_rates, model.native_buffer_sizes)
    settings += random_settings(options.seed, options.budget.delay_settings)
    passed, summary, reproduction = measure_delays(model, settings, options.seed)
    return CheckResult(NAME, "pass" if passed else "fail", summary, reproduction=reproduction)
