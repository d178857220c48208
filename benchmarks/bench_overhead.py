"""Host-call overhead against the reference SDK and against a floor, for five host settings.

A stereo host at 48000 Hz with blocks of 512 samples passes knobs on every call, to a model that
takes stereo at 48 kHz and any block (native), mono in and out at 48 kHz (the mixer averages
and duplicates), blocks of 2048 at 48 kHz (FIFO), stereo at 44.1 kHz and any block (resampler),
and blocks of 2048 at 44.1 kHz (resampler and FIFO, the RAVE-like setting). The model is the
pass-through scaling its input in place by its one knob (``KnobGainWrapper``), the same on
both sides: a model that ignored its knobs would let TorchScript drop the knob dictionary our
graph builds, while the SDK writes its into an attribute and keeps the work.

- Ours: exported with ``save_neutone_model`` (every check) and reloaded with ``load_neutone_model``.
- The SDK: neutone_sdk's ``SampleQueueWrapper`` from its published wheel (``--sdk-path``) around
  the same model, exported as its ``save_neutone_model`` does, in the same process.
- The floor: a bare scripted module doing the arithmetic of our call on views made once, with
  no bookkeeping (:class:`Floor`): cleaning the audio and knobs, mixing, the resampler's
  copies, gather and products (``FloorCase`` of ``bench_resample``), the queue copies, the
  exact float64 knob mean and the model's product, with the shapes of each call.

Each case runs ``--calls`` calls per round, rounds interleaved, ``--runs`` runs, thread CPU time;
figures are the median over runs of each run's median round, with the min..max over runs;
ratios are taken per run (load hits both sides of a run alike). Cost growth (CPU time per host
sample for host blocks 32..8192 and model blocks 128..8192, ours and the SDK timed together at
every setting) is plotted to ``overhead_cost_growth.png``. Memory: bytes of the distinct
storages each configured stage holds after streaming, and the tensor objects (views included).

Run: ``python -m benchmarks.bench_overhead --sdk-path build/neutone_sdk [--write-results] [--json PATH]``.
"""

import argparse
import json
import statistics
import tempfile
import time
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Final, List, Optional, Tuple

import torch
from torch import Tensor, nn

from benchmarks.bench_resample import (
    BLOCK,
    HOST_RATE,
    MODEL_RATE,
    FloorCase,
    KnobGainWrapper,
    exported,
    filter_pair,
    growth,
    held_bytes,
    import_sdk,
    plot,
    sdk_label,
    sdk_model,
    spread,
    time_cases,
)
from benchmarks.results_file import shown_command, write_section
from neutone_core import compose
from neutone_core.parameters import MAX_N_PARAMS
from neutone_core.testing import count_allocations
from neutone_core.tools.host import stream

SECTION = "## Host-call overhead against the reference SDK (root, mixer, FIFO, resampler)"
PLOT = Path(__file__).with_name("overhead_cost_growth.png")
FLOOR_TARGET = 1.3
"""Largest accepted ratio of every case to its floor."""
FIFO_BLOCK = 2048
FLOOR_CYCLE = 640
"""Host calls after which 48000 -> 44100 Hz blocks of 512 feed a whole number of 2048-sample
model blocks (640 x 470.4 = 147 x 2048): the floor's recorded cycle."""
MEMORY_TARGET = 2_000_000
"""Bytes a model with resampler and FIFO may hold at 48000 Hz / 4096."""


@dataclass(frozen=True)
class Case:
    """A host setting: the model's native rates (Hz), block sizes (samples), channels, and the
    largest accepted ratio to the reference SDK."""

    key: str
    label: str
    native_rates: Tuple[int, ...]
    native_sizes: Tuple[int, ...]
    mono: bool
    sdk_target: float


