"""Host-call overhead of the root graph, the mixer and the FIFO against a copy floor.

Per host call: stereo 48 kHz, host block 512, knobs passed, a scripted graph around a
pass-through model, single thread. The floor is a bare scripted module that copies its input
into a preallocated buffer, measured in the same run. Each case is timed call by call with
``time.perf_counter_ns`` in interleaved rounds (so drift hits every case alike) and reported as
the median; allocations are counted with the profiler over the same calls.

Run: ``python -m benchmarks.bench_overhead [--calls N] [--json PATH]``.
"""

import argparse
import json
import statistics
import time
from dataclasses import asdict, dataclass
from typing import List, Optional

import torch
from torch import Tensor, nn

from neutone_core import MissingAdapterError, compose
from neutone_core.testing import PassThroughWrapper, count_allocations
from neutone_core.tools.host import active_stage_names

SAMPLE_RATE = 48000
HOST_BLOCK_SIZE = 512
HOST_CHANNELS = 2
TARGETS = {"native": 3.0, "fifo": 4.0, "mixer": 3.5}
"""Largest accepted ratio to the floor per case (issue 5)."""


class CopyFloor(nn.Module):
    """The floor: copies its input into a preallocated buffer. Shape: ``(2, n) -> (2, n)``."""

    def __init__(self, block_size: int) -> None:
        super().__init__()
        self.register_buffer("out", torch.zeros(HOST_CHANNELS, block_size))

    def forward(self, x: Tensor, params: Optional[Tensor] = None) -> Tensor:
        out = self.out[:, : x.size(1)]
        out.copy_(x)
        return out


@dataclass
class CaseResult:
    """One case: median, mean and spread of the per-call time (us), median ratio to the floor,
    allocations per call (the FIFO case runs the model on every 4th call: its mean includes it)."""

    name: str
    stages: str
    active: str
    median_us: float
    mean_us: float
    p10_us: float
    p90_us: float
    ratio: float
    target: Optional[float]
    allocations_per_call: float


def composed_pass_through(mono: bool, native_buffer_sizes: List[int]) -> torch.jit.ScriptModule:
    """A scripted pass-through at native 48 kHz when a sample-rate adapter is installed, else any rate."""
    for rates in ([SAMPLE_RATE], []):
        wrapper = PassThroughWrapper(
            input_mono=mono, output_mono=mono, native_sample_rates=rates, native_buffer_sizes=native_buffer_sizes
        )
        try:
            return compose(wrapper).scripted
        except MissingAdapterError:
            continue
    raise RuntimeError("unreachable: a model of any rate needs no sample-rate adapter")


def run(calls: int, rounds: int) -> List[CaseResult]:
    """Time every case over ``calls`` host calls in ``rounds`` interleaved rounds."""
    torch.set_num_threads(1)
    floor = torch.jit.script(CopyFloor(HOST_BLOCK_SIZE))
    modules = {
        "floor": floor,
        "native": composed_pass_through(False, [HOST_BLOCK_SIZE]),
        "fifo": composed_pass_through(False, [2048]),
        "mixer": composed_pass_through(True, [HOST_BLOCK_SIZE]),
    }
    for name, module in modules.items():
        if name != "floor":
            module.prepare(SAMPLE_RATE, HOST_BLOCK_SIZE, HOST_CHANNELS, 0, 0)
    audio = torch.rand(HOST_CHANNELS, HOST_BLOCK_SIZE) * 2 - 1
    params = torch.rand(4, HOST_BLOCK_SIZE)
    times = {name: [] for name in modules}
    per_round = max(calls // rounds, 1)
    with torch.inference_mode():
        for module in modules.values():
            for _ in range(2000):
                module(audio, params)
        for _ in range(rounds):
            for name, module in modules.items():
                record = times[name]
                for _ in range(per_round):
                    start = time.perf_counter_ns()
                    module(audio, params)
                    record.append(time.perf_counter_ns() - start)
        allocations = {name: count_allocations(lambda m=m: m(audio, params), 64) / 64 for name, m in modules.items()}
    floor_median = statistics.median(times["floor"]) / 1000
    results = []
    for name, module in modules.items():
        samples = sorted(times[name])
        median = statistics.median(samples) / 1000
        stages = "copy" if name == "floor" else " -> ".join(["root", *module.get_stage_names()])
        active = "-" if name == "floor" else ", ".join(n for n in active_stage_names(module) if n != "model") or "none"
        results.append(
            CaseResult(
                name=name,
                stages=stages,
                active=active,
                median_us=round(median, 3),
                mean_us=round(statistics.fmean(samples) / 1000, 3),
                p10_us=round(samples[len(samples) // 10] / 1000, 3),
                p90_us=round(samples[len(samples) * 9 // 10] / 1000, 3),
                ratio=round(median / floor_median, 2),
                target=TARGETS.get(name),
                allocations_per_call=allocations[name],
            )
        )
    return results


def table(results: List[CaseResult]) -> str:
    """The results as a Markdown table."""
    lines = [
        "| case | stages (active) | median us | mean us | p10-p90 us | x floor (median) | target | allocations/call |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        target = "-" if r.target is None else f"<= {r.target}x"
        lines.append(
            f"| {r.name} | {r.stages} ({r.active}) | {r.median_us:.2f} | {r.mean_us:.2f} | {r.p10_us:.2f}-{r.p90_us:.2f} "
            f"| {r.ratio:.2f} | {target} | {r.allocations_per_call:g} |"
        )
    return "\n".join(lines)


def main() -> None:
    """Parse arguments, run, print the table, optionally write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=40000, help="timed host calls per case")
    parser.add_argument("--rounds", type=int, default=20, help="interleaved rounds the calls are split into")
    parser.add_argument("--json", dest="json_path", help="write the results as JSON to this path")
    args = parser.parse_args()
    results = run(args.calls, args.rounds)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} thread, host {SAMPLE_RATE} Hz / "
        f"{HOST_BLOCK_SIZE} samples stereo, knobs passed"
    )
    print(table(results))
    if args.json_path:
        with open(args.json_path, "w") as handle:
            json.dump([asdict(r) for r in results], handle, indent=2)


if __name__ == "__main__":
    main()
