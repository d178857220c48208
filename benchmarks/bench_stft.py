"""Cost of the STFT adapter per host block, against the offline floor, measured in one run.

For each configuration (n_fft / hop) the spectral pass-through (``examples/spectral_passthrough.py``)
is exported to a ``model.nm``, loaded back and configured as a host does (48 kHz, blocks of
512, stereo); 10 s of stereo noise stream through it block by block with the knobs passed.
The floor is ``torch.stft`` + ``torch.istft`` run once over the same 10 s (Hann, centred), per
512 samples. Two more figures, timed alike, say where the time goes: the same host graph
around a waveform pass-through with the FIFO the STFT asks for (root, mixer, FIFO with its
look-behind: everything but the STFT stage), and the two ``torch.fft`` calls one block makes
(``rfft`` then ``irfft`` of its frames, both channels, ``out=``). Everything is thread CPU
time (``time.thread_time_ns``), one thread, in ``--rounds`` interleaved rounds; the table gives
the median with the min-max spread, and the ratio's median over the rounds.

A second table gives the streamed figure by the frames the model gets: complex, or magnitude
and log-magnitude (the stage splits each frame into magnitudes and a unit phasor and joins them
back), the same exported pass-through otherwise, timed alike.

A third table gives what one ``torch.fft`` rfft + irfft pair costs (both channels, ``out=``)
by frames per channel per call: the cost is mostly per call, whatever the batch.

A fourth table gives the reconstruction of an identity model over the issue's grid (n_fft 256
to 4096, 50 % and 75 % overlap, Hann and sqrt-Hann, host blocks of 512 and 1000) for each
frame representation, through the composed, scripted graph: the worst SNR and the largest
absolute error against the input delayed by the reported delay.

Run: ``python -m benchmarks.bench_stft [--rounds 5] [--seconds 10]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch

from neutone_core import compose, load_neutone_model, save_neutone_model
from neutone_core.plugins import get_registry
from neutone_core.testing import PassThroughWrapper
from neutone_core.tools.host import stream
from neutone_core.tools.sources import load_wrapper_from_file

RATE = 48000
BLOCK = 512
EXAMPLE = Path(__file__).parents[1] / "examples" / "spectral_passthrough.py"
CONFIGURATIONS = ((2048, 512, 2.0), (1024, 256, 1.5))
"""(n_fft, hop, target ratio to the offline floor)."""


def thread_us(call: Callable[[], object]) -> float:
    """Thread CPU time of one ``call`` in microseconds."""
    start = time.thread_time_ns()
    call()
    return (time.thread_time_ns() - start) / 1e3


def exported(wrapper: object, folder: Path) -> torch.jit.ScriptModule:
    """``wrapper`` exported to ``folder/model.nm`` and loaded back, configured for the host.

    The checks are skipped: they do not change the graph in the file, and the tests run them."""
    save_neutone_model(wrapper, folder, skip_checks=set(get_registry().checks))
    model, _ = load_neutone_model(folder)
    model.prepare(RATE, BLOCK, 2, 0, 0)
    return model


def streaming(model: torch.jit.ScriptModule, audio: torch.Tensor, knobs: torch.Tensor) -> Callable[[], None]:
    """Stream every whole block of ``audio`` through ``model`` (state carried, as a host does)."""
    starts = range(0, audio.size(1) - BLOCK + 1, BLOCK)
    blocks = [(audio[:, s : s + BLOCK], knobs[:, s : s + BLOCK]) for s in starts]

    def run() -> None:
        with torch.no_grad():
            for x, p in blocks:
                model(x, p)

    return run


MAGNITUDE_FRAMES = ("magnitude", "log-magnitude")
"""The representations streamed besides complex frames, in the second table."""


def case(n_fft: int, hop: int, audio: torch.Tensor, folder: Path) -> dict[str, Callable[[], None]]:
    """The timed calls of one configuration (each over the whole signal)."""
    knobs = torch.rand(4, audio.size(1), generator=torch.Generator().manual_seed(1))
    pass_through = type(load_wrapper_from_file(f"{EXAMPLE}:SpectralPassThroughWrapper"))
    wrapper = pass_through(n_fft, hop)
    spectral = exported(wrapper, folder / f"spectral-{n_fft}")
    magnitudes = {name: exported(pass_through(n_fft, hop, "hann", name), folder / f"{name}-{n_fft}") for name in MAGNITUDE_FRAMES}
    config = wrapper.stft_config()
    sizes = list(config.outer_block_sizes())
    around = PassThroughWrapper(native_buffer_sizes=sizes, look_behind_samples=config.look_behind_samples)
    waveform = exported(around, folder / f"around-{n_fft}")
    window = torch.hann_window(n_fft)

    def offline() -> None:
        spectrum = torch.stft(audio, n_fft, hop, window=window, return_complex=True)
        torch.istft(spectrum, n_fft, hop, window=window, length=audio.size(1))

    frames = torch.rand(2, BLOCK // hop if BLOCK >= hop else 1, n_fft)
    spectrum = torch.fft.rfft(frames, dim=2)
    n_blocks = audio.size(1) // BLOCK

    def ffts() -> None:
        for _ in range(n_blocks):
            torch.fft.rfft(frames, dim=2, out=spectrum)
            torch.fft.irfft(spectrum, n=n_fft, dim=2, out=frames)

    return {
        "stft": streaming(spectral, audio, knobs),
        "offline": offline,
        "around": streaming(waveform, audio, knobs),
        "ffts": ffts,
    } | {name: streaming(model, audio, knobs) for name, model in magnitudes.items()}


FFT_FRAMES = (1, 2, 8, 64)
"""Frames per channel per call in the per-call table (a 512-sample block holds 1 or 2)."""


def fft_calls(n_fft: int, frames: int, calls: int) -> Callable[[], None]:
    """``calls`` rfft + irfft pairs of ``frames`` frames per channel, both channels, ``out=``."""
    signal = torch.rand(2, frames, n_fft)
    spectrum = torch.fft.rfft(signal, dim=2)

    def run() -> None:
        for _ in range(calls):
            torch.fft.rfft(signal, dim=2, out=spectrum)
            torch.fft.irfft(spectrum, n=n_fft, dim=2, out=signal)

    return run


def per_call_table(rounds: int, calls: int = 200) -> list[str]:
    """Markdown rows: the µs of one rfft + irfft pair by frames per call, and per frame."""
    cases = {(n_fft, frames): fft_calls(n_fft, frames, calls) for n_fft, _, _ in CONFIGURATIONS for frames in FFT_FRAMES}
    for call in cases.values():
        call()
    times: dict[tuple[int, int], list[float]] = {key: [] for key in cases}
    for _ in range(rounds):
        for key, call in cases.items():
            times[key].append(thread_us(call) / calls)
    rows = []
    for (n_fft, frames), values in times.items():
        per_frame = [value / frames for value in values]
        rows.append(f"| {n_fft} | {frames} | {spread(values)} | {spread(per_frame)} |")
    return rows


def reconstruction(representation: str) -> tuple[float, float]:
    """Worst SNR (dB) and largest absolute error of an identity model over the grid."""
    worst_snr, largest = float("inf"), 0.0
    identity = type(load_wrapper_from_file(f"{EXAMPLE}:SpectralPassThroughWrapper"))
    for n_fft in (256, 512, 1024, 2048, 4096):
        for hop in (n_fft // 2, n_fft // 4):
            for window in ("hann", "sqrt-hann"):
                model = compose(identity(n_fft, hop, window, representation)).scripted
                for block in (512, 1000):
                    n = 96000 - 96000 % block
                    x = (torch.rand(2, n, generator=torch.Generator().manual_seed(n_fft + hop + block)) - 0.5) * 1.6
                    y = stream(model, x, RATE, block)
                    delay = model.calc_total_delay_samples()
                    error = (y[:, delay:] - x[:, :-delay]).double()
                    snr = float(10 * torch.log10(x[:, :-delay].double().pow(2).sum() / error.pow(2).sum()))
                    worst_snr, largest = min(worst_snr, snr), max(largest, float(error.abs().max()))
    return worst_snr, largest


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.1f} ({min(values):.1f}-{max(values):.1f})"


def main(argv: list[str]) -> int:
    """Time every configuration; print the table and whether each target is met."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (>= 3)")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the signal")
    args = parser.parse_args(argv)
    if args.rounds < 3:
        parser.error("--rounds must be >= 3 (a median with its spread)")
    torch.set_num_threads(1)
    n = int(args.seconds * RATE)
    audio = torch.rand(2, n, generator=torch.Generator().manual_seed(0)) - 0.5
    per_block = BLOCK / n  # offline figures over the whole signal, per 512 samples
    blocks = n // BLOCK
    with tempfile.TemporaryDirectory() as temp:
        cases = {(n_fft, hop): case(n_fft, hop, audio, Path(temp)) for n_fft, hop, _ in CONFIGURATIONS}
        for calls in cases.values():  # warm up (TorchScript optimises on the first calls)
            for call in calls.values():
                call()
        times: dict[tuple[int, int], dict[str, list[float]]] = {key: {name: [] for name in calls} for key, calls in cases.items()}
        for _ in range(args.rounds):
            for key, calls in cases.items():
                for name, call in calls.items():
                    total = thread_us(call)
                    times[key][name].append(total * per_block if name == "offline" else total / blocks)
    print(f"torch {torch.__version__}, 1 thread, {args.seconds:g} s of stereo noise at {RATE} Hz, blocks of {BLOCK}, "
          f"{args.rounds} rounds; us of thread CPU time per 512-sample block, median (min-max)")
    print()
    print("| n_fft / hop | streamed (exported pass-through) | offline stft + istft | ratio | target | "
          "host graph without the STFT stage | the block's rfft + irfft | rest of the STFT stage |")
    print("|---|---|---|---|---|---|---|---|")
    verdicts = []
    for n_fft, hop, target in CONFIGURATIONS:
        t = times[(n_fft, hop)]
        ratios = [s / o for s, o in zip(t["stft"], t["offline"], strict=True)]
        rest = [s - a - f for s, a, f in zip(t["stft"], t["around"], t["ffts"], strict=True)]
        ratio = statistics.median(ratios)
        print(f"| {n_fft} / {hop} | {spread(t['stft'])} | {spread(t['offline'])} | {ratio:.2f} ({min(ratios):.2f}-"
              f"{max(ratios):.2f}) | <= {target:.1f}x | {spread(t['around'])} | {spread(t['ffts'])} | {spread(rest)} |")
        verdicts.append(f"- {n_fft} / {hop}: {ratio:.2f}x the offline floor, target {target:.1f}x: "
                        f"{'met' if ratio <= target else 'not met'}")
    print()
    print("\n".join(verdicts))
    print()
    print("| n_fft / hop | complex frames | " + " | ".join(f"{name} frames" for name in MAGNITUDE_FRAMES) + " |")
    print("|---|---|" + "---|" * len(MAGNITUDE_FRAMES))
    for n_fft, hop, _ in CONFIGURATIONS:
        t = times[(n_fft, hop)]
        print(f"| {n_fft} / {hop} | {spread(t['stft'])} | " + " | ".join(spread(t[name]) for name in MAGNITUDE_FRAMES) + " |")
    print()
    print("| n_fft | frames per channel per call | rfft + irfft, us per call | us per frame |")
    print("|---|---|---|---|")
    print("\n".join(per_call_table(args.rounds)))
    print()
    print("| frames | worst SNR over the grid | largest abs error |")
    print("|---|---|---|")
    for representation in ("complex", "magnitude", "log-magnitude"):
        snr, error = reconstruction(representation)
        print(f"| {representation} | {snr:.1f} dB | {error:.2g} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
