"""How long ``neutone validate`` takes per strictness level, and what export's quick level adds.

Two pass-through models: one that takes any rate and size (no adapter active) and the
headline one (native 44.1 kHz / 2048: resampler, FIFO and mixer in the graph). Each level
runs in a fresh process with one intra-op thread; the figure is the process's CPU time (its
own and its native host children's), which the other jobs on this shared machine do not
inflate as they do wall clock. Runs are interleaved (level after level, then again); median
and range over the runs. Export: the clipper and the headline model exported with every check
in a fresh process, thread CPU time of the whole export and of each check (``--export-only``
runs just these, e.g. against an older tree: ``cd OLD && PYTHONPATH=OLD python
/path/to/benchmarks/bench_validate.py --export-only``).

Run: ``python -m benchmarks.bench_validate [--levels 1 3 5 7 10] [--runs 3] [--native-levels 1 5] [--export-only] [--json PATH]``.
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from neutone_core import save_neutone_model
from neutone_core.testing import PassThroughWrapper
from neutone_core.tools.checks import CHECK_MODULES

MODELS = {
    "pass-through (any rate, any size)": {},
    "pass-through (44.1 kHz / 2048)": {"native_sample_rates": [44100], "native_buffer_sizes": [2048]},
}

TRIAL = """
import json, resource, sys, time, torch
torch.set_num_threads(1)
from neutone_core.tools.validate import validate
started = time.perf_counter()
report = validate(sys.argv[1], strictness=int(sys.argv[2]), native=sys.argv[3] == "native")
children = resource.getrusage(resource.RUSAGE_CHILDREN)
cpu = time.process_time() + children.ru_utime + children.ru_stime
sessions = report["host_sessions"].summary.split(" random host sessions")[0]
print(json.dumps({"cpu_s": cpu, "wall_s": time.perf_counter() - started, "passed": report.passed, "sessions": sessions,
                  "checks": {r.name: r.seconds for r in report.results}}))
"""

EXPORTED = {
    "clipper (examples/clipper.py)": "clipper",
    "pass-through (44.1 kHz / 2048)": "headline",
}

EXPORT_TRIAL = """
import json, sys, time, torch
torch.set_num_threads(1)
from neutone_core import save_neutone_model
from neutone_core.testing import PassThroughWrapper
from neutone_core.tools.sources import load_wrapper_from_file
if sys.argv[2] == "clipper":
    wrapper = load_wrapper_from_file(sys.argv[3] + ":ClipperModelWrapper")
else:
    wrapper = PassThroughWrapper(native_sample_rates=[44100], native_buffer_sizes=[2048])
last = [time.thread_time()]
times = {}
def heard(name, line):
    now = time.thread_time()
    times[name] = now - last[0]
    last[0] = now
start = time.thread_time()
save_neutone_model(wrapper, sys.argv[1], on_report=heard)
print(json.dumps({"cpu_s": time.thread_time() - start, "checks": times}))
"""
CLIPPER = Path(__file__).resolve().parents[1] / "examples" / "clipper.py"


def trial(script: str, *args: str) -> dict:
    done = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.1f} ({min(values):.1f}..{max(values):.1f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 3, 5, 7, 10])
    parser.add_argument("--native-levels", type=int, nargs="*", default=[1, 5])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--export-only", action="store_true", help="Time the exports alone.")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    skip = {check.NAME for check in CHECK_MODULES}
    paths = {name: save_neutone_model(PassThroughWrapper(**needs), folder / str(i), skip_checks=skip).model_path
             for i, (name, needs) in enumerate(MODELS.items())}
    cases = [] if args.export_only else [(name, level, "python") for level in args.levels for name in MODELS]
    cases += [] if args.export_only else [(name, level, "native") for level in args.native_levels for name in MODELS]
    results: dict[tuple[str, int, str], list[dict]] = {case: [] for case in cases}
    exports: dict[str, list[dict]] = {name: [] for name in EXPORTED}
    for _ in range(args.runs):
        for name, level, host in cases:
            outcome = trial(TRIAL, str(paths[name]), str(level), host)
            assert outcome["passed"], (name, level, host)
            results[(name, level, host)].append(outcome)
        for name, which in EXPORTED.items():
            exports[name].append(trial(EXPORT_TRIAL, str(folder / "export" / which), which, str(CLIPPER)))
    if results:
        print("| model | host | strictness | sessions | CPU s, median (range) | wall s, median (range) |")
        print("|---|---|---:|---:|---:|---:|")
    for (name, level, host), runs in results.items():
        cpu = spread([r["cpu_s"] for r in runs])
        wall = spread([r["wall_s"] for r in runs])
        print(f"| {name} | {host} | {level} | {runs[0]['sessions']} | {cpu} | {wall} |")
    for name, runs in exports.items():
        print(f"\nexport, {name}, thread CPU s: {spread([e['cpu_s'] for e in runs])}")
        per_check = {check: statistics.median(e["checks"][check] for e in runs) for check in runs[0]["checks"]}
        print("  " + ", ".join(f"{check} {seconds:.2f}" for check, seconds in per_check.items()))
    if args.json:
        args.json.write_text(json.dumps({"validate": {f"{n}|{h}|{lv}": r for (n, lv, h), r in results.items()},
                                         "export": exports}, indent=2))


if __name__ == "__main__":
    main()
