"""Resampler quality, latency and speed against soxr, julius and the reference SDK.

Quality: the issue's case, host 48 kHz / blocks of 512, a 44.1 kHz pass-through model, the
round trip 48000 -> 44100 -> 48000 through the exported (scripted) graph, per preset. Per sine:
SNR against the input delayed by the reported delay (settled part), gain (RMS ratio, dB) and
the largest alias/image product (Kaiser beta 38 spectrum, everything 40 bins away from the
tone, dBc). soxr runs the same round trip as two streams fed 512-sample blocks; its latency
is the most output it owes the host at any block (what a FIFO must add to return n samples
for n). julius runs offline (it has no streaming form); its latency is the two kernels'
half-widths, the least any streaming use could need.

Speed: per host call, stereo, 512, single thread, resampler and FIFO active (44.1 kHz model,
native blocks of 512), each case timed call by call with ``perf_counter_ns`` in interleaved
rounds; medians. The reference is the real ``neutone_sdk`` (``SampleQueueWrapper`` around the
same pass-through model) when importable (``--sdk-path`` points at an unpacked wheel); its
dependencies that the timed path never touches (torchaudio, requests, jsonschema, tqdm,
soundfile) are stubbed when missing. Without it, a stand-in reimplements its published
algorithm (each block stretched by 4-point Hermite interpolation to the rounded block length),
clearly labelled.

Run: ``python -m benchmarks.bench_resample [--json PATH] [--write-results] [--sdk-path DIR]``.
"""

import argparse
import json
import math
import statistics
import sys
import time
import types
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import julius
import numpy as np
import soxr
import torch
from torch import Tensor, nn

from neutone_core import compose
from neutone_core.testing import PassThroughWrapper
from neutone_core.tools.host import impulse_delay, stream

HOST_RATE = 48000
MODEL_RATE = 44100
BLOCK = 512
FREQUENCIES = [20, 100, 1000, 5000, 10000, 15000, 16000, 18000, 20000]
N = 48000
SETTLE = 6000
RESULTS = Path(__file__).with_name("RESULTS.md")
SECTION = "## Resampler quality and speed"


def tone(frequency: float, n: int = N, rate: int = HOST_RATE) -> np.ndarray:
    return np.sin(2 * np.pi * frequency * np.arange(n) / rate)


def measure(x: np.ndarray, y: np.ndarray) -> Dict[str, float]:
    """SNR (dB), gain (dB) and largest spur (dBc) of ``y`` against the aligned input ``x``."""
    x = x[SETTLE:-SETTLE]
    y = y[SETTLE:-SETTLE]
    noise = np.sum((y - x) ** 2)
    window = np.kaiser(len(y), 38.0)
    spectrum = np.abs(np.fft.rfft(y * window))
    peak = int(np.argmax(spectrum))
    tone_level = spectrum[peak]
    spectrum[max(peak - 40, 0) : peak + 41] = 0
    return {
        "snr_db": float(10 * np.log10(np.sum(x**2) / max(noise, 1e-30))),
        "gain_db": float(20 * np.log10(np.std(y) / np.std(x))),
        "spur_dbc": float(20 * np.log10(max(spectrum.max(), 1e-30) / tone_level)),
    }


def ours(quality: str) -> Tuple[Callable[[np.ndarray], np.ndarray], int, int]:
    """Round trip through the exported graph; returns (run, reported delay, measured delay)."""
    wrapper = PassThroughWrapper(native_sample_rates=[MODEL_RATE])
    model = compose(wrapper, adapter_options={"resample": {"quality": quality}}).scripted
    measured = impulse_delay(model, HOST_RATE, BLOCK, offset=7)
    delay = model.calc_total_delay_samples()

    def run(x: np.ndarray) -> np.ndarray:
        audio = torch.tensor(np.stack([x, x]), dtype=torch.float32)
        y = stream(model, audio, HOST_RATE, BLOCK)[0].numpy().astype(np.float64)
        return np.concatenate([y[delay:], np.zeros(delay)])

    return run, delay, measured


