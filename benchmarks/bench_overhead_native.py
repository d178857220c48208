"""Host-call overhead against the reference SDK and the floor in a C++ host, as Neutone FX runs models.

The five cases of ``bench_overhead`` (native, mono, FIFO 2048, resample to 44.1 kHz, resample +
FIFO 2048; host 48000 Hz, stereo blocks of 512 with knobs), exported as that benchmark exports
them and saved to files:

- Ours: ``save_neutone_model`` with every check (``bench_resample.exported``), the model.nm it writes.
- The SDK: neutone_sdk's ``SampleQueueWrapper`` from its published wheel (``--sdk-path``) around the
  same knob-gain model, exported as its ``save_neutone_model`` does (``bench_resample.sdk_model``).
- The floor: ``bench_overhead.Floor``, scripted and saved with ``torch.jit.save``.

``native_overhead.cpp``, built on first use against the installed torch's LibTorch
(``neutone_core.tools.native.build``), loads all fifteen files in one process, configures each
with ``set_daw_sample_rate_and_buffer_size(48000, 512)``, and on one thread (one intra-op thread,
``c10::InferenceMode``) runs interleaved rounds of ``--calls`` calls per model, timing each call's
thread CPU time and wall time. A run's figure per model is the median over rounds of each
round's median call, less the median cost of the clock reads themselves; the program runs
``--runs`` times; ratios are taken per run (load hits both sides of a run alike).

Run: ``python -m benchmarks.bench_overhead_native --sdk-path build/neutone_sdk [--write-results] [--json PATH]``.
"""

import argparse
import json
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, Sequence

import torch

from benchmarks.bench_overhead import CASES, FLOOR_CYCLE, FLOOR_TARGET, SECTION, Floor, per_run
from benchmarks.bench_resample import BLOCK, HOST_RATE, exported, import_sdk, sdk_label, sdk_model, spread
from benchmarks.results_file import RESULTS, shown_command, write_section
from neutone_core.scripting import torchscript_quietly
from neutone_core.tools.native.build import build_native_host

SOURCE = Path(__file__).with_name("native_overhead.cpp")
HEADING = "## Host-call overhead in a C++ host (LibTorch, as Neutone FX runs models)"
SIDES = ("ours", "SDK", "floor")
WARMUP = 2 * FLOOR_CYCLE
"""Calls per model before the rounds (TorchScript optimises its graphs on the first calls)."""


def export_cases(sdk: Any, folder: Path) -> Dict[str, Path]:
    """The model file of every case and side, keyed ``case|side``."""
    models: Dict[str, Path] = {}
    for case in CASES:
        ours_folder = folder / case.key
        exported(list(case.native_sizes), list(case.native_rates), ours_folder, True, True, case.mono)
        models[f"{case.key}|ours"] = next(ours_folder.glob("*/model.nm"))
        scripted = {
            "SDK": sdk_model(sdk, list(case.native_sizes), case.native_rates, case.mono, True),
            "floor": torch.jit.script(Floor(case)),
        }
        for side, module in scripted.items():
            path = folder / f"{case.key}-{side}.pt"
            with torchscript_quietly():
                torch.jit.save(module, str(path))
            models[f"{case.key}|{side}"] = path
    return models


def run_native(program: Path, models: Sequence[Path], rounds: int, calls: int, warmup: int) -> Dict[str, Any]:
    """One process of ``native_overhead``: per model (in order) the median call of each round
    (us, thread CPU and wall time), and the clock reads' own cost (ns)."""
    with tempfile.TemporaryDirectory() as folder:
        output = Path(folder) / "result.json"
        command = [str(program), str(output), str(rounds), str(calls), str(warmup), *map(str, models)]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{program.name} exited with code {done.returncode}: {done.stderr.strip()}")
        return json.loads(output.read_text())


FIGURES = {
    "cpu_us": ("cpu_mean_us", "clock_cpu_ns"),
    "cpu_median_call_us": ("cpu_median_us", "clock_cpu_ns"),
    "wall_us": ("wall_mean_us", "clock_wall_ns"),
}
"""Each figure of :func:`measure`: the series of ``native_overhead`` it comes from, and the clock
reads' cost taken off it."""


def measure(program: Path, models: Dict[str, Path], runs: int, rounds: int, calls: int, warmup: int) -> Dict[str, Any]:
    """Per model and run, net of the clock reads' cost (us): the mean call (``cpu_us``, thread CPU
    time; ``wall_us``) and the median call (``cpu_median_call_us``), each the median over rounds."""
    names = list(models)
    figures: Dict[str, Any] = {figure: {n: [] for n in names} for figure in FIGURES}
    figures["clock_ns"] = []
    for _ in range(runs):
        result = run_native(program, [models[n] for n in names], rounds, calls, warmup)
        for figure, (series, clock) in FIGURES.items():
            for name, model in zip(names, result["models"], strict=True):
                figures[figure][name].append(statistics.median(model[series]) - result[clock] / 1000)
        figures["clock_ns"].append((result["clock_cpu_ns"], result["clock_wall_ns"]))
    return figures


def mark(ok: bool) -> str:
    """``met`` or ``NOT met``."""
    return "met" if ok else "NOT met"


