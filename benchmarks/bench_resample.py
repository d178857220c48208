"""Resampler quality, latency, speed, cost growth, memory and configure time, against soxr, julius
and the reference SDK.

Quality: round trip 48000 -> 44100 -> 48000 Hz through a pass-through model in blocks of 512,
measured after the reported delay on exact-phase tones (``sin(2 pi f (n mod sr) / sr)`` in
float64): the SNR on a 100 Hz grid from 20 Hz to 16 kHz per preset (worst tone stated), the same
grid at coprime host rates (47999 and 44101 Hz, the Farrow kernel), and at nine tones SNR, gain
and the largest alias or image product (Kaiser beta 38 spectrum, everything 40 bins off the
tone) for ours, soxr (two streams fed 512-sample blocks), julius (offline) and the reference SDK.

Speed: host 48000 Hz, blocks of 512, stereo, knobs passed, one thread; our models exported with
``save_neutone_model`` and reloaded with ``load_neutone_model``; the reference SDK
(``neutone_sdk`` ``SampleQueueWrapper`` around the same pass-through, ``--sdk-path`` an unpacked
wheel) exported as its ``save_neutone_model`` does (``model_to_torchscript``, save, load). Its
dependencies that the timed path never touches are stubbed when missing. Cases are timed with
thread CPU time (``time.thread_time_ns``) in interleaved rounds; each of ``--runs`` runs gives
per-case medians over its rounds, reported as median and spread (min..max) over runs. The
kernel case drives the two configured ``PolyphaseResampler``s exactly as ``ResampleStage`` does
around an identity model; its floor is a bare scripted module doing the same copies and products
(same shapes, call by call) on fixed views.

Cost growth: CPU time per host sample for host blocks 32..8192 (model takes any block) and for
model blocks 128..8192 (host blocks of 512), ours and the SDK, plotted to a PNG.

Run: ``python -m benchmarks.bench_resample --sdk-path build/neutone_sdk [--write-results] [--json PATH]``.
"""

import argparse
import importlib.machinery
import io
import json
import math
import statistics
import sys
import tempfile
import time
import types
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np
import soxr
import torch
from torch import Tensor, nn

from benchmarks.results_file import shown_command, write_section
from neutone_adapters.resample.polyphase import QUALITY_PRESETS, PolyphaseResampler
from neutone_core import compose, load_neutone_model, save_neutone_model
from neutone_core.plugins import get_registry
from neutone_core.testing import PassThroughWrapper
from neutone_core.tools.host import impulse_delay, stream

HOST_RATE = 48000
MODEL_RATE = 44100
BLOCK = 512
TABLE_FREQUENCIES = [20, 100, 1000, 5000, 10000, 15000, 16000, 18000, 20000]
GRID = [20] + list(range(100, 16001, 100))
N = 48000
SETTLE = 6000
PLOT = Path(__file__).with_name("resample_cost_growth.png")
SECTION = "## Resampler quality and speed"
RESAMPLE_ALONE = "ours: resample, model takes any block"
RESAMPLE_FIFO = "ours: resample + FIFO 2048"
NO_RESAMPLER = "ours: no resampler (model at any rate), any block"
KERNEL = "kernel: both filters as the stage drives them"
FLOOR = "floor: the same copies and products on fixed views"


# --- quality ----------------------------------------------------------------------------------
def tone(frequency: float, n: int = N, rate: int = HOST_RATE) -> np.ndarray:
    """Exact-phase unit sine: the index is reduced modulo the rate before the float64 sine."""
    return np.sin(2 * np.pi * frequency * (np.arange(n) % rate) / rate)


def measure(x: np.ndarray, y: np.ndarray) -> Dict[str, float]:
    """SNR (dB), gain (dB) and largest spur (dBc) of ``y`` against the aligned input ``x``."""
    x = x[SETTLE:-SETTLE]
    y = y[SETTLE:-SETTLE]
    window = np.kaiser(len(y), 38.0)
    spectrum = np.abs(np.fft.rfft(y * window))
    peak = int(np.argmax(spectrum))
    tone_level = spectrum[peak]
    spectrum[max(peak - 40, 0) : peak + 41] = 0
    return {
        "snr_db": float(10 * np.log10(np.sum(x**2) / max(np.sum((y - x) ** 2), 1e-300))),
        "gain_db": float(20 * np.log10(np.std(y) / np.std(x))),
        "spur_dbc": float(20 * np.log10(max(spectrum.max(), 1e-30) / tone_level)),
    }


def ours(quality: str, host_rate: int = HOST_RATE) -> Tuple[Callable[[np.ndarray], np.ndarray], int, int]:
    """Round trip through the scripted graph; returns (run on a stereo pair, reported delay, measured)."""
    wrapper = PassThroughWrapper(native_sample_rates=[MODEL_RATE])
    model = compose(wrapper, adapter_options={"resample": {"quality": quality}}).scripted
    measured = impulse_delay(model, host_rate, BLOCK, offset=7)
    delay = model.calc_total_delay_samples()

    def run(x: np.ndarray) -> np.ndarray:
        pair = x if x.ndim == 2 else np.stack([x, x])
        y = stream(model, torch.tensor(pair, dtype=torch.float32), host_rate, BLOCK).numpy().astype(np.float64)
        aligned = np.concatenate([y[:, delay:], np.zeros((2, delay))], 1)
        return aligned if x.ndim == 2 else aligned[0]

    return run, delay, measured


