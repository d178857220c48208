"""What every host call must give back, read from a sequence's results (either host's).

A setting change returns an int and reports delays >= 0; a block returns the shape it was
given (``forward_bt`` may return None: the contract lets it buffer) and, for finite input,
finite output; nothing raises, crashes or hangs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from neutone_core.tools.native.session import (
    CallResult,
    Configure,
    ConfigureResult,
    HostCall,
    NativeSessionResult,
    Process,
    ProcessResult,
)
from neutone_core.tools.validate.report import CheckResult
from neutone_core.tools.validate.runners import PYTHON, SequenceRun
from neutone_core.tools.validate.sessions import HostSequence

CRASH = "crash"
FAILURE_WORDS = {"exception": "raised", CRASH: "crashed the host", "timeout": "hung", "load_failure": "did not load"}


@dataclass(frozen=True)
class Problem:
    """What went wrong at call ``call_index`` of a sequence."""

    call_index: int
    message: str
    failure: str = ""
    """How the call failed (a key of :data:`FAILURE_WORDS`); ``""`` when it returned something wrong."""


def first_nonfinite(output: np.ndarray) -> str:
    """``"channel c, sample s"`` of the first non-finite sample of ``output`` ``(channels, n)``."""
    channel, sample = np.argwhere(~np.isfinite(output))[0]
    return f"channel {channel}, sample {sample}: {output[channel, sample]}"


def call_problem(call: HostCall, outcome: object, must_be_finite: bool) -> str:
    """What is wrong with one completed call's result (``""``: nothing)."""
    if isinstance(call, Configure) and isinstance(outcome, ConfigureResult):
        if outcome.buffering_delay_samples < 0 or outcome.model_delay_samples < 0:
            return (
                f"reported negative delays (buffering {outcome.buffering_delay_samples}, "
                f"model {outcome.model_delay_samples} samples)"
            )
        return ""
    if isinstance(call, Process) and isinstance(outcome, ProcessResult) and outcome.output is not None:
        given, returned = tuple(call.audio.shape), tuple(outcome.output.shape)
        if returned != given:
            return f"returned shape {returned} for a block of shape {given}"
        if must_be_finite and not np.isfinite(outcome.output).all():
            return f"returned a non-finite sample ({first_nonfinite(outcome.output)})"
    return ""


def finite_input(call: HostCall) -> bool:
    """Whether a call's audio and knobs are all finite (other calls: True)."""
    if not isinstance(call, Process):
        return True
    return bool(np.isfinite(call.audio).all()) and (call.params is None or bool(np.isfinite(call.params).all()))


def first_problem(run: SequenceRun, must_be_finite: Callable[[int], bool] | None = None) -> Problem | None:
    """The first thing wrong in a run: a result of the wrong shape, non-finite output where
    ``must_be_finite(call_index)`` (default: where the input is finite), or the failure that
    stopped the sequence."""
    calls = run.sequence.calls
    for index, outcome in enumerate(run.result.results):
        finite = must_be_finite(index) if must_be_finite is not None else finite_input(calls[index])
        message = call_problem(calls[index], outcome, finite)
        if message:
            return Problem(index, message)
    failure = run.result.failure
    if failure is None:
        return None
    return Problem(failure.call_index or 0, f"{FAILURE_WORDS[failure.kind]}: {failure.headline}", failure.kind)


def problem_result(name: str, sequence: HostSequence, problem: Problem, seed: int, host: str = PYTHON) -> CheckResult:
    """Check ``name`` failed at ``problem`` of ``sequence``: the call and what went wrong, and the
    calls that reproduce it; ``details["host_failure"]`` says how the host call failed, if it did
    (after a crash, :mod:`.battery` runs nothing more)."""
    details = {"host_failure": problem.failure} if problem.failure else {}
    summary = f"{sequence.describe(problem.call_index)} {problem.message}"
    return CheckResult(name, "fail", summary, host, sequence.reproduction(seed, problem.call_index), details)


def segment_problem(sequence: HostSequence, start: int, result: NativeSessionResult) -> Problem | None:
    """:func:`first_problem` of a result of the calls of ``sequence`` from ``start`` on (as many as
    were run), its index counted in the whole sequence."""
    calls = sequence.calls[start : start + len(result.results) + (result.failure is not None)]
    problem = first_problem(SequenceRun(HostSequence(sequence.name, sequence.regenerate, calls), result))
    return None if problem is None else replace(problem, call_index=problem.call_index + start)


def output_difference(ours: CallResult, theirs: CallResult) -> str:
    """How two results of the same call differ (``""``: they are identical, NaNs where NaNs are)."""
    if isinstance(ours, ProcessResult) and isinstance(theirs, ProcessResult):
        if ours.output is None or theirs.output is None:
            return "" if ours.output is None and theirs.output is None else "one returned None, the other a block"
        if ours.output.shape != theirs.output.shape:
            return f"shapes {ours.output.shape} and {theirs.output.shape}"
        if np.array_equal(ours.output, theirs.output, equal_nan=True):
            return ""
        return f"by up to {float(np.nanmax(np.abs(ours.output - theirs.output))):.3g}"
    return "" if ours == theirs else f"{ours} and {theirs}"
