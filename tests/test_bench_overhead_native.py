"""``benchmarks/native_overhead.cpp``: built against the installed LibTorch, it times every model it is given."""

import math
from pathlib import Path

import pytest
import torch

from benchmarks.bench_overhead import CASES, Floor
from benchmarks.bench_overhead_native import SOURCE, measure
from benchmarks.bench_resample import KnobGainWrapper
from neutone_core import save_neutone_model
from neutone_core.plugins import get_registry
from neutone_core.scripting import torchscript_quietly
from neutone_core.tools.native.build import build_native_host


@pytest.mark.slow
def test_the_native_benchmark_times_a_configured_model_and_a_bare_module(tmp_path: Path) -> None:
    ours = save_neutone_model(KnobGainWrapper(), tmp_path / "ours", skip_checks=set(get_registry().checks)).model_path
    floor = tmp_path / "floor.pt"
    with torchscript_quietly():
        torch.jit.save(torch.jit.script(Floor(CASES[0])), str(floor))
    program = build_native_host(source=SOURCE).path
    figures = measure(program, {"ours": ours, "floor": floor}, runs=1, rounds=2, calls=8, warmup=4)
    for figure in ("cpu_us", "cpu_median_call_us", "wall_us"):
        assert set(figures[figure]) == {"ours", "floor"}
        assert all(len(v) == 1 and math.isfinite(v[0]) and v[0] > 0 for v in figures[figure].values()), figures
