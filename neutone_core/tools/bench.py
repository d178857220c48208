"""Time a model as a realtime host would run it, and tabulate its latency.

``neutone bench --json`` prints this schema (version ``"neutone-bench/1"``; fields are only
ever added)::

    {
      "schema": "neutone-bench/1",
      "model": "path/to/model.nm",
      "model_name": "clipper",
      "threads": 1,                       # torch intra-op threads during timing
      "settings": [                       # one per host setting, in the order asked
        {
          "sample_rate": 48000,           # host rate, Hz
          "block_size": 512,              # host buffer size, samples
          "channels": 2,                  # 1 = mono host, 2 = stereo
          "blocks": 500,                  # timed calls, after warm-up
          "deadline_us": 10666.7,         # block_size / sample_rate, µs
          "time_per_block_us": {"median": 61.2, "p99": 80.1, "max": 250.3},
          "inverse_rtf": 174.3,           # audio time / compute time over the timed calls
          "missed_deadlines": 0,          # calls slower than deadline_us
          "cpu_time_per_block_us": {"median": 60.8, "p99": 79.0, "max": 92.4},
          "cpu_missed_deadlines": 0,      # calls whose thread CPU time exceeds deadline_us
          "allocations_per_block": 4.0,   # tensor allocations per call in steady state
          "allocations_by_stage": {"model": 4.0},
          "latency": {"buffering_samples": 0, "model_samples": 0, "total_samples": 0, "total_ms": 0.0}
        }
      ],
      "latency": [                        # the same delays, lowest total first
        {"sample_rate": 48000, "block_size": 512, "channels": 2,
         "buffering_samples": 0, "model_samples": 0, "total_samples": 0, "total_ms": 0.0}
      ]
    }

Each call is timed with ``time.perf_counter_ns`` around the host call alone, on blocks
prepared beforehand, single-threaded by default like a plugin; ``time.thread_time_ns`` around
the same call gives the calling thread's CPU time, which a busy machine's preemption does not
inflate (with one intra-op thread it is all the model's work).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch

from neutone_core.tools.profiling import profile_calls

SCHEMA = "neutone-bench/1"
"""Version of the ``--json`` layout."""


@contextmanager
def torch_threads(threads: int) -> Iterator[None]:
    """Run the block with ``threads`` intra-op threads, then restore the previous count."""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def latency(model: Any, sample_rate: int) -> dict[str, Any]:
    """Delays of a configured root module: buffering, model and total (samples), total (ms)."""
    total = int(model.calc_total_delay_samples())
    model_delay = int(model.calc_model_delay_samples())
    return {
        "buffering_samples": total - model_delay,
        "model_samples": model_delay,
        "total_samples": total,
        "total_ms": round(1000.0 * total / sample_rate, 3),
    }


def _spread_us(times_ns: list[int]) -> dict[str, float]:
    """Median, p99 and max of per-call times (ns), in µs."""
    ordered = sorted(times_ns)
    return {
        "median": round(statistics.median(ordered) / 1000.0, 3),
        "p99": round(ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] / 1000.0, 3),
        "max": round(ordered[-1] / 1000.0, 3),
    }


def bench_setting(
    model: Any, sample_rate: int, block_size: int, n_channels: int = 2, blocks: int = 500, warmup: int = 50
) -> dict[str, Any]:
    """Time ``blocks`` host calls of a root module at one host setting (see module docs).

    Args:
        model: a loaded root module.
        sample_rate: host rate in Hz.
        block_size: host buffer size in samples (every call gets a full block).
        n_channels: 1 (mono host) or 2 (stereo).
        blocks: timed calls.
        warmup: untimed calls first, so buffers fill and the stream is in steady state.
    """
    model.prepare(sample_rate, block_size, n_channels, 0, 0)
    generator = torch.Generator().manual_seed(0)
    audio = (torch.rand(n_channels, block_size * 8, generator=generator) - 0.5).split(block_size, dim=1)
    times_ns: list[int] = []
    cpu_times_ns: list[int] = []
    with torch.no_grad():
        for i in range(warmup):
            model(audio[i % 8], None)
        for i in range(blocks):
            block = audio[i % 8]
            start, cpu_start = time.perf_counter_ns(), time.thread_time_ns()
            model(block, None)
            cpu_times_ns.append(time.thread_time_ns() - cpu_start)
            times_ns.append(time.perf_counter_ns() - start)
        profiled = profile_calls(lambda: model(audio[0], None), model, 10)
    deadline_ns = 1e9 * block_size / sample_rate
    return {
        "sample_rate": sample_rate,
        "block_size": block_size,
        "channels": n_channels,
        "blocks": blocks,
        "deadline_us": round(deadline_ns / 1000.0, 3),
        "time_per_block_us": _spread_us(times_ns),
        "inverse_rtf": round(deadline_ns * blocks / sum(times_ns), 3),
        "missed_deadlines": sum(1 for t in times_ns if t > deadline_ns),
        "cpu_time_per_block_us": _spread_us(cpu_times_ns),
        "cpu_missed_deadlines": sum(1 for t in cpu_times_ns if t > deadline_ns),
        "allocations_per_block": sum(profiled.allocations.values()) / profiled.blocks,
        "allocations_by_stage": {stage: count / profiled.blocks for stage, count in sorted(profiled.allocations.items())},
        "latency": latency(model, sample_rate),
    }


def bench_model(
    model: Any,
    sample_rates: list[int],
    block_sizes: list[int],
    n_channels: int = 2,
    threads: int = 1,
    blocks: int = 500,
    on_setting: Callable[[int, int, int], None] | None = None,
) -> dict[str, Any]:
    """Bench every (rate, block size) pair; the report of the module docs without ``model``.
    ``on_setting(index, rate_hz, block_size)`` hears each setting as it starts (index from 0)."""
    pairs = [(sr, bs) for sr in sample_rates for bs in block_sizes]
    settings = []
    with torch_threads(threads):
        for index, (sr, bs) in enumerate(pairs):
            if on_setting is not None:
                on_setting(index, sr, bs)
            settings.append(bench_setting(model, sr, bs, n_channels, blocks))
    table = [
        {"sample_rate": s["sample_rate"], "block_size": s["block_size"], "channels": s["channels"], **s["latency"]}
        for s in settings
    ]
    table.sort(key=lambda row: (row["total_ms"], row["sample_rate"], row["block_size"]))
    return {"schema": SCHEMA, "threads": threads, "settings": settings, "latency": table}