def grid_snr(quality: str, host_rate: int) -> Dict[int, float]:
    """SNR (dB) of every tone of :data:`GRID` through our round trip, two tones per stream."""
    run, _, _ = ours(quality, host_rate)
    snr: Dict[int, float] = {}
    for i in range(0, len(GRID), 2):
        pair = GRID[i : i + 2] if i + 1 < len(GRID) else [GRID[i]] * 2
        x = np.stack([tone(f, rate=host_rate) for f in pair]).astype(np.float32).astype(np.float64)
        y = run(x)
        for channel, frequency in enumerate(pair):
            snr[frequency] = measure(x[channel], y[channel])["snr_db"]
    return snr


def soxr_round_trip(quality: str) -> Tuple[Callable[[np.ndarray], np.ndarray], int]:
    """Two soxr streams fed host blocks; returns (run, latency: the most output owed at any block)."""

    def run_with_latency(x: np.ndarray) -> Tuple[np.ndarray, int]:
        down = soxr.ResampleStream(HOST_RATE, MODEL_RATE, 1, dtype="float64", quality=quality)
        up = soxr.ResampleStream(MODEL_RATE, HOST_RATE, 1, dtype="float64", quality=quality)
        pieces, produced, owed = [], 0, 0
        for start in range(0, len(x), BLOCK):
            last = start + BLOCK >= len(x)
            y = up.resample_chunk(down.resample_chunk(x[start : start + BLOCK], last=last), last=last)
            pieces.append(y)
            produced += len(y)
            owed = max(owed, min(start + BLOCK, len(x)) - produced)
        return np.concatenate(pieces)[: len(x)], owed

    return (lambda x: run_with_latency(x)[0]), run_with_latency(np.zeros(N))[1]


def julius_round_trip() -> Optional[Tuple[Callable[[np.ndarray], np.ndarray], float]]:
    """julius both ways (offline, time-aligned), if installed; returns (run, half-widths in host
    samples, the least a streaming use would add)."""
    try:
        import julius
    except ImportError:
        return None
    down = julius.ResampleFrac(HOST_RATE, MODEL_RATE)
    up = julius.ResampleFrac(MODEL_RATE, HOST_RATE)

    def run(x: np.ndarray) -> np.ndarray:
        y = up(down(torch.tensor(x, dtype=torch.float32)[None]))[0].numpy().astype(np.float64)
        return np.concatenate([y, np.zeros(max(0, len(x) - len(y)))])[: len(x)]

    return run, 2 * down.zeros / (down.rolloff * MODEL_RATE) * HOST_RATE


# --- the reference SDK ------------------------------------------------------------------------
def import_sdk(sdk_path: Optional[str]) -> Optional[types.ModuleType]:
    """The real neutone_sdk, stubbing the imports its realtime path never uses."""
    if sdk_path:
        sys.path.insert(0, sdk_path)
    for name in ("requests", "tqdm", "soundfile", "jsonschema", "jsonschema._keywords", "torchaudio", "torchaudio.transforms"):
        try:
            __import__(name)
        except ImportError:
            stub = types.ModuleType(name)
            stub.__spec__ = importlib.machinery.ModuleSpec(name, None)
            stub.__dict__.update(
                validate=lambda *a, **k: None, ValidationError=Exception, anyOf=None, tqdm=lambda x, *a, **k: x, Resample=None
            )
            sys.modules[name] = stub
    sys.modules["torchaudio"].transforms = sys.modules["torchaudio.transforms"]
    try:
        import neutone_sdk  # noqa: F401
        from neutone_sdk import sqw, utils  # noqa: F401
    except Exception:
        return None
    return sys.modules["neutone_sdk"]


def sdk_model(
    sdk: types.ModuleType,
    native_sizes: List[int],
    native_rates: Tuple[int, ...] = (MODEL_RATE,),
    mono: bool = False,
    knob_gain: bool = False,
) -> nn.Module:
    """The SDK's SampleQueueWrapper around a pass-through (stereo, or ``mono`` in and out) at
    ``native_rates`` (Hz) with ``native_sizes`` (empty: any block), exported as the SDK exports
    (debug off, scripted, saved, loaded). With ``knob_gain`` the model scales its input in place
    by its one knob, so the knob really reaches it."""
    from neutone_sdk.parameter import ContinuousNeutoneParameter

    class Identity(nn.Module):
        def forward(self, x: Tensor) -> Tensor:
            return x

    class PassThrough(sdk.WaveformToWaveformBase):
        __annotations__ = {
            **sdk.WaveformToWaveformBase.__annotations__,
            "sizes": List[int],
            "rates": List[int],
            "mono": bool,
            "gain": bool,
        }

        def __init__(self, model: nn.Module, sizes: List[int]) -> None:
            for name, value in (("sizes", list(sizes)), ("rates", list(native_rates)), ("mono", mono), ("gain", knob_gain)):
                object.__setattr__(self, name, value)  # read by the SDK's constructor
            super().__init__(model)

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
            return self.mono

        @torch.jit.export
        def is_output_mono(self) -> bool:
            return self.mono

        @torch.jit.export
        def get_native_sample_rates(self) -> List[int]:
            return self.rates

        @torch.jit.export
        def get_native_buffer_sizes(self) -> List[int]:
            return self.sizes

        def do_forward_pass(self, x: Tensor, params: Dict[str, Tensor]) -> Tensor:
            if self.gain:
                return x.mul_(params["p0"])
            return self.model(x)

    wrapper = PassThrough(Identity(), native_sizes)
    buffer = io.BytesIO()
    torch.jit.save(sdk.utils.model_to_torchscript(sdk.sqw.SampleQueueWrapper(wrapper)), buffer)
    buffer.seek(0)
    return torch.jit.load(buffer)


