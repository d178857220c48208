"""After ``reset()``, the same input gives the same output as a fresh load.

At each setting a fresh copy is configured, hears noise, is reset, then hears a second
signal; another fresh copy is configured and hears that second signal alone. torch's RNG is
seeded alike right before the second signal in both, so stochastic models compare too, and
the outputs must be equal bit for bit: the same code runs on the same data. Runs in Python
(the native host cannot seed torch's RNG between calls).
"""

from __future__ import annotations

from neutone_core.tools.native.session import Configure, Process, Reset
from neutone_core.tools.validate.model_file import ModelFile
from neutone_core.tools.validate.options import ValidationOptions
from neutone_core.tools.validate.outputs import output_difference, problem_result, segment_problem
from neutone_core.tools.validate.report import CheckResult, counted
from neutone_core.tools.validate.runners import run_in_python
from neutone_core.tools.validate.sessions import HostSequence, noise, random_knobs, random_setting, sequence_rng

NAME = "reset_clears_state"
DESCRIPTION = "after reset() the same input gives the same output as a fresh load, bit for bit"

RESET_STREAM = 2
FIRST_SETTING = (48000, 512, 2)
SIGNAL_SAMPLES = 8192
"""Each of the two signals covers at least this many samples and four blocks."""


def reset_sequence(seed: int, index: int) -> HostSequence:
    """Reset sequence ``index`` of ``seed``: a setting, noise, ``reset()``, a second signal."""
    rng = sequence_rng(seed, RESET_STREAM, index)
    if index == 0:
        sample_rate, buffer_size, channels = FIRST_SETTING
    else:
        (sample_rate, buffer_size), channels = random_setting(rng), int(rng.integers(1, 3))
    sequence = HostSequence(f"reset sequence {index}", f"reset.reset_sequence(seed={seed}, index={index})")
    sequence.add(Configure(sample_rate, buffer_size))
    blocks = max(4, -(-SIGNAL_SAMPLES // buffer_size))
    for part in ("first signal", "second signal"):
        if part == "second signal":
            sequence.add(Reset())
        for _ in range(blocks):
            sequence.add(Process(noise(rng, channels, buffer_size, 0.5), random_knobs(rng, buffer_size)), part)
    return sequence


def check(model: ModelFile, options: ValidationOptions) -> CheckResult:
    """Compare the second signal's output after ``reset()`` with a fresh load's, per setting."""
    settings = options.budget.reset_settings
    for index in range(settings):
        sequence = reset_sequence(options.seed, index)
        second = next(i for i, call in enumerate(sequence.calls) if isinstance(call, Reset)) + 1
        reset_model, fresh_model = model.fresh(), model.fresh()
        runs = [(0, run_in_python(reset_model, sequence.calls[:second], options.seed))]
        runs.append((second, run_in_python(reset_model, sequence.calls[second:], options.seed)))
        runs.append((0, run_in_python(fresh_model, sequence.calls[:1], options.seed)))
        runs.append((second, run_in_python(fresh_model, sequence.calls[second:], options.seed)))
        for start, result in runs:
            problem = segment_problem(sequence, start, result)
            if problem is not None:
                return problem_result(NAME, sequence, problem, options.seed)
        after_reset, after_load = runs[1][1].results, runs[3][1].results
        for offset, (ours, theirs) in enumerate(zip(after_reset, after_load, strict=True)):
            difference = output_difference(ours, theirs)
            if difference:
                return CheckResult(
                    NAME,
                    "fail",
                    f"block {offset} after reset() differs from a fresh load's ({difference}) at "
                    f"{sequence.describe(0)}: state survives reset() (clear it in reset_model(), and return True)",
                    reproduction=sequence.reproduction(options.seed, second + offset),
                )
    where = counted(settings, "host setting")
    return CheckResult(NAME, "pass", f"reset() restores a freshly loaded model, bit for bit, at {where}")