def report(figures: Dict[str, Any], sdk: str, command: str, rounds: int, calls: int) -> str:
    """The RESULTS.md section."""
    us, wall = figures["cpu_us"], figures["wall_us"]
    runs = len(figures["clock_ns"])
    clock_cpu = [c for c, _ in figures["clock_ns"]]
    lines = [
        HEADING,
        "",
        f"`{command}` (torch {torch.__version__}, {time.strftime('%Y-%m-%d')}; 2-core machine shared with other jobs). "
        "The three models of each case exported as in the section above, but saved to files "
        "(ours: model.nm from `save_neutone_model` with "
        f"every check; SDK: {sdk}; floor: the bare scripted module, `torch.jit.save`), loaded with `torch::jit::load` "
        f"into one C++ process (`benchmarks/native_overhead.cpp`, built against the installed LibTorch) and configured "
        f"with `set_daw_sample_rate_and_buffer_size({HOST_RATE}, {BLOCK})`. On one thread, one intra-op thread, "
        f"`c10::InferenceMode`: {WARMUP} calls per model, then {rounds} interleaved rounds (model order rotated each "
        f"round) of {calls} calls of `forward(x, params)` per model, stereo (2, {BLOCK}) float32 block, (4, {BLOCK}) "
        "knobs. Each call timed alone (`CLOCK_THREAD_CPUTIME_ID`); a run's figure is the median over rounds of each "
        "round's mean call (behind a FIFO the model runs on one call in four or five, so a median call would leave it "
        f"out), less the clock reads' own cost ({spread([c / 1000 for c in clock_cpu])} us). "
        f"Thread CPU us per call, median [min..max] of {runs} runs of the program; ratios per run.",
        "",
        "| case | ours us | SDK us | floor us | ours / SDK | target | ours / floor | target | ours / SDK, wall time |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    verdicts, met = [], 0
    for case in CASES:
        ours, sdk_key, floor = (f"{case.key}|{side}" for side in SIDES)
        to_sdk, to_floor = per_run(us, ours, sdk_key), per_run(us, ours, floor)
        lines.append(
            f"| {case.label} | {spread(us[ours])} | {spread(us[sdk_key])} | {spread(us[floor])} | {spread(to_sdk)} "
            f"| <= {case.sdk_target} | {spread(to_floor)} | <= {FLOOR_TARGET} | {spread(per_run(wall, ours, sdk_key))} |"
        )
        sdk_ratio, floor_ratio = statistics.median(to_sdk), statistics.median(to_floor)
        bare = statistics.median(per_run(us, floor, sdk_key))
        met += (sdk_ratio <= case.sdk_target) + (floor_ratio <= FLOOR_TARGET)
        verdicts.append(
            f"- {case.label}: {sdk_ratio:.3f}x the SDK [{min(to_sdk):.3f}..{max(to_sdk):.3f}] "
            f"(<= {case.sdk_target}: {mark(sdk_ratio <= case.sdk_target)}), {floor_ratio:.3f}x its floor "
            f"[{min(to_floor):.3f}..{max(to_floor):.3f}] (<= {FLOOR_TARGET}: {mark(floor_ratio <= FLOOR_TARGET)}); "
            f"the floor alone is {bare:.2f}x the SDK."
            + "".join(
                f" The runs' {name} ratios fall on both sides of {target}."
                for name, ratios, target in (("SDK", to_sdk, case.sdk_target), ("floor", to_floor, FLOOR_TARGET))
                if min(ratios) <= target < max(ratios)
            )
        )
    lines += [
        "",
        f"Against the targets in the C++ host, judged on the median of the runs' ratios ({met} of {2 * len(CASES)} met):",
        "",
        *verdicts,
    ]
    return "\n".join(lines) + "\n"


def write_results(text: str) -> None:
    """Replace this section of RESULTS.md, or place it right after the Python overhead section."""
    content = RESULTS.read_text()
    if HEADING in content:
        write_section(HEADING, text)
        return
    start = content.index(SECTION)
    end = content.find("\n## ", start + len(SECTION))
    at = len(content) if end < 0 else end + 1
    RESULTS.write_text(content[:at].rstrip("\n") + "\n\n" + text + ("\n" + content[at:] if end >= 0 else ""))


def main() -> None:
    """Export the cases, run the C++ host ``--runs`` times, print the section, optionally write it and JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sdk-path", help="directory holding the neutone_sdk package (an unpacked wheel)")
    parser.add_argument("--write-results", action="store_true", help="rewrite this section of benchmarks/RESULTS.md")
    parser.add_argument("--json", help="write the figures to this file")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--calls", type=int, default=FLOOR_CYCLE)
    args = parser.parse_args()
    command = shown_command("benchmarks.bench_overhead_native")
    sdk = import_sdk(args.sdk_path)
    if sdk is None:
        parser.error("the reference SDK did not import: pass --sdk-path with the unpacked neutone_sdk wheel")
    program = build_native_host(source=SOURCE).path
    with tempfile.TemporaryDirectory() as folder:
        models = export_cases(sdk, Path(folder))
        figures = measure(program, models, args.runs, args.rounds, args.calls, WARMUP)
    text = report(figures, sdk_label(sdk), command, args.rounds, args.calls)
    print(text)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))
    if args.write_results:
        write_results(text)


if __name__ == "__main__":
    main()