def soxr_round_trip(quality: str) -> Tuple[Callable[[np.ndarray], np.ndarray], int]:
    """Two soxr streams fed host blocks; returns (run, latency in host samples)."""

    def run_with_latency(x: np.ndarray) -> Tuple[np.ndarray, int]:
        down = soxr.ResampleStream(HOST_RATE, MODEL_RATE, 1, dtype="float64", quality=quality)
        up = soxr.ResampleStream(MODEL_RATE, HOST_RATE, 1, dtype="float64", quality=quality)
        pieces = []
        produced = 0
        owed = 0
        for start in range(0, len(x), BLOCK):
            last = start + BLOCK >= len(x)
            y = up.resample_chunk(down.resample_chunk(x[start : start + BLOCK], last=last), last=last)
            pieces.append(y)
            produced += len(y)
            owed = max(owed, min(start + BLOCK, len(x)) - produced)
        return np.concatenate(pieces)[: len(x)], owed

    latency = run_with_latency(np.zeros(N))[1]
    return (lambda x: run_with_latency(x)[0]), latency


def julius_round_trip() -> Tuple[Callable[[np.ndarray], np.ndarray], float]:
    """julius.resample_frac both ways (offline, time-aligned); returns (run, half-widths in
    host samples, the least a streaming use would add)."""
    down = julius.ResampleFrac(HOST_RATE, MODEL_RATE)
    up = julius.ResampleFrac(MODEL_RATE, HOST_RATE)
    latency = 2 * down.zeros / (down.rolloff * MODEL_RATE) * HOST_RATE

    def run(x: np.ndarray) -> np.ndarray:
        y = up(down(torch.tensor(x, dtype=torch.float32)[None]))[0].numpy().astype(np.float64)
        return np.concatenate([y, np.zeros(max(0, len(x) - len(y)))])[: len(x)]

    return run, latency


def quality_table(runs: Dict[str, Callable[[np.ndarray], np.ndarray]]) -> Dict[str, Dict[str, Dict[str, float]]]:
    table: Dict[str, Dict[str, Dict[str, float]]] = {}
    for name, run in runs.items():
        table[name] = {str(f): measure(tone(f), run(tone(f))) for f in FREQUENCIES}
    return table


# --- speed ------------------------------------------------------------------------------------
def import_sdk(sdk_path: Optional[str]) -> Optional[types.ModuleType]:
    """The real neutone_sdk, stubbing the imports its realtime path never uses."""
    if sdk_path:
        sys.path.insert(0, sdk_path)
    for name in ("requests", "tqdm", "soundfile", "jsonschema", "jsonschema._keywords", "torchaudio", "torchaudio.transforms"):
        try:
            __import__(name)
        except ImportError:
            stub = types.ModuleType(name)
            stub.__dict__.update(
                validate=lambda *a, **k: None, ValidationError=Exception, anyOf=None, tqdm=lambda x, *a, **k: x, Resample=None
            )
            sys.modules[name] = stub
    sys.modules["torchaudio"].transforms = sys.modules["torchaudio.transforms"]
    try:
        import neutone_sdk  # noqa: F401
        from neutone_sdk import sqw  # noqa: F401
    except Exception:
        return None
    return sys.modules["neutone_sdk"]


def sdk_passthrough(sdk: types.ModuleType) -> nn.Module:
    """A stereo pass-through SDK wrapper, native 44.1 kHz and blocks of 512."""
    from neutone_sdk.parameter import ContinuousNeutoneParameter

    class Identity(nn.Module):
        def forward(self, x: Tensor) -> Tensor:
            return x

    class PassThrough(sdk.WaveformToWaveformBase):
        def get_model_name(self) -> str:
            return "pass-through"

        def get_model_authors(self) -> List[str]:
            return ["neutone"]

        def get_model_short_description(self) -> str:
            return "pass-through"

        def get_model_long_description(self) -> str:
            return "pass-through"

        def get_technical_description(self) -> str:
            return "pass-through"

        def get_technical_links(self) -> Dict[str, str]:
            return {}

        def get_tags(self) -> List[str]:
            return ["test"]

        def get_model_version(self) -> str:
            return "1.0.0"

        def is_experimental(self) -> bool:
            return False

        def get_neutone_parameters(self) -> List[Any]:
            return [ContinuousNeutoneParameter("p0", "unused", 0.5)]

        @torch.jit.export
        def is_input_mono(self) -> bool:
            return False

        @torch.jit.export
        def is_output_mono(self) -> bool:
            return False

        @torch.jit.export
        def get_native_sample_rates(self) -> List[int]:
            return [44100]

        @torch.jit.export
        def get_native_buffer_sizes(self) -> List[int]:
            return [512]

        def do_forward_pass(self, x: Tensor, params: Dict[str, Tensor]) -> Tensor:
            return self.model(x)

    return PassThrough(Identity())