def sdk_label(sdk: types.ModuleType) -> str:
    """The SDK's name and version as read from its wheel's metadata folder."""
    package = Path(sdk.__file__).parent.parent
    versions = [d.name.removesuffix(".dist-info").split("-")[1] for d in package.glob("neutone_sdk-*.dist-info")]
    return f"neutone_sdk {versions[0] if versions else 'installed'} SampleQueueWrapper + Inplace4pHermiteResampler"


def sdk_round_trip(sdk: types.ModuleType) -> Tuple[Callable[[np.ndarray], np.ndarray], int]:
    """The SDK's round trip in host blocks (native blocks of 512), aligned by the delay it reports."""
    model = sdk_model(sdk, [BLOCK])
    model.set_daw_sample_rate_and_buffer_size(HOST_RATE, BLOCK)
    delay = int(model.calc_buffering_delay_samples())

    def run(x: np.ndarray) -> np.ndarray:
        model.reset()
        padded = np.concatenate([x, np.zeros(-len(x) % BLOCK)])
        audio = torch.tensor(np.stack([padded, padded]), dtype=torch.float32)
        y = torch.cat([model.forward(audio[:, i : i + BLOCK]).clone() for i in range(0, audio.size(1), BLOCK)], 1)
        return np.concatenate([y[0].numpy().astype(np.float64)[delay:], np.zeros(delay)])[: len(x)]

    return run, delay


# --- speed: the kernel and its floor ----------------------------------------------------------
class KernelCase(nn.Module):
    """The two filters driven as ``ResampleStage.forward`` drives them, around an identity model.
    Shape: ``(2, n), (4, n) -> (2, n)``."""

    def __init__(self, down: PolyphaseResampler, up: PolyphaseResampler) -> None:
        super().__init__()
        self.down = down
        self.up = up

    def forward(self, x: Tensor, params: Tensor) -> Tensor:
        count = self.down.push_with(x, params)
        if count > 0:
            audio, knobs = self.down.pull_with(count)
            self.up.push(audio)
        return self.up.pull(x.size(1))


class FloorCase(nn.Module):
    """The floor of :class:`KernelCase`: the same copies, gather and products, with the same
    shapes call by call (a recorded cycle of calls), on views made once, with no bookkeeping.
    Shape: ``(2, n), (4, n) -> (2, n)``."""

    views: List[List[Tensor]]

    def __init__(self, down: PolyphaseResampler, up: PolyphaseResampler, counts: List[int], block: int) -> None:
        super().__init__()
        self.down = down
        self.up = up
        d = down.products
        u = up.products
        self.grouped = [d.kinds > 1, u.kinds > 1]
        self.views: List[List[Tensor]] = []
        first = 0
        for call, count in enumerate(counts):
            down_blocks = d.blocks_touched(first, count)
            up_blocks = u.blocks_touched(call * block, block)
            start = first % d.block_outputs
            first += count
            sd = d.shaped_views(down_blocks)
            su = u.shaped_views(up_blocks)
            hd, hu = down.inputs.history, up.inputs.history
            stride = down.periodic.block_inputs
            hold = down.periodic.hold_span + (down_blocks - 1) * stride
            held = down.periodic.held_outputs.narrow(0, 0, 4 * count).view(4, count)
            self.views.append(
                [
                    hd[:2].narrow(1, down.inputs.keep, block),
                    hd[2:].narrow(1, down.inputs.keep, block),
                    torch.as_strided(hd, [d.kinds, 2, down_blocks, d.band], [d.step, hd.size(1), d.block_inputs, 1], 0),
                    torch.as_strided(hd, [4, hold], [hd.size(1), 1], 2 * hd.size(1)),
                    down.periodic.hold_table.narrow(1, start, count),
                    held,
                    torch.as_strided(d.outputs, [2, count], [down_blocks * d.block_outputs, 1], 0),
                    hu.narrow(1, up.inputs.keep, count),
                    torch.as_strided(hu, [u.kinds, 2, up_blocks, u.band], [u.step, hu.size(1), u.block_inputs, 1], 0),
                    torch.as_strided(u.outputs, [2, block], [up_blocks * u.block_outputs, 1], 0),
                ]
                + sd
                + su
            )
        self.call = 0

    def forward(self, x: Tensor, params: Tensor) -> Tensor:
        v = self.views[self.call]
        self.call = (self.call + 1) % len(self.views)
        self.down_half(v, x, params)
        return self.up_half(v, v[6])

    def down_half(self, v: List[Tensor], x: Tensor, params: Tensor) -> None:
        """The down filter's operations of one call: its outputs are ``v[6]`` (audio) and ``v[5]``
        (held knobs)."""
        v[0].copy_(x)
        v[1].copy_(params)
        v[10].copy_(v[2])
        if self.grouped[0]:
            torch.bmm(v[11], self.down.products.weights, out=v[12])
            v[14].copy_(v[13])
        else:
            torch.mm(v[11], self.down.products.matrix, out=v[12])
        torch.gather(v[3], 1, v[4], out=v[5])

    def up_half(self, v: List[Tensor], model_out: Tensor) -> Tensor:
        """The up filter's operations of one call on the model's output ``(2, count)``."""
        torch.nan_to_num(model_out, 0.0, 0.0, 0.0, out=v[7])
        v[15].copy_(v[8])
        if self.grouped[1]:
            torch.bmm(v[16], self.up.products.weights, out=v[17])
            v[19].copy_(v[18])
        else:
            torch.mm(v[16], self.up.products.matrix, out=v[17])
        return v[9]


