"""Random host sessions: every call returns the input's shape, finite output for finite input,
and never raises, whatever the DAW does (see :mod:`.sessions`).

The sessions run one after another through one load of the model (one host process per
batch in the native host). A failure is replayed alone on a fresh load: the report gives the
session's calls when they fail alone, or says which earlier sessions must run first.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from neutone_core.tools.native.session import Configure, Process, ProcessResult, Reset
from neutone_core.tools.validate.model_file import ModelFile
from neutone_core.tools.validate.options import ValidationOptions
from neutone_core.tools.validate.outputs import Problem, first_problem
from neutone_core.tools.validate.report import CheckResult, Reproduction
from neutone_core.tools.validate.runners import NATIVE, PYTHON, SequenceRun, run_sequences
from neutone_core.tools.validate.sessions import host_session

NAME = "host_sessions"
DESCRIPTION = "random host sessions: the input's shape back, finite output for finite input, no exception"


@dataclass
class Tally:
    """What the sessions sent, and each block's time against its deadline."""

    sessions: int = 0
    settings: int = 0
    resets: int = 0
    blocks: int = 0
    rates: set[int] = field(default_factory=set)
    longest_block: int = 0
    times_us: list[float] = field(default_factory=list)
    loads: list[float] = field(default_factory=list)
    worst_load: float = -1.0
    worst: str = ""

    def add(self, run: SequenceRun) -> None:
        """Count a run's calls and its blocks' times (a block of n samples at rate r has n / r s)."""
        self.sessions += 1
        sample_rate = 0
        for call, outcome in zip(run.sequence.calls, run.result.results, strict=False):
            if isinstance(call, Configure):
                self.settings += 1
                sample_rate = call.sample_rate_hz
                self.rates.add(sample_rate)
            elif isinstance(call, Reset):
                self.resets += 1
            elif isinstance(call, Process) and isinstance(outcome, ProcessResult):
                self.blocks += 1
                samples = call.audio.shape[1]
                self.longest_block = max(self.longest_block, samples)
                if samples > 0:
                    deadline_us = 1e6 * samples / sample_rate
                    time_us = outcome.time_ns / 1000.0
                    self.times_us.append(time_us)
                    self.loads.append(time_us / deadline_us)
                    if self.loads[-1] > self.worst_load:
                        self.worst_load = self.loads[-1]
                        self.worst = f"{time_us:.0f} µs for {samples} samples at {sample_rate} Hz ({deadline_us:.0f} µs)"

    def block_times(self) -> dict[str, float]:
        """Median, p99 and max block time (µs) and load (time / deadline)."""
        if not self.times_us:
            return {}
        times, loads = np.asarray(self.times_us), np.asarray(self.loads)
        return {
            "median_us": float(np.median(times)),
            "p99_us": float(np.percentile(times, 99)),
            "max_us": float(times.max()),
            "median_load": float(np.median(loads)),
            "p99_load": float(np.percentile(loads, 99)),
            "max_load": float(loads.max()),
            "late_blocks": int(np.count_nonzero(loads > 1.0)),
        }

    def line(self) -> str:
        """What was sent and how long blocks took."""
        sent = (
            f"{self.sessions} random host sessions: {self.settings} settings at {len(self.rates)} rates "
            f"{min(self.rates, default=0)}..{max(self.rates, default=0)} Hz, {self.resets} resets, {self.blocks} blocks "
            f"of up to {self.longest_block} samples"
        )
        times = self.block_times()
        if not times:
            return sent
        return (
            f"{sent}; per block median {times['median_us']:.0f} µs, p99 {times['p99_us']:.0f} µs, max {times['max_us']:.0f} µs; "
            f"against each block's duration median {times['median_load']:.1%}, p99 {times['p99_load']:.0%}, "
            f"max {times['max_load']:.0%} ({self.worst}), {times['late_blocks']} late"
        )


def confirmed(model: ModelFile, run: SequenceRun, problem: Problem, options: ValidationOptions) -> tuple[Problem, Reproduction]:
    """Replay a failing session alone on a fresh load: its own calls reproduce it, or else the
    sessions before it on the same load are part of the sequence."""
    alone = next(run_sequences(model, [run.sequence], options.native, options.seed))
    again = first_problem(alone)
    if again is not None:
        return again, run.sequence.reproduction(options.seed, again.call_index)
    index = int(run.sequence.name.rsplit(" ", 1)[1])
    found = run.sequence.reproduction(options.seed, problem.call_index)
    regenerate = f"sessions.host_session(seed={options.seed}, index=i) for i in range({index + 1}), on one load"
    sequence = f"{run.sequence.name} after sessions 0..{index - 1}"
    return problem, Reproduction(found.seed, sequence, regenerate, found.calls, found.failing_call)


def check(model: ModelFile, options: ValidationOptions) -> CheckResult:
    """Run the budget's sessions of the seed; the first problem fails with its calls."""
    tally = Tally()
    host = NATIVE if options.native else PYTHON
    sessions = (host_session(options.seed, index) for index in range(options.budget.sessions))
    for run in run_sequences(model, sessions, options.native, options.seed):
        problem = first_problem(run)
        tally.add(run)
        if problem is not None:
            problem, reproduction = confirmed(model, run, problem, options)
            call = reproduction.calls[reproduction.failing_call] if reproduction.calls else "loading the file"
            details = {"block_time": tally.block_times(), **({"host_failure": problem.failure} if problem.failure else {})}
            return CheckResult(
                NAME, "fail", f"{call} {problem.message} ({run.sequence.name}, after {tally.sessions - 1} sessions passed)",
                host, reproduction, details,
            )
    return CheckResult(NAME, "pass", tally.line(), host, details={"block_time": tally.block_times()})