def sdk_model(sdk: types.ModuleType) -> Tuple[nn.Module, str]:
    """The SDK's SampleQueueWrapper around a stereo pass-through at 44.1 kHz / 512, scripted."""
    model = torch.jit.script(sdk.sqw.SampleQueueWrapper(sdk_passthrough(sdk)))
    model.set_daw_sample_rate_and_buffer_size(HOST_RATE, BLOCK)
    package = Path(sdk.__file__).parent.parent
    versions = [d.name.removesuffix(".dist-info").split("-")[1] for d in package.glob("neutone_sdk-*.dist-info")]
    version = versions[0] if versions else "installed"
    return model, f"neutone_sdk {version} SampleQueueWrapper + Inplace4pHermiteResampler (real SDK code)"


class HermiteStandIn(nn.Module):
    """Stand-in for the SDK's per-block resampler: each block is stretched by 4-point Hermite
    interpolation to the rounded block length (in and out), around a pass-through.
    Shape: ``(2, n) -> (2, n)``."""

    def __init__(self, host_rate: int, model_rate: int, block: int) -> None:
        super().__init__()
        model_block = int(round(block * model_rate / host_rate))
        for name, (n_in, n_out) in {"down": (block, model_block), "up": (model_block, block)}.items():
            position = torch.arange(n_out, dtype=torch.float64) * (n_in - 1) / max(n_out - 1, 1)
            base = position.floor().long()
            t = (position - base).float()
            weights = torch.stack(
                [
                    (-0.5 * t + t * t - 0.5 * t * t * t),
                    (1 - 2.5 * t * t + 1.5 * t * t * t),
                    (0.5 * t + 2 * t * t - 1.5 * t * t * t),
                    (-0.5 * t * t + 0.5 * t * t * t),
                ]
            )
            index = torch.stack([(base + k - 1).clamp(0, n_in - 1) for k in range(4)])
            self.register_buffer(f"{name}_index", index.reshape(-1))
            self.register_buffer(f"{name}_weights", weights)
            self.register_buffer(f"{name}_gathered", torch.zeros(2, 4 * n_out))
            self.register_buffer(f"{name}_out", torch.zeros(2, n_out))
        self.model_block = model_block

    def _stretch(self, x: Tensor, index: Tensor, weights: Tensor, gathered: Tensor, out: Tensor) -> Tensor:
        torch.index_select(x, 1, index, out=gathered)
        torch.sum(gathered.view(2, 4, -1) * weights, 1, out=out)
        return out

    def forward(self, x: Tensor) -> Tensor:
        model_in = self._stretch(x, self.down_index, self.down_weights, self.down_gathered, self.down_out)
        return self._stretch(model_in, self.up_index, self.up_weights, self.up_gathered, self.up_out)


def sdk_round_trip(sdk: types.ModuleType) -> Tuple[Callable[[np.ndarray], np.ndarray], int]:
    """The reference SDK's round trip in host blocks, aligned by the delay it reports."""
    model, _ = sdk_model(sdk)
    delay = int(model.calc_buffering_delay_samples())

    def run(x: np.ndarray) -> np.ndarray:
        model.reset()
        padded = np.concatenate([x, np.zeros(-len(x) % BLOCK)])  # the SDK takes exactly its block size
        audio = torch.tensor(np.stack([padded, padded]), dtype=torch.float32)
        y = torch.cat([model.forward(audio[:, i : i + BLOCK]).clone() for i in range(0, audio.size(1), BLOCK)], 1)
        y = y[0].numpy().astype(np.float64)
        return np.concatenate([y[delay:], np.zeros(delay)])[: len(x)]

    return run, delay


def time_calls(cases: Dict[str, Callable[[], Any]], rounds: int, calls: int) -> Dict[str, float]:
    """Median per-call time (us) per case, interleaved rounds."""
    samples: Dict[str, List[float]] = {name: [] for name in cases}
    with torch.inference_mode():
        for call in cases.values():
            for _ in range(200):
                call()
        for _ in range(rounds):
            for name, call in cases.items():
                for _ in range(calls):
                    start = time.perf_counter_ns()
                    call()
                    samples[name].append((time.perf_counter_ns() - start) / 1000)
    return {name: statistics.median(values) for name, values in samples.items()}


