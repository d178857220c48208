"""What a host waits for: export, file size, load, configure, reconfigure and the first blocks.

A pass-through model with native rate 44.1 kHz and native block 2048 (the resampler, the FIFO
and the mixer all in the graph) is exported with every check on; then, in fresh processes (as
a host starts), the file is loaded, configured at 48 kHz / 512, and the first host calls are
timed one by one against the steady-state median; every later ``set_daw_sample_rate_and_
buffer_size`` is timed over host rates that make hard rate pairs (44101 and 47999 Hz are
coprime with 44.1 kHz). Wall clock (a host waits in real time), median and range over the
runs.

Run: ``python -m benchmarks.bench_configure [--runs 5] [--json PATH]``.
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from neutone_core import save_neutone_model
from neutone_core.testing import PassThroughWrapper

RECONFIGURE_RATES = (44100, 48000, 96000, 22050, 44101, 47999, 88201, 192000)
"""Host rates (Hz) a configured model is switched to, at 512 samples."""

FIRST_CALLS = 5
"""Host calls timed one by one after the first configure."""

TRIAL = """
import json, sys, time, torch
torch.set_num_threads(1)
from neutone_core import load_neutone_model
t0 = time.perf_counter()
module, _ = load_neutone_model(sys.argv[1])
t1 = time.perf_counter()
module.set_daw_sample_rate_and_buffer_size(48000, 512)
t2 = time.perf_counter()
x, p = torch.rand(2, 512) - 0.5, torch.rand(4, 512)
first = []
with torch.no_grad():
    for _ in range({first_calls}):
        s = time.perf_counter(); module(x, p); first.append(time.perf_counter() - s)
    steady = []
    for _ in range(200):
        s = time.perf_counter(); module(x, p); steady.append(time.perf_counter() - s)
reconfigure = {{}}
for rate in {rates}:
    s = time.perf_counter(); module.set_daw_sample_rate_and_buffer_size(rate, 512); reconfigure[rate] = time.perf_counter() - s
steady.sort()
print(json.dumps({{"load_s": t1 - t0, "first_configure_s": t2 - t1, "first_calls_s": first,
                  "steady_median_s": steady[len(steady) // 2], "reconfigure_s": reconfigure}}))
"""


def export(folder: Path) -> dict:
    """Export the headline model with every check on; the export time and file sizes."""
    wrapper = PassThroughWrapper(native_sample_rates=[44100], native_buffer_sizes=[2048])
    start = time.perf_counter()
    result = save_neutone_model(wrapper, folder)
    seconds = time.perf_counter() - start
    sounds = sum(len(pair["in"]) + len(pair["out"]) for pair in result.metadata["sample_sound_files"])
    size = result.model_path.stat().st_size
    return {"export_s": seconds, "file_bytes": size, "sample_sound_bytes": sounds, "file_without_sounds_bytes": size - sounds}


def trial(model_path: Path) -> dict:
    """One fresh process loading, configuring and calling the model."""
    code = TRIAL.format(first_calls=FIRST_CALLS, rates=list(RECONFIGURE_RATES))
    done = subprocess.run([sys.executable, "-c", code, str(model_path)], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def spread(values: list[float], scale: float = 1000.0) -> str:
    """``median (min-max)`` in milliseconds."""
    return f"{statistics.median(values) * scale:.1f} ({min(values) * scale:.1f}-{max(values) * scale:.1f})"


def main() -> None:
    """Export once, run the trials, print a Markdown table (and JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        exported = export(Path(folder))
        trials = [trial(Path(folder) / "model.nm") for _ in range(args.runs)]
    print(f"export with every check: {exported['export_s']:.1f} s; model.nm {exported['file_bytes'] / 1024:.0f} KiB, "
          f"of which sample sounds {exported['sample_sound_bytes'] / 1024:.0f} KiB "
          f"({exported['file_without_sounds_bytes'] / 1024:.0f} KiB without)")
    print(f"\n{args.runs} fresh processes, wall clock ms, median (min-max):\n")
    print("| step | ms |\n|---|---|")
    print(f"| load model.nm | {spread([t['load_s'] for t in trials])} |")
    print(f"| first set_daw_sample_rate_and_buffer_size(48000, 512), warm-up included | "
          f"{spread([t['first_configure_s'] for t in trials])} |")
    for i in range(FIRST_CALLS):
        print(f"| host call {i + 1} | {spread([t['first_calls_s'][i] for t in trials])} |")
    print(f"| host call, steady median | {spread([t['steady_median_s'] for t in trials])} |")
    for rate in RECONFIGURE_RATES:
        print(f"| reconfigure to {rate} Hz / 512 | {spread([t['reconfigure_s'][str(rate)] for t in trials])} |")
    if args.json:
        args.json.write_text(json.dumps({"export": exported, "trials": trials}, indent=2))


if __name__ == "__main__":
    main()
