"""Where a model's time and allocations go: torch profiler events grouped by operator and stage.

``torch.profiler.record_function`` labels do not survive TorchScript, but with
``with_stack=True`` every operator carries the TorchScript code frames it ran in
(``code/__torch__/<module path>.py(line): method``). Each stage of ``model.host.chain`` is a
scripted class with its own code file, so an operator belongs to the innermost frame whose
file is a stage's (the model stage also owns every file of the wrapper's submodules). Time
spent in the TorchScript interpreter between operators is shown as its own row.

Allocations made inside a ``torch.fft`` operator are counted apart: torch.fft allocates its
result (and copies it into ``out=``) on every call, so no code calling it can be free of them.
"""

from __future__ import annotations

import os
import sys
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import torch
from torch.profiler import ProfilerActivity, profile

from neutone_core.tools.host import walk_stages

INTERPRETER = "interpreter"
"""Stage label of time the TorchScript interpreter spends between operators."""

HOST_CALL = "host call"
"""Stage label of what happens outside every stage's code (the call itself)."""

MODEL = "model"
"""Stage label of the researcher's code: the wrapper and the modules inside it."""

MODEL_STAGE = "model-stage"
"""Stage label of the core's code around the wrapper (knob mean and map, shape check)."""

FFT_OPERATOR_PREFIXES = ("aten::fft_", "aten::_fft_")
"""Names of the operators of ``torch.fft`` (``aten::fft_rfft`` calls ``aten::_fft_r2c``, ...)."""

FFT_NOTE = "torch.fft allocates its result"
"""Why allocations inside ``torch.fft`` operators are reported apart, in the reports' words."""


@contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Send file descriptor 2 to the null device: some torch builds' profiler (kineto) writes
    a line to it at every start and stop, which would litter the tools' output."""
    sys.stderr.flush()
    saved = os.dup(2)
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    os.close(null)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _code_file(module: Any) -> str:
    qualified = module._c.qualified_name if hasattr(module, "_c") else f"__torch__.{type(module).__module__}.x"
    return "code/" + qualified.rsplit(".", 1)[0].replace(".", "/") + ".py"


def stage_files(model: Any) -> dict[str, str]:
    """TorchScript code file -> stage label: ``"root"`` (with its metadata module), each
    adapter's name, ``"model"`` for the researcher's wrapper and everything inside it, and
    ``"model-stage"`` for the core code around the wrapper (knob aggregation, checks)."""
    files = {_code_file(model): "root", _code_file(model.w2w_base): "root", _code_file(model.host): "root"}
    for stage in walk_stages(model):
        if hasattr(stage, "inner"):
            files.setdefault(_code_file(stage), str(stage.stage_name))
        else:
            for sub in stage.wrapper.modules():
                files.setdefault(_code_file(sub), MODEL)
            for sub in stage.modules():
                files.setdefault(_code_file(sub), MODEL_STAGE)
    return files


def _stage_of(stack: list[str] | None, files: dict[str, str]) -> str:
    for frame in stack or ():
        label = files.get(frame.split("(", 1)[0])
        if label is not None:
            return label
    return HOST_CALL


class Allocation(NamedTuple):
    """One tensor allocation of a profile: when (µs from its start) and whether a ``torch.fft``
    operator made it."""

    at_us: float
    in_fft: bool


def profiled_allocations(prof: profile) -> list[Allocation]:
    """Every tensor allocation of a finished profile, in order.

    Read from the raw kineto events: ``prof.events()`` folds allocations made inside an
    operator into that operator's memory total, so counting its ``[memory]`` rows misses them.
    An allocation is the FFT's when it happened inside an operator named by
    :data:`FFT_OPERATOR_PREFIXES`.
    """
    results = prof.profiler.kineto_results
    start_ns = results.trace_start_ns()
    events = list(results.events())
    fft_spans = [(e.start_ns(), e.end_ns()) for e in events if e.name().startswith(FFT_OPERATOR_PREFIXES)]
    return [
        Allocation((e.start_ns() - start_ns) / 1000.0, any(start <= e.start_ns() <= end for start, end in fft_spans))
        for e in events
        if e.name() == "[memory]" and e.nbytes() > 0
    ]


@dataclass
class ProfiledBlocks:
    """Profiler results of ``blocks`` host calls, grouped.

    Attributes:
        blocks: host calls profiled.
        operators: ``(operator, stage)`` -> (calls, self time in µs) over all blocks.
        stages: stage -> self time in µs over all blocks (with an ``interpreter`` row).
        allocations: stage -> tensor allocations over all blocks (those of torch.fft included).
        fft_allocations: stage -> how many of its allocations ``torch.fft`` operators made.
    """

    blocks: int
    operators: dict[tuple[str, str], tuple[int, float]]
    stages: dict[str, float]
    allocations: dict[str, int]
    fft_allocations: dict[str, int] = field(default_factory=dict)