def speed(sdk_path: Optional[str], rounds: int, calls: int) -> Dict[str, Any]:
    torch.set_num_threads(1)
    x = torch.randn(2, BLOCK)
    graphs = {
        "ours (resample + fifo)": ([MODEL_RATE], [BLOCK], HOST_RATE),
        "ours (resample, model takes any block)": ([MODEL_RATE], [], HOST_RATE),
        "ours inactive (host at the native rate) + fifo": ([HOST_RATE], [BLOCK], HOST_RATE),
        "no resampler in the plan + fifo": ([], [BLOCK], HOST_RATE),
    }
    cases: Dict[str, Callable[[], Any]] = {}
    for name, (rates, sizes, host_rate) in graphs.items():
        model = compose(PassThroughWrapper(native_sample_rates=rates, native_buffer_sizes=sizes)).scripted
        model.prepare(host_rate, BLOCK, 2, 0, 0)
        cases[name] = (lambda m: lambda: m(x))(model)
    sdk = import_sdk(sdk_path)
    if sdk is not None:
        reference, label = sdk_model(sdk)
        cases[label] = (lambda m: lambda: m.forward(x))(reference)
    else:
        label = "SDK stand-in: per-block 4-point Hermite both ways, kernel only (SDK not importable; no queue or knobs)"
        stand_in = torch.jit.script(HermiteStandIn(HOST_RATE, MODEL_RATE, BLOCK))
        cases[label] = lambda: stand_in(x)
    medians = time_calls(cases, rounds, calls)
    ratio = medians["ours (resample + fifo)"] / medians[label]
    return {"median_us": medians, "reference": label, "ratio_to_reference": ratio, "target_ratio": 0.75}


# --- report -----------------------------------------------------------------------------------
def report(result: Dict[str, Any]) -> str:
    lines = [
        SECTION,
        "",
        "`python -m benchmarks.bench_resample --write-results` (host 48 kHz, blocks of 512, 44.1 kHz "
        "pass-through model, round trip 48000 -> 44100 -> 48000; 2-core machine shared with other jobs). "
        f"Speed reference: {result['speed']['reference']}"
        + (
            " from the PyPI wheel unpacked to a folder (`pip download --no-deps neutone_sdk`, unzip, `--sdk-path`), "
            "imported into this process (torchaudio, requests, jsonschema, tqdm, soundfile stubbed: not on its realtime path)."
            if "real SDK" in result["speed"]["reference"]
            else "."
        ),
        "",
        "### Quality (SNR dB / gain dB / largest alias or image product dBc)",
        "",
        "| Hz | " + " | ".join(result["quality"]) + " |",
        "|---:|" + "---|" * len(result["quality"]),
    ]
    for f in FREQUENCIES:
        cells = []
        for name in result["quality"]:
            m = result["quality"][name][str(f)]
            cells.append(f"{m['snr_db']:.1f} / {m['gain_db']:+.4f} / {m['spur_dbc']:.0f}")
        lines.append(f"| {f} | " + " | ".join(cells) + " |")
    lines += ["", "### Round-trip latency (host samples at 48 kHz)", "", "| resampler | latency | target |", "|---|---:|---:|"]
    for name, (value, target) in result["latency"].items():
        lines.append(f"| {name} | {value} | {target} |")
    speed_result = result["speed"]
    lines += [
        "",
        "### Speed per host call (stereo, 512, single thread; medians, same run)",
        "",
        "| case | us |",
        "|---|---:|",
    ]
    for name, value in speed_result["median_us"].items():
        lines.append(f"| {name} | {value:.1f} |")
    medians = speed_result["median_us"]
    fifo_us = medians["ours (resample + fifo)"] - medians["ours (resample, model takes any block)"]
    resampler_us = medians["ours (resample, model takes any block)"] - medians["no resampler in the plan + fifo"]
    inactive_us = medians["ours inactive (host at the native rate) + fifo"] - medians["no resampler in the plan + fifo"]
    lines += [
        "",
        f"Ratio ours (resample + fifo) / reference: **{speed_result['ratio_to_reference']:.2f}** "
        f"(target <= {speed_result['target_ratio']}). Split: root, mixer and model "
        f"{medians['no resampler in the plan + fifo']:.1f} us; resampler both ways {resampler_us:.1f} us; "
        f"FIFO turning 470/471-sample blocks into 512 {fifo_us:.1f} us; an inactive resampler {inactive_us:.1f} us.",
        "",
        "### Against the targets",
        "",
    ]
    lines += [f"- {line}" for line in result["verdicts"]]
    return "\n".join(lines) + "\n"