def filter_pair(host_rate: int, block: int) -> Tuple[PolyphaseResampler, PolyphaseResampler, List[int]]:
    """The two filters configured as our stage configures them for a host at ``host_rate`` /
    ``block`` and a 44.1 kHz model taking any block, and the model-rate counts of 40 calls."""
    graph = compose(PassThroughWrapper(native_sample_rates=[MODEL_RATE])).scripted
    graph.prepare(host_rate, block, 2, 0, 0)
    stage = graph.host.chain.inner
    down, up = PolyphaseResampler(), PolyphaseResampler()
    high = QUALITY_PRESETS["high"]
    down.configure(host_rate, MODEL_RATE, 2, 4, block, stage.model_block, high, 0)
    up.configure(MODEL_RATE, host_rate, 2, 0, stage.model_block, block, high, stage.up.phase_ticks)
    counts = [(k * block * MODEL_RATE) // host_rate - ((k - 1) * block * MODEL_RATE) // host_rate for k in range(1, 41)]
    return down, up, counts


def time_cases(cases: Dict[str, Callable[[], Any]], runs: int, rounds: int, calls: int) -> Dict[str, List[float]]:
    """Each case's median CPU time per call (us) in each of ``runs`` runs of ``rounds``
    interleaved rounds of ``calls`` calls (thread CPU time)."""
    medians: Dict[str, List[float]] = {name: [] for name in cases}
    with torch.no_grad():
        for call in cases.values():
            for _ in range(300):
                call()
        for _ in range(runs):
            per_round: Dict[str, List[float]] = {name: [] for name in cases}
            for _ in range(rounds):
                for name, call in cases.items():
                    start = time.thread_time_ns()
                    for _ in range(calls):
                        call()
                    per_round[name].append((time.thread_time_ns() - start) / calls / 1000)
            for name, values in per_round.items():
                medians[name].append(statistics.median(values))
    return medians


class KnobGainWrapper(PassThroughWrapper):
    """The pass-through (same channels in and out, no look-behind) scaling its input in place by
    its one knob, so the knob really reaches the model: a model that ignores its knobs lets
    TorchScript drop the work that hands them over."""

    def do_forward_pass(self, x: Tensor, params: Dict[str, Tensor]) -> Tensor:
        return x.mul_(params["p0"])


def exported(
    native_sizes: List[int],
    native_rates: List[int],
    folder: Path,
    checked: bool = False,
    knob_gain: bool = False,
    mono: bool = False,
) -> torch.jit.ScriptModule:
    """Our pass-through (or :class:`KnobGainWrapper` with ``knob_gain``; ``mono`` in and out)
    exported with ``save_neutone_model`` and loaded back with ``load_neutone_model``; with every
    export check when ``checked`` (they take seconds each and do not change the file's graph),
    else none."""
    kind = KnobGainWrapper if knob_gain else PassThroughWrapper
    wrapper = kind(input_mono=mono, output_mono=mono, native_sample_rates=native_rates, native_buffer_sizes=native_sizes)
    name = f"rates{'-'.join(map(str, native_rates))}-sizes{'-'.join(map(str, native_sizes))}"
    target = folder / (name + ("-gain" if knob_gain else "") + ("-mono" if mono else ""))
    save_neutone_model(wrapper, target, skip_checks=None if checked else set(get_registry().checks))
    return load_neutone_model(target / "model.nm")[0]


def speed(sdk: Optional[types.ModuleType], folder: Path, runs: int, rounds: int, calls: int) -> Dict[str, Any]:
    """CPU time per host call (host 48000 / 512, stereo, knobs) of every case, same run."""
    x = torch.randn(2, BLOCK)
    params = torch.rand(4, BLOCK)
    models = {
        RESAMPLE_ALONE: exported([], [MODEL_RATE], folder, checked=True),
        RESAMPLE_FIFO: exported([2048], [MODEL_RATE], folder, checked=True),
        NO_RESAMPLER: exported([], [], folder, checked=True),
    }
    cases: Dict[str, Callable[[], Any]] = {}
    for name, model in models.items():
        model.set_daw_sample_rate_and_buffer_size(HOST_RATE, BLOCK)
        cases[name] = (lambda m: lambda: m(x, params))(model)
    if sdk is not None:
        for name, sizes in (("SDK: model takes any block", []), ("SDK: model blocks of 2048", [2048])):
            reference = sdk_model(sdk, sizes)
            reference.set_daw_sample_rate_and_buffer_size(HOST_RATE, BLOCK)
            cases[name] = (lambda m: lambda: m.forward(x, params))(reference)
    down, up, counts = filter_pair(HOST_RATE, BLOCK)
    kernel = torch.jit.script(KernelCase(down, up))
    floor = torch.jit.script(FloorCase(*filter_pair(HOST_RATE, BLOCK)[:2], counts, BLOCK))
    cases[KERNEL] = lambda: kernel(x, params)
    cases[FLOOR] = lambda: floor(x, params)
    layout = {name: [kernel.products.kinds, kernel.products.group] for name, kernel in (("down", down), ("up", up))}
    label = sdk_label(sdk) if sdk is not None else None
    return {"median_us": time_cases(cases, runs, rounds, calls), "sdk": label, "layout": layout}


def per_sample_costs(models: Dict[str, nn.Module], block: int, calls: int, into: Dict[str, List[float]]) -> None:
    """Configure each model for host ``block`` at 48 kHz, time them together (interleaved rounds,
    3 runs) and append each one's median CPU time per host sample (ns) to ``into[name]``."""
    x, params = torch.randn(2, block), torch.rand(4, block)
    cases: Dict[str, Callable[[], Any]] = {}
    for name, model in models.items():
        model.set_daw_sample_rate_and_buffer_size(HOST_RATE, block)
        cases[name] = (lambda m: lambda: m.forward(x, params))(model)
    for name, values in time_cases(cases, 3, 3, calls).items():
        into[name].append(statistics.median(values) * 1000 / block)


def whole_cycles(host_block: int, native_rate: int, model_block: int, at_least: int) -> int:
    """Host calls (at least ``at_least``) in whole cycles of the pattern a 48 kHz host keeping
    ``host_block`` samples sets off: the resampled block lengths and, with a native
    ``model_block`` (samples, 0 = any), the calls that run the model repeat after each cycle, so
    every round does the same work."""
    calls = HOST_RATE // math.gcd(host_block * native_rate, HOST_RATE)
    model_samples = host_block * native_rate * calls // HOST_RATE
    if model_block > 0:
        calls *= model_block // math.gcd(model_block, model_samples)
    return calls * -(-at_least // calls)


def growth(
    sdk: Optional[types.ModuleType], folder: Path, native_rate: int = MODEL_RATE, knob_gain: bool = False
) -> Dict[str, Dict[str, List[float]]]:
    """CPU time per host sample (ns) for host blocks 32..8192 (model at ``native_rate`` Hz taking
    any block) and model blocks 128..8192 (host 512), ours (exported) and the SDK timed together at
    each setting, rounds of whole pattern cycles (:func:`whole_cycles`; ``knob_gain``: the models
    scale by their knob, see :class:`KnobGainWrapper`)."""
    host_blocks = [2**k for k in range(5, 14)]
    model_blocks = [2**k for k in range(7, 14)]
    sides = ["ours"] + (["SDK"] if sdk is not None else [])
    result: Dict[str, Dict[str, List[float]]] = {}
    for key, blocks in (("host_blocks", host_blocks), ("model_blocks", model_blocks)):
        result[key] = {"x": [float(b) for b in blocks], **{side: [] for side in sides}}
    any_block: Dict[str, nn.Module] = {"ours": exported([], [native_rate], folder, knob_gain=knob_gain)}
    if sdk is not None:
        any_block["SDK"] = sdk_model(sdk, [], (native_rate,), knob_gain=knob_gain)
    for block in host_blocks:
        per_sample_costs(any_block, block, whole_cycles(block, native_rate, 0, 32768 // block), result["host_blocks"])
    for block in model_blocks:
        fixed: Dict[str, nn.Module] = {"ours": exported([block], [native_rate], folder, knob_gain=knob_gain)}
        if sdk is not None:
            fixed["SDK"] = sdk_model(sdk, [block], (native_rate,), knob_gain=knob_gain)
        per_sample_costs(fixed, BLOCK, whole_cycles(BLOCK, native_rate, block, 64), result["model_blocks"])
    return result


def plot(curves: Dict[str, Dict[str, Dict[str, List[float]]]], path: Path, title: str) -> None:
    """Cost growth, ours and the SDK side by side, log-log; ``curves`` maps a setting's label
    (empty for a single setting) to what :func:`growth` returned for it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    titles = {"host_blocks": "host block (model takes any block)", "model_blocks": "model block (host blocks of 512)"}
    for axis, key in zip(axes, ("host_blocks", "model_blocks"), strict=True):
        for setting, result in curves.items():
            for name in ("ours", "SDK"):
                if result[key].get(name):
                    style = "-" if name == "ours" else "--"
                    axis.loglog(result[key]["x"], result[key][name], style, marker="o", label=f"{name} {setting}".strip())
        axis.set_xlabel(titles[key] + ", samples")
        axis.set_xscale("log", base=2)
        axis.grid(True, which="both", alpha=0.3)
        axis.legend()
    axes[0].set_ylabel("CPU time per host sample, ns")
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=120)


# --- memory and configure time ----------------------------------------------------------------
def held_bytes(module: nn.Module, inside: Optional[nn.Module] = None) -> Tuple[int, int]:
    """Bytes of the distinct storages behind a module's buffers and tensor attributes (lists,
    tuples and dicts of views included; a scripted module's TorchScript attributes too) and how
    many distinct tensor objects refer to them; without what the submodule ``inside`` and its
    own submodules hold."""
    storages: Dict[int, int] = {}
    tensors: set = set()

    def visit(value: object) -> None:
        if isinstance(value, Tensor):
            tensors.add(value._cdata)
            storages[value.untyped_storage().data_ptr()] = value.untyped_storage().nbytes()
        elif isinstance(value, (list, tuple)):
            for item in value:
                visit(item)
        elif isinstance(value, dict):
            for item in value.values():
                visit(item)

    excluded = {id(m) for m in inside.modules()} if inside is not None else set()
    for submodule in module.modules():
        if id(submodule) in excluded:
            continue
        visit(list(submodule._buffers.values()))
        for name, value in vars(submodule).items():
            if not name.startswith("_"):
                visit(value)
        scripted = getattr(submodule, "_concrete_type", None)
        if scripted is not None:
            for name in scripted.get_attributes():
                visit(getattr(submodule, name))
    return sum(storages.values()), len(tensors)


def memory() -> Dict[str, Dict[str, Tuple[int, int]]]:
    """Bytes and tensor objects held after streaming, per stage and for the whole graph, at host
    48000 / 4096 and 48000 / 512, with and without a FIFO of 2048."""
    result: Dict[str, Dict[str, Tuple[int, int]]] = {}
    for block in (4096, 512):
        for sizes in ([2048], []):
            graph = compose(PassThroughWrapper(native_sample_rates=[MODEL_RATE], native_buffer_sizes=sizes)).graph
            stream(graph, torch.randn(2, 20 * block), HOST_RATE, block, torch.rand(4, 20 * block))
            stage = graph.host.chain.inner
            parts = {"down filter": held_bytes(stage.down), "up filter": held_bytes(stage.up), "whole graph": held_bytes(graph)}
            if sizes:
                parts["FIFO stage"] = held_bytes(stage.inner)
            result[f"48000 / {block}" + (f", FIFO {sizes[0]}" if sizes else "")] = parts
    return result


CONFIGURE_HOSTS = [8000, 22050, 44100, 44101, 47999, 48000, 88200, 88201, 96000, 176400, 192000]
CONFIGURE_NATIVES = [22050, 44100, 48000, 96000]


CONFIGURE_STEPS = {
    "first_ms": "first call",
    "second_ms": "second call",
    "designed_ms": "rate change, warm",
    "same_rates_ms": "same rates, warm",
}


def configure_times(folder: Path) -> Dict[str, Dict[str, float]]:
    """Thread CPU time (ms) of the whole graph's ``set_daw_sample_rate_and_buffer_size`` on exported
    models (one per native rate), median of 3 fresh loads per pair: the first and second calls
    after loading (TorchScript optimises a method on its first two calls), then, once warm (two
    calls at 32 kHz), a change to this pair (the filters are designed: what a host meets when the
    user changes settings) and another buffer size at the same rates (buffers only)."""
    times: Dict[str, Dict[str, float]] = {key: {} for key in CONFIGURE_STEPS}
    for native in CONFIGURE_NATIVES:
        exported([], [native], folder)
        path = folder / f"rates{native}-sizes" / "model.nm"
        for host in CONFIGURE_HOSTS:
            tries: Dict[str, List[float]] = {key: [] for key in CONFIGURE_STEPS}
            for _ in range(3):
                cold = load_neutone_model(path)[0]
                warm = load_neutone_model(path)[0]
                warm.set_daw_sample_rate_and_buffer_size(32000, 512)
                warm.set_daw_sample_rate_and_buffer_size(32000, 256)
                steps = [(cold, 512), (cold, 1024), (warm, 512), (warm, 2048)]
                for key, (model, size) in zip(CONFIGURE_STEPS, steps, strict=True):
                    start = time.thread_time()
                    model.set_daw_sample_rate_and_buffer_size(host, size)
                    tries[key].append(time.thread_time() - start)
            for key, values in tries.items():
                times[key][f"{host} -> {native}"] = 1000 * statistics.median(values)
    return times


# --- report -----------------------------------------------------------------------------------
def spread(values: List[float]) -> str:
    """``median [min..max]`` of per-run figures."""
    return f"{statistics.median(values):.2f} [{min(values):.2f}..{max(values):.2f}]"


def ratios(medians: Dict[str, List[float]], numerator: str, denominator: str) -> List[float]:
    """Per-run ratio of two cases' medians (the same run, so load hits both alike)."""
    return [a / b for a, b in zip(medians[numerator], medians[denominator], strict=True)]


def report(result: Dict[str, Any], command: str) -> str:
    """The RESULTS.md section."""
    grid = result["grid"]
    lines = [
        SECTION,
        "",
        f"`{command}` (torch {torch.__version__}, one thread, {time.strftime('%Y-%m-%d')}; 2-core machine shared "
        "with other jobs: every time is thread CPU time). Host 48 kHz, blocks of 512, "
        "44.1 kHz pass-through model, round trip 48000 -> 44100 -> 48000 unless stated.",
        "",
        "### Quality: exact-phase tones every 100 Hz from 20 Hz to 16 kHz (SNR after the delay)",
        "",
        "| preset | host Hz | kernel | worst tone | worst to 15 kHz | median |",
        "|---|---:|---|---:|---:|---:|",
    ]
    for key, snr in grid.items():
        preset, host, kernel = key.split("|")
        worst = min(snr, key=snr.get)
        below = {f: v for f, v in snr.items() if int(f) <= 15000}
        worst_below = min(below, key=below.get)
        lines.append(
            f"| {preset} | {host} | {kernel} | {snr[worst]:.1f} dB at {worst} Hz "
            f"| {below[worst_below]:.1f} dB at {worst_below} Hz | {statistics.median(snr.values()):.1f} dB |"
        )
    table = result["quality"]
    lines += [
        "",
        "### Quality at nine tones (SNR dB / gain dB / largest alias or image product dBc)",
        "",
        "| Hz | " + " | ".join(table) + " |",
        "|---:|" + "---|" * len(table),
    ]
    for f in TABLE_FREQUENCIES:
        cells = [f"{m['snr_db']:.1f} / {m['gain_db']:+.4f} / {m['spur_dbc']:.0f}" for m in (table[n][str(f)] for n in table)]
        lines.append(f"| {f} | " + " | ".join(cells) + " |")
    lines += ["", "### Round-trip latency (host samples at 48 kHz)", "", "| resampler | latency |", "|---|---:|"]
    lines += [f"| {name} | {value} |" for name, value in result["latency"].items()]
    medians = result["speed"]["median_us"]
    lines += [
        "",
        f"### Speed per host call (us of CPU time, median [min..max] of {len(next(iter(medians.values())))} runs)",
        "",
        f"Reference: {result['speed']['sdk']} (real SDK code from the PyPI wheel, `--sdk-path`, exported as its "
        "`save_neutone_model` does); ours exported with `save_neutone_model` and reloaded with `load_neutone_model`.",
        "",
        "| case | us per call |",
        "|---|---:|",
    ]
    lines += [f"| {name} | {spread(values)} |" for name, values in medians.items()]
    lines += ["", "| ratio (per run) | median [min..max] |", "|---|---:|"]
    for label, (a, b) in result["ratio_cases"].items():
        lines.append(f"| {label} | {spread(ratios(medians, a, b))} |")
    share = [a - b for a, b in zip(medians[RESAMPLE_ALONE], medians[NO_RESAMPLER], strict=True)]
    layout = result["speed"]["layout"]
    lines += [
        "",
        f"The resampler's share of the graph (resample alone minus no resampler): {spread(share)} us. Per host call the "
        "kernel runs 8 tensor operations (down: two copies into its history, the knob gather, the window copy, the "
        "product; up: `nan_to_num` into its history, the window copy, the product) and, every few calls, one move of "
        f"each history; column groups per product (down, up): {layout['down'][0]}, {layout['up'][0]} (1: one `mm`). "
        "The floor runs the same operations on views made once.",
    ]
    growth_result = result["growth"]
    lines += [
        "",
        f"### Cost growth (`{PLOT.name}`; ns of CPU time per host sample)",
        "",
        "| host block (model any block) | " + " | ".join(f"{int(b)}" for b in growth_result["host_blocks"]["x"]) + " |",
        "|---|" + "---:|" * len(growth_result["host_blocks"]["x"]),
    ]
    for name in ("ours", "SDK"):
        if growth_result["host_blocks"].get(name):
            lines.append(f"| {name} | " + " | ".join(f"{v:.1f}" for v in growth_result["host_blocks"][name]) + " |")
    lines += [
        "",
        "| model block (host 512) | " + " | ".join(f"{int(b)}" for b in growth_result["model_blocks"]["x"]) + " |",
        "|---|" + "---:|" * len(growth_result["model_blocks"]["x"]),
    ]
    for name in ("ours", "SDK"):
        if growth_result["model_blocks"].get(name):
            lines.append(f"| {name} | " + " | ".join(f"{v:.1f}" for v in growth_result["model_blocks"][name]) + " |")
    lines += ["", "### Memory (bytes of distinct storages held after streaming; tensor objects incl. views)", ""]
    lines += ["| setting | part | bytes | tensors |", "|---|---|---:|---:|"]
    for setting, parts in result["memory"].items():
        for part, (size, tensors) in parts.items():
            lines.append(f"| {setting} | {part} | {size:,} | {tensors} |")
    configure = result["configure"]
    lines += [
        "",
        "### Configure time (`set_daw_sample_rate_and_buffer_size`, whole graph, CPU ms on one thread, median of 3 fresh loads)",
        "",
        "Per pair: the first / second call after loading (TorchScript optimises a method on its first two calls) / "
        "a change to this pair once warm (the filters are designed: what a host meets when the user changes "
        "settings) / then another buffer size at the same rates (buffers only).",
        "",
    ]
    for key, label in CONFIGURE_STEPS.items():
        worst = max(configure[key], key=configure[key].get)
        lines.append(f"- worst {label}: {configure[key][worst]:.1f} ms ({worst} Hz)")
    lines += [
        "",
        "| host Hz | " + " | ".join(f"-> {n}" for n in CONFIGURE_NATIVES) + " |",
        "|---:|" + "---:|" * len(CONFIGURE_NATIVES),
    ]
    for host in CONFIGURE_HOSTS:
        cells = []
        for native in CONFIGURE_NATIVES:
            pair = f"{host} -> {native}"
            cells.append(" / ".join(f"{configure[key][pair]:.1f}" for key in CONFIGURE_STEPS))
        lines.append(f"| {host} | " + " | ".join(cells) + " |")
    lines += ["", "### Against the targets", ""]
    lines += [f"- {line}" for line in result["verdicts"]]
    return "\n".join(lines) + "\n"


def verdicts(result: Dict[str, Any]) -> List[str]:
    """One line per target: the figure measured and whether it meets the target."""
    def mark(ok: bool) -> str:
        return "met" if ok else "NOT met"

    high = result["grid"][f"high|{HOST_RATE}|periodic"]
    worst = min(high, key=high.get)
    medians = result["speed"]["median_us"]
    lines = [
        f"high, SNR >= 100 dB 20 Hz..16 kHz every 100 Hz: worst {high[worst]:.1f} dB at {worst} Hz ({mark(high[worst] >= 100)})"
    ]
    for key, snr in result["grid"].items():
        if key.endswith("farrow") and key.startswith("high"):
            lowest = min(snr.values())
            lines.append(f"high at host {key.split('|')[1]} Hz (Farrow): worst {lowest:.1f} dB ({mark(lowest >= 100)})")
    latency = result["latency"]
    lines.append(f"latency high 85 / low-latency 41: {latency['ours high']} / {latency['ours low-latency']}")
    for label, (a, b) in result["ratio_cases"].items():
        target = result["targets"].get(label)
        if target is not None:
            value = statistics.median(ratios(medians, a, b))
            lines.append(f"{label} <= {target}: {value:.2f} ({mark(value <= target)})")
    graph = result["memory"]["48000 / 4096, FIFO 2048"]["whole graph"][0]
    lines.append(f"resampler + FIFO at 48000 / 4096 < 2 MB: {graph / 1e6:.2f} MB ({mark(graph < 2e6)})")
    first = max(max(result["configure"][key].values()) for key in ("first_ms", "second_ms"))
    designed = max(result["configure"]["designed_ms"].values())
    lines.append(
        f"configure < 200 ms at every pair: worst {designed:.1f} ms once warm, {first:.1f} ms on the first two calls "
        f"after loading ({mark(first < 200)})"
    )
    return lines


def main() -> None:
    """Measure everything, print the section, optionally write it and the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="write the figures to this file")
    parser.add_argument("--write-results", action="store_true", help="rewrite the section of benchmarks/RESULTS.md")
    parser.add_argument("--sdk-path", help="directory holding the neutone_sdk package (an unpacked wheel)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--calls", type=int, default=400)
    args = parser.parse_args()
    torch.set_num_threads(1)
    command = shown_command("benchmarks.bench_resample")
    sdk = import_sdk(args.sdk_path)
    grid: Dict[str, Dict[int, float]] = {}
    for preset in QUALITY_PRESETS:
        grid[f"{preset}|{HOST_RATE}|periodic"] = grid_snr(preset, HOST_RATE)
    for host in (47999, 44101):
        grid[f"high|{host}|farrow"] = grid_snr("high", host)
    runs: Dict[str, Callable[[np.ndarray], np.ndarray]] = {}
    latency: Dict[str, Any] = {}
    for preset in QUALITY_PRESETS:
        run, delay, measured = ours(preset)
        assert delay == measured, f"{preset}: impulse at {measured}, reported {delay}"
        runs[f"ours {preset}"] = run
        latency[f"ours {preset}"] = delay
    for quality in ("HQ", "VHQ"):
        runs[f"soxr {quality}"], latency[f"soxr {quality} (streaming, 512 blocks)"] = soxr_round_trip(quality)
    julius_result = julius_round_trip()
    if julius_result is not None:
        runs["julius"] = julius_result[0]
        latency["julius (half-widths, offline only)"] = math.ceil(julius_result[1])
    if sdk is not None:
        runs["neutone_sdk"], latency["neutone_sdk (reported)"] = sdk_round_trip(sdk)
    quality_table = {name: {str(f): measure(tone(f), run(tone(f))) for f in TABLE_FREQUENCIES} for name, run in runs.items()}
    with tempfile.TemporaryDirectory() as folder:
        result: Dict[str, Any] = {
            "grid": {key: {int(f): v for f, v in snr.items()} for key, snr in grid.items()},
            "quality": quality_table,
            "latency": latency,
            "speed": speed(sdk, Path(folder), args.runs, args.rounds, args.calls),
            "growth": growth(sdk, Path(folder)),
            "memory": memory(),
            "configure": configure_times(Path(folder)),
        }
    result["ratio_cases"] = {"kernel / floor": (KERNEL, FLOOR)}
    result["targets"] = {"kernel / floor": 1.3}
    if sdk is not None:
        result["ratio_cases"] = {
            "resample alone / SDK (model any block)": (RESAMPLE_ALONE, "SDK: model takes any block"),
            "resample + FIFO 2048 / SDK (model blocks of 2048)": (RESAMPLE_FIFO, "SDK: model blocks of 2048"),
        } | result["ratio_cases"]
        result["targets"]["resample alone / SDK (model any block)"] = 0.5
        result["targets"]["resample + FIFO 2048 / SDK (model blocks of 2048)"] = 0.6
    result["verdicts"] = verdicts(result)
    plot({"": result["growth"]}, PLOT, "Resampling 48000 <-> 44100 Hz, stereo with knobs, one thread")
    text = report(result, command)
    print(text)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    if args.write_results:
        write_section(SECTION, text)


if __name__ == "__main__":
    main()
