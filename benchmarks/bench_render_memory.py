"""Peak memory of ``neutone render`` on a long file, with and without the plot.

``python -m benchmarks.bench_render_memory [--minutes 10]``: writes a stereo 48 kHz float WAV of
music-like test signal (a swept tone and gated noise), exports ``examples/sdk_style/rave_like.py``
(mixer -> resampler -> FIFO at the model's 48 kHz and blocks of 2048), then renders the file as a
44.1 kHz host (the file is converted piece by piece, the model's resampler runs too) in a child
process and reads the child's peak resident memory (``ru_maxrss``). ``neutone inspect`` on the
same model is the floor: Python, torch and the loaded model alone.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile

ROOT = Path(__file__).parents[1]
FILE_RATE = 48000
BLOCK_FRAMES = 1 << 20


def write_test_file(path: Path, minutes: float) -> None:
    """A stereo float WAV of ``minutes`` at 48 kHz, written in blocks."""
    rng = np.random.default_rng(0)
    total = int(minutes * 60 * FILE_RATE)
    with soundfile.SoundFile(str(path), "w", FILE_RATE, 2, "FLOAT") as file:
        for start in range(0, total, BLOCK_FRAMES):
            t = np.arange(start, min(start + BLOCK_FRAMES, total)) / FILE_RATE
            tone = 0.4 * np.sin(2 * np.pi * 110 * 2 ** ((t % 60) / 10) * (t % 60))
            noise = 0.2 * rng.standard_normal(t.size) * ((t % 0.5) < 0.1)
            file.write(np.stack([tone, tone * 0.5 + noise], 1).astype(np.float32))


def export_model(out_dir: Path) -> None:
    """Export ``examples/sdk_style/rave_like.py:build`` without its export checks (they are not measured)."""
    from neutone_core.export import save_neutone_model
    from neutone_core.plugins import get_registry
    from neutone_core.tools.sources import load_wrapper_from_file

    wrapper = load_wrapper_from_file(f"{ROOT}/examples/sdk_style/rave_like.py:build")
    save_neutone_model(wrapper, out_dir, skip_checks=set(get_registry().checks))


def peak_child_rss_mb(args: list[str]) -> tuple[float, float]:
    """Run ``neutone ARGS`` in a child; its peak resident memory (MiB) and CPU time (s, user +
    system: wall time on a shared machine says little)."""
    subprocess.run([sys.executable, "-m", "neutone_core", *args], check=True, capture_output=True)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_maxrss / 1024.0, usage.ru_utime + usage.ru_stime


def main() -> None:
    """Measure and print one line per case (each in a fresh child, so each peak is its own)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=10.0)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        write_test_file(work / "long.wav", options.minutes)
        export_model(work / "model")
        model = str(work / "model" / "model.nm")
        render = ["render", model, str(work / "long.wav"), "-o", str(work / "out.wav"), "--sr", "44100", "--bs", "512"]
        cases = [
            ("floor: neutone inspect", ["inspect", model]),
            ("render", render),
            ("render --plot", [*render, "--plot", str(work / "plot.png")]),
        ]
        print(f"{options.minutes:g} min stereo 48 kHz file ({(work / 'long.wav').stat().st_size / 2**20:.0f} MiB), "
              f"host 44100 Hz / 512, model rave_like")
        for name, args in cases:
            # each case in its own grandchild so RUSAGE_CHILDREN's maximum is that case's alone
            code = (
                "import sys; sys.path.insert(0, sys.argv[1]); from benchmarks.bench_render_memory import peak_child_rss_mb;"
                "import json; print(json.dumps(peak_child_rss_mb(sys.argv[2:])))"
            )
            done = subprocess.run([sys.executable, "-c", code, str(ROOT), *args], check=True, capture_output=True, text=True)
            peak, seconds = json.loads(done.stdout)
            print(f"  {name:<24} peak RSS {peak:7.0f} MiB, {seconds:6.1f} s CPU")


if __name__ == "__main__":
    main()
