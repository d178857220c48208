"""Realtime: per-block time at 48 kHz / 512 against the block's duration, and allocations per call.

Both are reported; the check fails only above a limit the user sets (``max_p99_load``: the
p99 of each block's thread CPU time as a share of the block's duration, so a block late only
because other processes held the core is not held against the model;
``max_allocations_per_call``). Blocks are timed in the chosen host, wall clock and thread CPU
time; tensor allocations are counted in Python (``torch.profiler``).
"""

from __future__ import annotations

import numpy as np
import torch

from neutone_core.tools.bench import torch_threads
from neutone_core.tools.native.session import Configure, Process, ProcessResult
from neutone_core.tools.profiling import count_allocations
from neutone_core.tools.validate.model_file import ModelFile
from neutone_core.tools.validate.options import ValidationOptions
from neutone_core.tools.validate.outputs import first_problem, problem_result
from neutone_core.tools.validate.report import CheckResult
from neutone_core.tools.validate.runners import NATIVE, PYTHON, run_in_python, run_sequences
from neutone_core.tools.validate.sessions import HostSequence, noise, sequence_rng

NAME = "realtime"
DESCRIPTION = "per-block time at 48000 Hz / 512 against the block's duration, allocations per call (limits set by the user)"

SAMPLE_RATE = 48000
BLOCK_SIZE = 512
WARMUP_BLOCKS = 50
COUNTED_CALLS = 16
REALTIME_STREAM = 5


def realtime_sequence(seed: int, blocks: int) -> HostSequence:
    """48 kHz / 512 stereo: warm-up blocks, then ``blocks`` timed ones, ``forward`` and
    ``forward_bt`` in turn, with random knobs."""
    rng = sequence_rng(seed, REALTIME_STREAM, 0)
    sequence = HostSequence("realtime sequence", f"realtime.realtime_sequence(seed={seed}, blocks={blocks})")
    sequence.add(Configure(SAMPLE_RATE, BLOCK_SIZE))
    for index in range(WARMUP_BLOCKS + blocks):
        knobs = rng.random((4, BLOCK_SIZE), dtype=np.float32)
        method = "forward_bt" if index % 2 else "forward"
        sequence.add(Process(noise(rng, 2, BLOCK_SIZE, 0.5), knobs, method), "warm-up" if index < WARMUP_BLOCKS else "")
    return sequence


def allocations_per_call(model: ModelFile, seed: int) -> float:
    """Tensor allocations per host call at 48 kHz / 512 stereo in steady state."""
    module = model.fresh()
    sequence = realtime_sequence(seed, 0)
    run_in_python(module, sequence.calls, seed)
    audio = torch.rand(2, BLOCK_SIZE) - 0.5
    knobs = torch.rand(4, BLOCK_SIZE)
    with torch_threads(1), torch.inference_mode():
        return count_allocations(lambda: module(audio, knobs), COUNTED_CALLS) / COUNTED_CALLS


def check(model: ModelFile, options: ValidationOptions) -> CheckResult:
    """Time the blocks, count the allocations, compare with the user's limits."""
    host = NATIVE if options.native else PYTHON
    sequence = realtime_sequence(options.seed, options.budget.realtime_blocks)
    run = next(run_sequences(model, [sequence], options.native, options.seed))
    problem = first_problem(run)
    if problem is not None:
        return problem_result(NAME, sequence, problem, options.seed, host)
    timed = [r for r in run.result.results[1 + WARMUP_BLOCKS :] if isinstance(r, ProcessResult)]
    times_us = np.asarray([r.time_ns / 1000.0 for r in timed])
    cpu_us = np.asarray([r.cpu_time_ns / 1000.0 for r in timed])
    deadline_us = 1e6 * BLOCK_SIZE / SAMPLE_RATE
    median, p99, peak = float(np.median(times_us)), float(np.percentile(times_us, 99)), float(times_us.max())
    cpu_median, cpu_p99, cpu_peak = float(np.median(cpu_us)), float(np.percentile(cpu_us, 99)), float(cpu_us.max())
    allocations = allocations_per_call(model, options.seed)
    details = {"median_us": median, "p99_us": p99, "max_us": peak, "deadline_us": deadline_us,
               "late_blocks": int(np.count_nonzero(times_us > deadline_us)), "cpu_median_us": cpu_median,
               "cpu_p99_us": cpu_p99, "cpu_max_us": cpu_peak, "allocations_per_call": allocations}
    line = (
        f"{len(times_us)} blocks at {SAMPLE_RATE} Hz / {BLOCK_SIZE}: median {median:.0f} µs, p99 {p99:.0f} µs "
        f"({p99 / deadline_us:.1%} of the block's {deadline_us:.0f} µs), max {peak:.0f} µs; thread CPU median "
        f"{cpu_median:.0f} µs, p99 {cpu_p99:.0f} µs, max {cpu_peak:.0f} µs; {allocations:g} tensor allocations per call"
    )
    exceeded = []
    if options.max_p99_load is not None and cpu_p99 > options.max_p99_load * deadline_us:
        exceeded.append(f"p99 CPU time above {options.max_p99_load:g} of the block's duration")
    if options.max_allocations_per_call is not None and allocations > options.max_allocations_per_call:
        exceeded.append(f"more than {options.max_allocations_per_call:g} allocations per call")
    if exceeded:
        return CheckResult(NAME, "fail", f"{line}: {' and '.join(exceeded)}", host, details=details)
    return CheckResult(NAME, "pass", line, host, details=details)
