"""Where a model's time and allocations go: torch profiler events grouped by operator and stage.

``torch.profiler.record_function`` labels do not survive TorchScript, but with
``with_stack=True`` every operator carries the TorchScript code frames it ran in
(``code/__torch__/<module path>.py(line): method``). Each stage of ``model.host.chain`` is a
scripted class with its own code file, so an operator belongs to the innermost frame whose
file is a stage's (the model stage also owns every file of the wrapper's submodules). Time
spent in the TorchScript interpreter between operators is shown as its own row.
"""

from __future__ import annotations

import os
import sys
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

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


def allocation_times_us(prof: profile) -> list[float]:
    """When each tensor allocation of a finished profile happened, in µs from its start.

    Read from the raw kineto events: ``prof.events()`` folds allocations made inside an
    operator into that operator's memory total, so counting its ``[memory]`` rows misses them.
    """
    results = prof.profiler.kineto_results
    start_ns = results.trace_start_ns()
    return [
        (event.start_ns() - start_ns) / 1000.0
        for event in results.events()
        if event.name() == "[memory]" and event.nbytes() > 0
    ]


@dataclass
class ProfiledBlocks:
    """Profiler results of ``blocks`` host calls, grouped.

    Attributes:
        blocks: host calls profiled.
        operators: ``(operator, stage)`` -> (calls, self time in µs) over all blocks.
        stages: stage -> self time in µs over all blocks (with an ``interpreter`` row).
        allocations: stage -> tensor allocations over all blocks.
    """

    blocks: int
    operators: dict[tuple[str, str], tuple[int, float]]
    stages: dict[str, float]
    allocations: dict[str, int]


def profile_calls(call: Callable[[], object], model: Any, blocks: int) -> ProfiledBlocks:
    """Profile ``blocks`` calls of ``call`` (one host block each) on the root module ``model``."""
    files = stage_files(model)
    with native_stderr_silenced(), profile(activities=[ProfilerActivity.CPU], profile_memory=True, with_stack=True) as prof:
        for _ in range(blocks):
            call()
    operators: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0, 0.0])
    stages: dict[str, float] = defaultdict(float)
    allocations: dict[str, int] = defaultdict(int)
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
    for at in allocation_times_us(prof):
        inside = [span for span in spans if span[0] <= at <= span[1]]
        allocations[inside[-1][2] if inside else HOST_CALL] += 1
    return ProfiledBlocks(
        blocks,
        {key: (int(calls), float(total)) for key, (calls, total) in operators.items()},
        dict(stages),
        dict(allocations),
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


def count_allocations(call: Callable[[], object], repeats: int = 10) -> int:
    """Tensor memory allocations (count) made by ``repeats`` calls of ``call``, measured with
    ``torch.profiler`` (``profile_memory=True``); views and Python objects do not count.

    Counts every allocation, including those made inside operators (see
    :func:`allocation_times_us`)."""
    with native_stderr_silenced(), profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        for _ in range(repeats):
            call()
    return len(allocation_times_us(prof))