def profile_calls(call: Callable[[], object], model: Any, blocks: int) -> ProfiledBlocks:
    """Profile ``blocks`` calls of ``call`` (one host block each) on the root module ``model``."""
    files = stage_files(model)
    with native_stderr_silenced(), profile(activities=[ProfilerActivity.CPU], profile_memory=True, with_stack=True) as prof:
        for _ in range(blocks):
            call()
    operators: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0, 0.0])
    stages: dict[str, float] = defaultdict(float)
    allocations: dict[str, int] = defaultdict(int)
    fft_allocations: dict[str, int] = defaultdict(int)
    spans: list[tuple[float, float, str]] = []
    events = list(prof.events())
    for event in events:
        if "::" not in event.name and event.name != "forward":
            continue
        stage = INTERPRETER if event.name == "forward" else _stage_of(event.stack, files)
        entry = operators[(event.name, stage)]
        entry[0] += 1
        entry[1] += event.self_cpu_time_total
        stages[stage] += event.self_cpu_time_total
        if event.name != "forward":
            spans.append((event.time_range.start, event.time_range.end, stage))
    spans.sort()
    for allocation in profiled_allocations(prof):
        inside = [span for span in spans if span[0] <= allocation.at_us <= span[1]]
        stage = inside[-1][2] if inside else HOST_CALL
        allocations[stage] += 1
        if allocation.in_fft:
            fft_allocations[stage] += 1
    return ProfiledBlocks(
        blocks,
        {key: (int(calls), float(total)) for key, (calls, total) in operators.items()},
        dict(stages),
        dict(allocations),
        dict(fft_allocations),
    )


def profile_model(
    model: Any, sample_rate: int, block_size: int, n_channels: int, blocks: int = 100, warmup: int = 20
) -> dict[str, Any]:
    """Profile a root module at one host setting: time and allocations per block, by stage
    and by operator (self CPU time in µs per block, largest first).

    Args:
        model: a loaded root module.
        sample_rate: host rate in Hz.
        block_size: host buffer size in samples.
        n_channels: 1 (mono host) or 2 (stereo).
        blocks: host calls profiled after ``warmup`` unprofiled ones.
        warmup: calls that bring the stream to steady state first.
    """
    model.prepare(sample_rate, block_size, n_channels, 0, 0)
    audio = torch.rand(n_channels, block_size, generator=torch.Generator().manual_seed(0)) - 0.5
    with torch.no_grad():
        for _ in range(warmup):
            model(audio, None)
        profiled = profile_calls(lambda: model(audio, None), model, blocks)
    total = sum(profiled.stages.values())
    adapters = [str(stage.stage_name) for stage in walk_stages(model) if hasattr(stage, "inner")]
    stage_names = [HOST_CALL, "root", *adapters, MODEL_STAGE, MODEL, INTERPRETER]
    by_stage = [
        {
            "stage": name,
            "self_us_per_block": profiled.stages.get(name, 0.0) / blocks,
            "share": profiled.stages.get(name, 0.0) / total if total else 0.0,
            "allocations_per_block": profiled.allocations.get(name, 0) / blocks,
            "fft_allocations_per_block": profiled.fft_allocations.get(name, 0) / blocks,
        }
        for name in dict.fromkeys(stage_names)
        if name in profiled.stages or name in profiled.allocations
    ]
    by_operator = [
        {
            "operator": name,
            "stage": stage,
            "calls_per_block": calls / blocks,
            "self_us_per_block": self_us / blocks,
            "share": self_us / total if total else 0.0,
        }
        for (name, stage), (calls, self_us) in sorted(profiled.operators.items(), key=lambda item: -item[1][1])
    ]
    return {
        "host": {"sample_rate": sample_rate, "block_size": block_size, "channels": n_channels},
        "blocks": blocks,
        "profiled_us_per_block": total / blocks,
        "by_stage": by_stage,
        "by_operator": by_operator,
    }


class AllocationCount(NamedTuple):
    """Tensor allocations over some calls: made outside ``torch.fft`` operators, and inside them."""

    outside_fft: int
    inside_fft: int


def count_allocations_split(call: Callable[[], object], repeats: int = 10) -> AllocationCount:
    """Tensor memory allocations made by ``repeats`` calls of ``call``, measured with
    ``torch.profiler`` (``profile_memory=True``), apart for those ``torch.fft`` operators make
    (see :func:`profiled_allocations`); views and Python objects do not count."""
    with native_stderr_silenced(), profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        for _ in range(repeats):
            call()
    found = profiled_allocations(prof)
    inside = sum(allocation.in_fft for allocation in found)
    return AllocationCount(len(found) - inside, inside)


def count_allocations(call: Callable[[], object], repeats: int = 10) -> int:
    """Every tensor memory allocation made by ``repeats`` calls of ``call``, including those
    made inside operators (``torch.fft``'s too; :func:`count_allocations_split` tells them apart)."""
    return sum(count_allocations_split(call, repeats))
