"""The model runs faster than realtime at 48 kHz / 512 (a warning, not a failure, if not).

Judged on each call's thread CPU time (one intra-op thread: all of the model's work), so a
block delayed because the exporting machine was busy is not held against the model; wall-clock
late blocks are still reported."""

from __future__ import annotations

from typing import TYPE_CHECKING

from neutone_core.tools.bench import bench_setting, torch_threads
from neutone_core.tools.validate.report import counted

if TYPE_CHECKING:
    from neutone_core.export import ExportContext

NAME = "realtime"
DESCRIPTION = "faster than realtime at 48000 Hz / 512 samples, one thread (warns otherwise)"

SAMPLE_RATE = 48000
BLOCK_SIZE = 512
BLOCKS = 100


def check(context: ExportContext) -> str:
    """Time 100 stereo blocks single-threaded, as :mod:`neutone_core.tools.bench` does."""
    with torch_threads(1):
        result = bench_setting(context.loaded, SAMPLE_RATE, BLOCK_SIZE, 2, BLOCKS, warmup=10)
    cpu = result["cpu_time_per_block_us"]
    summary = (
        f"1/RTF {result['inverse_rtf']:.1f} at {SAMPLE_RATE} Hz / {BLOCK_SIZE} "
        f"(CPU time median {cpu['median']:.0f} µs, max {cpu['max']:.0f} µs per block of {result['deadline_us']:.0f} µs)"
    )
    if cpu["median"] > result["deadline_us"]:
        return f"warning: slower than realtime: {summary}; a host will drop out"
    if result["cpu_missed_deadlines"]:
        return f"warning: {result['cpu_missed_deadlines']} of {BLOCKS} blocks took longer than the block lasts: {summary}"
    if result["missed_deadlines"]:
        return f"{summary}; {counted(result['missed_deadlines'], 'block')} late on the wall clock only (this machine was busy)"
    return summary
