"""Knobs: at 0 and at 1, jumping every sample, and none sent at all.

Every call must return the input's shape and finite output; and sending no knobs must sound
like sending the defaults the file declares (``get_default_param_values()``), to float32
rounding of the knob mean (:data:`TOLERANCE`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from neutone_core.tools.native.session import N_PARAMS, Configure, Process, ProcessResult
from neutone_core.tools.validate.model_file import ModelFile
from neutone_core.tools.validate.options import ValidationOptions
from neutone_core.tools.validate.outputs import first_problem, problem_result
from neutone_core.tools.validate.report import CheckResult, counted
from neutone_core.tools.validate.runners import NATIVE, PYTHON, run_sequences
from neutone_core.tools.validate.sessions import HostSequence, noise, random_setting, sequence_rng

NAME = "knobs"
DESCRIPTION = "knobs at 0 and 1, jumping every sample, and none sent: finite output; none sounds like the defaults"

KNOBS_STREAM = 4
FIRST_SETTING = (48000, 512, 2)
BLOCKS_PER_KIND = 4
TOLERANCE = 1e-5
"""Largest difference (relative to the output's peak) between no knobs and the defaults sent:
the knob mean of a constant block, taken another way, differs by float32 rounding at most."""

Knobs = Callable[[np.random.Generator, int], "np.ndarray | None"]
"""``(rng, samples) -> (4, samples)`` knobs, or None for none."""


def _alternating(samples: int) -> np.ndarray:
    """Each knob jumping between 0 and 1 every sample, knob k starting at ``k % 2``."""
    phase = (np.arange(samples)[None, :] + np.arange(N_PARAMS)[:, None]) % 2
    return phase.astype(np.float32)


KNOB_KINDS: dict[str, Knobs] = {
    "knobs at 0": lambda rng, n: np.zeros((N_PARAMS, n), dtype=np.float32),
    "knobs at 1": lambda rng, n: np.ones((N_PARAMS, n), dtype=np.float32),
    "knobs jumping 0/1 every sample": lambda rng, n: _alternating(n),
    "knobs random every sample": lambda rng, n: rng.random((N_PARAMS, n), dtype=np.float32),
    "no knobs": lambda rng, n: None,
}


def knob_sequences(seed: int, index: int, defaults: np.ndarray) -> tuple[HostSequence, HostSequence, HostSequence]:
    """Knob sequence ``index`` of ``seed`` (each kind of :data:`KNOB_KINDS` for a few blocks), and
    the same audio sent once with no knobs and once with ``defaults`` ``(4, 1)``."""
    rng = sequence_rng(seed, KNOBS_STREAM, index)
    if index == 0:
        sample_rate, buffer_size, channels = FIRST_SETTING
    else:
        (sample_rate, buffer_size), channels = random_setting(rng), int(rng.integers(1, 3))
    regenerate = f"knobs.knob_sequences(seed={seed}, index={index}, defaults=model.get_default_param_values().numpy())"
    kinds = HostSequence(f"knob sequence {index}", regenerate + "[0]")
    none = HostSequence(f"no-knob sequence {index}", regenerate + "[1]")
    defaulted = HostSequence(f"default-knob sequence {index}", regenerate + "[2]")
    for sequence in (kinds, none, defaulted):
        sequence.add(Configure(sample_rate, buffer_size))
    for name, knobs in KNOB_KINDS.items():
        for _ in range(BLOCKS_PER_KIND):
            kinds.add(Process(noise(rng, channels, buffer_size, 0.5), knobs(rng, buffer_size)), name)
    for _ in range(BLOCKS_PER_KIND):
        audio = noise(rng, channels, buffer_size, 0.5)
        none.add(Process(audio), "no knobs")
        defaulted.add(Process(audio, np.repeat(defaults.astype(np.float32), buffer_size, axis=1)), "the default knobs")
    return kinds, none, defaulted


def defaults_difference(none: list[object], defaulted: list[object]) -> tuple[int, float]:
    """The block where no knobs and the defaults differ most, and by how much (relative to the
    output's peak)."""
    outputs = [(a.output, b.output) for a, b in zip(none, defaulted, strict=True)
               if isinstance(a, ProcessResult) and isinstance(b, ProcessResult) and a.output is not None and b.output is not None]
    peak = max([float(np.abs(a).max(initial=0.0)) for a, _ in outputs], default=0.0)
    differences = [float(np.abs(a - b).max(initial=0.0)) / max(peak, 1e-12) for a, b in outputs]
    worst = int(np.argmax(differences)) if differences else 0
    return worst, max(differences, default=0.0)


def check(model: ModelFile, options: ValidationOptions) -> CheckResult:
    """At each setting: every knob kind, then no knobs against the declared defaults."""
    host = NATIVE if options.native else PYTHON
    defaults = model.fresh().get_default_param_values().numpy()
    settings = options.budget.knob_settings
    largest = 0.0
    for index in range(settings):
        kinds, none, defaulted = knob_sequences(options.seed, index, defaults)
        runs = list(run_sequences(model, [kinds], options.native, options.seed))
        runs += [next(run_sequences(model, [sequence], options.native, options.seed)) for sequence in (none, defaulted)]
        for run in runs:
            problem = first_problem(run)
            if problem is not None:
                return problem_result(NAME, run.sequence, problem, options.seed, host)
        block, difference = defaults_difference(runs[1].result.results, runs[2].result.results)
        largest = max(largest, difference)
        if difference > TOLERANCE:
            return CheckResult(
                NAME, "fail",
                f"no knobs and the declared defaults {defaults.ravel().tolist()} differ by {difference:.3g} of the peak at "
                f"{none.describe(block)}: a host sending no knobs must get the defaults (get_default_param_values())",
                host, none.reproduction(options.seed, block),
            )
    return CheckResult(
        NAME, "pass",
        f"{len(KNOB_KINDS)} knob kinds at {counted(settings, 'host setting')}: finite output; no knobs equals the defaults "
        f"to {largest:.2g} of the peak",
        host,
    )