def verdicts(result: Dict[str, Any]) -> List[str]:
    high = result["quality"]["ours high"]
    low = result["quality"]["ours low-latency"]
    snr_16k = min(high[str(f)]["snr_db"] for f in FREQUENCIES if f <= 16000)
    gain = max(abs(high[str(f)]["gain_db"]) for f in FREQUENCIES if f <= 18000)
    spur = max(high[str(f)]["spur_dbc"] for f in FREQUENCIES if f <= 18000)
    low_snr = min(low[str(f)]["snr_db"] for f in FREQUENCIES if f <= 10000)
    latency = result["latency"]
    ratio = result["speed"]["ratio_to_reference"]

    def mark(ok: bool) -> str:
        return "met" if ok else "NOT met"

    return [
        f"high, SNR 20 Hz..16 kHz >= 90 dB: worst {snr_16k:.1f} dB ({mark(snr_16k >= 90)})",
        f"high, SNR at 18 kHz >= 60 dB: {high['18000']['snr_db']:.1f} dB ({mark(high['18000']['snr_db'] >= 60)})",
        f"high, gain within 0.05 dB up to 18 kHz: worst {gain:.4f} dB ({mark(gain <= 0.05)})",
        f"high, alias/image products <= -90 dBc up to 18 kHz: worst {spur:.0f} dBc ({mark(spur <= -90)})",
        f"high, round-trip latency <= 256: {latency['ours high'][0]} ({mark(latency['ours high'][0] <= 256)})",
        f"low-latency, latency <= 64: {latency['ours low-latency'][0]} ({mark(latency['ours low-latency'][0] <= 64)})",
        f"low-latency, SNR up to 10 kHz >= 60 dB: worst {low_snr:.1f} dB ({mark(low_snr >= 60)})",
        f"speed, <= 0.75x the reference: {ratio:.2f}x ({mark(ratio <= 0.75)})",
    ]


def write_results(text: str) -> None:
    content = RESULTS.read_text()
    start = content.index(SECTION)
    end = content.find("\n## ", start + len(SECTION))
    end = len(content) if end < 0 else end + 1
    RESULTS.write_text(content[:start] + text + ("\n" if end < len(content) else "") + content[end:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="write the figures to this file")
    parser.add_argument("--write-results", action="store_true", help="rewrite the section of benchmarks/RESULTS.md")
    parser.add_argument("--sdk-path", help="directory holding the neutone_sdk package (an unpacked wheel)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=1000)
    args = parser.parse_args()

    high, high_delay, high_measured = ours("high")
    low, low_delay, low_measured = ours("low-latency")
    soxr_hq, soxr_hq_latency = soxr_round_trip("HQ")
    soxr_vhq, soxr_vhq_latency = soxr_round_trip("VHQ")
    julius_run, julius_latency = julius_round_trip()
    runs = {"ours high": high, "ours low-latency": low, "soxr HQ": soxr_hq, "soxr VHQ": soxr_vhq, "julius": julius_run}
    latency: Dict[str, Tuple[int, str]] = {}
    sdk = import_sdk(args.sdk_path)
    if sdk is not None:
        sdk_run, sdk_delay = sdk_round_trip(sdk)
        runs["neutone_sdk"] = sdk_run
        latency["neutone_sdk (reported)"] = (sdk_delay, "")
    result: Dict[str, Any] = {
        "quality": quality_table(runs),
        "latency": latency
        | {
            "ours high": (high_delay, "<= 256"),
            "ours low-latency": (low_delay, "<= 64"),
            "soxr HQ (streaming, 512 blocks)": (soxr_hq_latency, ""),
            "soxr VHQ (streaming, 512 blocks)": (soxr_vhq_latency, ""),
            "julius (half-widths, offline only)": (math.ceil(julius_latency), ""),
        },
        "impulse_measured": {"ours high": high_measured, "ours low-latency": low_measured},
        "speed": speed(args.sdk_path, args.rounds, args.calls),
    }
    result["verdicts"] = verdicts(result)
    text = report(result)
    print(text)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    if args.write_results:
        write_results(text)


if __name__ == "__main__":
    main()