CASES = [
    Case("native", "native (model at 48 kHz, any block)", (HOST_RATE,), (), False, 0.25),
    Case("mono", "mono model at 48 kHz", (HOST_RATE,), (), True, 0.25),
    Case("fifo", "FIFO 2048 at 48 kHz", (HOST_RATE,), (FIFO_BLOCK,), False, 0.5),
    Case("resample", "resample to 44.1 kHz, any block", (MODEL_RATE,), (), False, 0.5),
    Case("resample_fifo", "resample to 44.1 kHz + FIFO 2048 (RAVE-like)", (MODEL_RATE,), (FIFO_BLOCK,), False, 0.6),
]


# --- the floor --------------------------------------------------------------------------------
class Floor(nn.Module):
    """The arithmetic of one of our host calls on views made once (a recorded cycle of calls).

    Per call: ``nan_to_num`` of the audio into a buffer, ``nan_to_num`` and ``clamp_`` of the
    knobs; with ``mono`` the ``[0.5, 0.5]`` product to one channel; with ``resample`` the down
    filter's operations; with ``fifo`` the copies of audio and knobs into a queue and, on the
    calls where a native block is complete, the model on it and the copy of its output into an
    output queue; the model: the knobs copied to float64, one product with ``1 / n`` weights,
    the copy back, the audio scaled in place by the knob; then the up filter's operations and
    with ``mono`` the copy back to two channels. Shape: ``(2, 512), (4, 512) -> (2, 512)``.
    """

    mono: Final[bool]
    resample: Final[bool]
    fifo: Final[bool]
    kernel_views: List[List[Tensor]]
    mean_views: List[List[Tensor]]
    queue_views: List[List[Tensor]]
    runs: List[bool]

    def __init__(self, case: Case) -> None:
        super().__init__()
        self.mono = case.mono
        self.resample = case.native_rates[0] != HOST_RATE
        self.fifo = len(case.native_sizes) > 0
        channels = 1 if case.mono else 2
        self.audio = torch.zeros(2, BLOCK)
        self.knobs = torch.zeros(MAX_N_PARAMS, BLOCK)
        self.mono_audio = torch.zeros(1, BLOCK)
        self.stereo_out = torch.zeros(2, BLOCK)
        self.average_row = torch.full((1, 2), 0.5)
        down_counts = [
            (k * BLOCK * MODEL_RATE) // HOST_RATE - ((k - 1) * BLOCK * MODEL_RATE) // HOST_RATE for k in range(1, FLOOR_CYCLE + 1)
        ]
        counts = down_counts if self.resample else [BLOCK] * FLOOR_CYCLE
        self.kernel = FloorCase(*filter_pair(HOST_RATE, BLOCK)[:2], down_counts if self.resample else down_counts[:1], BLOCK)
        longest = max(counts + [FIFO_BLOCK])
        self.samples64 = torch.zeros(MAX_N_PARAMS, longest, dtype=torch.float64)
        self.weights = torch.zeros(longest, 1, dtype=torch.float64)
        self.mean64 = torch.zeros(MAX_N_PARAMS, 1, dtype=torch.float64)
        self.mean = torch.zeros(MAX_N_PARAMS, 1)
        self.knob = self.mean[0]
        self.queue_audio = torch.zeros(channels, 2 * FIFO_BLOCK)
        self.queue_knobs = torch.zeros(MAX_N_PARAMS, 2 * FIFO_BLOCK)
        self.output_queue = torch.zeros(channels, 2 * FIFO_BLOCK)
        model_block = FIFO_BLOCK if self.fifo else 0
        self.mean_views = [
            [self.samples64.narrow(1, 0, model_block or n), self.weights.narrow(0, 0, model_block or n)] for n in counts
        ]
        self.queue_views = [
            [
                self.queue_audio.narrow(1, 0, n),
                self.queue_knobs.narrow(1, 0, n),
                self.queue_audio.narrow(1, 0, FIFO_BLOCK),
                self.queue_knobs.narrow(1, 0, FIFO_BLOCK),
                self.output_queue.narrow(1, 0, FIFO_BLOCK),
                self.output_queue.narrow(1, 0, n),
            ]
            for n in counts
        ]
        done = [sum(counts[: k + 1]) // FIFO_BLOCK for k in range(len(counts))]
        self.runs = [done[k] > (done[k - 1] if k > 0 else 0) for k in range(len(counts))]
        self.kernel_views = self.kernel.views if self.resample else [[]]
        self.cycle = len(counts)
        self.call = 0

    def _model(self, audio: Tensor, knobs: Tensor, call: int) -> Tensor:
        m = self.mean_views[call]
        m[0].copy_(knobs)
        torch.mm(m[0], m[1], out=self.mean64)
        self.mean.copy_(self.mean64)
        return audio.mul_(self.knob)

    def forward(self, x: Tensor, params: Tensor) -> Tensor:
        call = self.call
        self.call = (call + 1) % self.cycle
        torch.nan_to_num(x, 0.0, 0.0, 0.0, out=self.audio)
        torch.nan_to_num(params, 0.5, 1.0, 0.0, out=self.knobs)
        self.knobs.clamp_(0.0, 1.0)
        audio = self.audio
        knobs = self.knobs
        if self.mono:
            torch.mm(self.average_row, audio, out=self.mono_audio)
            audio = self.mono_audio
        v = self.kernel_views[0]
        if self.resample:
            v = self.kernel_views[call]
            self.kernel.down_half(v, audio, knobs)
            audio = v[6]
            knobs = v[5]
        if self.fifo:
            q = self.queue_views[call]
            q[0].copy_(audio)
            q[1].copy_(knobs)
            if self.runs[call]:
                q[4].copy_(self._model(q[2], q[3], call))
            out = q[5]
        else:
            out = self._model(audio, knobs, call)
        if self.resample:
            out = self.kernel.up_half(v, out)
        if self.mono:
            self.stereo_out.copy_(out)
            out = self.stereo_out
        return out


# --- speed ------------------------------------------------------------------------------------
def speed(sdk: Optional[types.ModuleType], folder: Path, runs: int, rounds: int, calls: int) -> Dict[str, Any]:
    """Per case and side (ours, SDK, floor): CPU time per host call (us) in each run, and tensor
    allocations per call in steady state."""
    x = torch.randn(2, BLOCK)
    params = torch.rand(MAX_N_PARAMS, BLOCK)
    cases: Dict[str, Callable[[], Any]] = {}
    allocations: Dict[str, float] = {}
    for case in CASES:
        sides: Dict[str, Any] = {
            "ours": exported(list(case.native_sizes), list(case.native_rates), folder, True, True, case.mono),
            "floor": torch.jit.script(Floor(case)),
        }
        if sdk is not None:
            sides["SDK"] = sdk_model(sdk, list(case.native_sizes), case.native_rates, case.mono, True)
        for side, module in sides.items():
            if side != "floor":
                module.set_daw_sample_rate_and_buffer_size(HOST_RATE, BLOCK)
            call = (lambda m: lambda: m.forward(x, params))(module)
            cases[f"{case.key}|{side}"] = call
            with torch.no_grad():
                for _ in range(2 * FLOOR_CYCLE):
                    call()
                allocations[f"{case.key}|{side}"] = count_allocations(call, FLOOR_CYCLE) / FLOOR_CYCLE
    with torch.inference_mode():
        us = time_cases(cases, runs, rounds, calls)
    return {"us": us, "allocations": allocations}


# --- memory -----------------------------------------------------------------------------------
def stage_memory(block: int) -> Dict[str, Tuple[int, int]]:
    """Bytes of storage and tensor objects each stage holds on its own (without the stages inside
    it) after streaming a model with resampler and FIFO at 48000 Hz / ``block``, and the whole
    graph's."""
    wrapper = KnobGainWrapper(native_sample_rates=[MODEL_RATE], native_buffer_sizes=[FIFO_BLOCK])
    graph = compose(wrapper).graph
    stream(graph, torch.randn(2, 20 * block), HOST_RATE, block, torch.rand(MAX_N_PARAMS, 20 * block))
    host = graph.host
    parts: List[Tuple[str, nn.Module, Optional[nn.Module]]] = [("host buffers", host, host.chain)]
    stage: nn.Module = host.chain
    while hasattr(stage, "inner"):
        parts.append((str(stage.stage_name), stage, stage.inner))
        stage = stage.inner
    parts.append(("model stage", stage, None))
    result = {name: held_bytes(module, inside) for name, module, inside in parts}
    result["whole graph"] = held_bytes(graph)
    return result


# --- report -----------------------------------------------------------------------------------
def per_run(us: Dict[str, List[float]], a: str, b: str) -> List[float]:
    """Per-run ratio of two cases (the same run, so load hits both alike)."""
    return [p / q for p, q in zip(us[a], us[b], strict=True)]


def verdicts(result: Dict[str, Any]) -> List[str]:
    """One line per target: the figure measured and whether it meets the target."""

    def mark(ok: bool) -> str:
        return "met" if ok else "NOT met"

    us = result["speed"]["us"]
    lines = []
    for case in CASES:
        floor = statistics.median(per_run(us, f"{case.key}|ours", f"{case.key}|floor"))
        line = f"{case.label}: {floor:.2f}x its floor (<= {FLOOR_TARGET}: {mark(floor <= FLOOR_TARGET)})"
        if f"{case.key}|SDK" in us:
            sdk = statistics.median(per_run(us, f"{case.key}|ours", f"{case.key}|SDK"))
            bare = statistics.median(per_run(us, f"{case.key}|floor", f"{case.key}|SDK"))
            line += (
                f", {sdk:.2f}x the SDK (<= {case.sdk_target}: {mark(sdk <= case.sdk_target)}; the floor alone is "
                f"{bare:.2f}x the SDK, so this target needs {case.sdk_target / bare:.2f}x the floor)"
            )
        lines.append(line)
    slower = [
        f"{key} {int(x)}"
        for curves in result["growth"].values()
        for key, series in curves.items()
        if series.get("SDK")
        for x, ours, sdk in zip(series["x"], series["ours"], series["SDK"], strict=True)
        if ours >= sdk
    ]
    lines.append(f"cost growth, settings where ours is not faster: {', '.join(slower) or 'none'} ({mark(not slower)})")
    total = result["memory"]["48000 / 4096"]["whole graph"][0]
    lines.append(f"resampler + FIFO at 48000 / 4096 < 2 MB: {total / 1e6:.2f} MB ({mark(total < MEMORY_TARGET)})")
    return lines


READING = (
    "Reading the figures: each SDK target leaves ours at most about its floor (the last figure of each line above): "
    "below a module doing nothing but our arithmetic, or within a few percent of it. Meeting them needs less "
    "arithmetic per call than ours does now, not less bookkeeping: the cleaning copies of audio and knobs, the knob "
    "mean in float64 (copy, product, copy back) and, behind the resampler, its two matrix products. What ours does "
    "beyond its floor: the host contract's checks on every call, "
    "each stage's branches, and in the FIFO its read and write positions and the compaction of its linear queues "
    "every few calls (the floor reads and writes fixed positions and never compacts). The FIFO keeps the views it "
    "makes (`neutone_adapters/fifo/views.py`, at most 64 per buffer, counted in the tensors column): a host keeping "
    "its block size reaches a few positions again and again, while behind the resampler (blocks of 470 and 471 "
    "samples) the positions do not settle and most views are made afresh."
)
"""Fixed text under the verdicts: what the figures above say about where the time goes."""


def report(result: Dict[str, Any], command: str) -> str:
    """The RESULTS.md section."""
    us = result["speed"]["us"]
    allocations = result["speed"]["allocations"]
    runs = len(next(iter(us.values())))
    has_sdk = any(key.endswith("|SDK") for key in us)
    lines = [
        SECTION,
        "",
        f"`{command}` (torch {torch.__version__}, one thread, {time.strftime('%Y-%m-%d')}; 2-core machine shared with "
        "other jobs). Host 48000 Hz, stereo blocks of 512 samples with knobs; the model scales its input in place by "
        "its one knob, the same on both sides. Ours: `save_neutone_model` (every check), `load_neutone_model`. "
        f"SDK: {result['sdk']} (from the PyPI wheel, exported as its `save_neutone_model` does). Floor: a bare "
        "scripted module doing our call's arithmetic on views made once (see the module docs). "
        f"Thread CPU time per host call in us, median [min..max] of {runs} runs of interleaved rounds; ratios per run.",
        "",
        "| case | ours us | SDK us | floor us | ours / SDK | target | ours / floor | allocations per call (ours / SDK) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for case in CASES:
        ours, floor, sdk = f"{case.key}|ours", f"{case.key}|floor", f"{case.key}|SDK"
        sdk_cells = [spread(us[sdk]), spread(per_run(us, ours, sdk)), f"<= {case.sdk_target}"] if has_sdk else ["-", "-", "-"]
        sdk_allocations = f"{allocations[sdk]:.2g}" if has_sdk else "-"
        lines.append(
            f"| {case.label} | {spread(us[ours])} | {sdk_cells[0]} | {spread(us[floor])} | {sdk_cells[1]} | {sdk_cells[2]} "
            f"| {spread(per_run(us, ours, floor))} | {allocations[ours]:g} / {sdk_allocations} |"
        )
    lines += ["", f"### Cost growth (`{PLOT.name}`; ns of CPU time per host sample, ours / SDK)", ""]
    for setting, curves in result["growth"].items():
        for key, label in (("host_blocks", "host block (model any block)"), ("model_blocks", "model block (host 512)")):
            series = curves[key]
            lines += [
                f"| {label}, model at {setting} | " + " | ".join(f"{int(b)}" for b in series["x"]) + " |",
                "|---|" + "---:|" * len(series["x"]),
            ]
            for name in ("ours", "SDK"):
                if series.get(name):
                    lines.append(f"| {name} | " + " | ".join(f"{v:.1f}" for v in series[name]) + " |")
            lines.append("")
    lines += [
        "### Memory (bytes of the distinct storages each stage holds on its own after streaming; tensor objects incl. views)",
        "",
        "Model with resampler (44.1 kHz) and FIFO (2048), host 48000 Hz.",
        "",
        "| host block | part | bytes | tensors |",
        "|---|---|---:|---:|",
    ]
    for setting, parts in result["memory"].items():
        for part, (size, tensors) in parts.items():
            lines.append(f"| {setting.split(' / ')[1]} | {part} | {size:,} | {tensors} |")
    lines += ["", "### Against the targets", ""]
    lines += [f"- {line}" for line in verdicts(result)]
    lines += ["", READING]
    return "\n".join(lines) + "\n"


def main() -> None:
    """Measure everything, print the section, optionally write it, the plot and JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sdk-path", help="directory holding the neutone_sdk package (an unpacked wheel)")
    parser.add_argument("--write-results", action="store_true", help="rewrite the section of benchmarks/RESULTS.md and the plot")
    parser.add_argument("--json", help="write the figures to this file")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--calls", type=int, default=FLOOR_CYCLE)
    args = parser.parse_args()
    torch.set_num_threads(1)
    command = shown_command("benchmarks.bench_overhead")
    sdk = import_sdk(args.sdk_path)
    with tempfile.TemporaryDirectory() as folder:
        result: Dict[str, Any] = {
            "sdk": sdk_label(sdk) if sdk is not None else None,
            "speed": speed(sdk, Path(folder), args.runs, args.rounds, args.calls),
            "growth": {
                f"{rate} Hz": growth(sdk, Path(folder), rate, knob_gain=True) for rate in (HOST_RATE, MODEL_RATE)
            },
        }
    result["memory"] = {f"48000 / {block}": stage_memory(block) for block in (4096, 512)}
    text = report(result, command)
    print(text)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    if args.write_results:
        plot(result["growth"], PLOT, "Host calls at 48000 Hz, stereo with knobs, one thread: ours (solid) and the SDK (dashed)")
        write_section(SECTION, text)


if __name__ == "__main__":
    main()
