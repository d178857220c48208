"""Bad input from the host: no crash, finite output, and the model recovers.

The host may send NaN, Inf, huge values (1e30), denormals, silence, DC, full-scale noise,
knobs outside 0..1 or NaN, float64 blocks, non-contiguous blocks and integer audio. A model
must not raise on any of it except integer audio and knobs (the contract refuses them), and
must keep working after such a refusal. Its output must stay finite, except while huge
values last (a model may overflow on 1e30); then it must be finite again from the reported
delay plus one native block (in host samples) after clean input resumes. The float32 kinds
run in the chosen host; the dtype and stride kinds in Python (the native host sends float32).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from neutone_core.scripting import describe_script_failure
from neutone_core.tools.bench import torch_threads
from neutone_core.tools.host import configure
from neutone_core.tools.native.session import N_PARAMS, Configure, Process, describe_call
from neutone_core.tools.validate.model_file import ModelFile
from neutone_core.tools.validate.options import ValidationOptions
from neutone_core.tools.validate.outputs import first_problem, problem_result
from neutone_core.tools.validate.report import CheckResult, Reproduction, counted
from neutone_core.tools.validate.runners import NATIVE, PYTHON, run_sequences
from neutone_core.tools.validate.sessions import HostSequence, noise, random_setting, sequence_rng

NAME = "bad_host_input"
DESCRIPTION = "NaN/Inf/huge/denormal/DC/silent/full-scale audio, bad knobs, float64, strided blocks: finite output, recovery"

BAD_INPUT_STREAM = 3
FIRST_SETTING = (48000, 512)
SMALLEST_BUFFER_SIZE = 32
"""Random settings of this check use buffers of at least this size (tiny ones are the sessions' job)."""
BAD_BLOCKS = 2
"""Blocks of each bad kind in a row."""

Audio = Callable[[np.random.Generator, int, int], np.ndarray]


@dataclass(frozen=True)
class BadKind:
    """One kind of bad input: its audio and knobs ``(rng, channels, samples) -> array``, and
    whether non-finite output is allowed while it lasts."""

    name: str
    audio: Audio
    knobs: Callable[[np.random.Generator, int], np.ndarray] | None = None
    may_overflow: bool = False


def _filled(value: float) -> Audio:
    return lambda rng, channels, samples: np.full((channels, samples), value, dtype=np.float32)


def _sprinkled_nan(rng: np.random.Generator, channels: int, samples: int) -> np.ndarray:
    audio = noise(rng, channels, samples)
    audio[rng.random((channels, samples)) < 0.01] = np.nan
    return audio


def _knobs(value: float) -> Callable[[np.random.Generator, int], np.ndarray]:
    return lambda rng, samples: np.full((N_PARAMS, samples), value, dtype=np.float32)


def _clean(rng: np.random.Generator, channels: int, samples: int) -> np.ndarray:
    return noise(rng, channels, samples, 0.5)


BAD_KINDS = (
    BadKind("NaN audio", _filled(math.nan)),
    BadKind("NaN samples among noise", _sprinkled_nan),
    BadKind("+Inf audio", _filled(math.inf)),
    BadKind("-Inf audio", _filled(-math.inf)),
    BadKind("1e30 audio", lambda rng, channels, samples: noise(rng, channels, samples, 1e30), may_overflow=True),
    BadKind("denormal audio", lambda rng, channels, samples: noise(rng, channels, samples, 1e-40)),
    BadKind("silence", _filled(0.0)),
    BadKind("DC at full scale", _filled(1.0)),
    BadKind("full-scale noise", lambda rng, channels, samples: np.sign(noise(rng, channels, samples)).astype(np.float32)),
    BadKind("knobs at 1e30", _clean, _knobs(1e30)),
    BadKind("knobs at -5", _clean, _knobs(-5.0)),
    BadKind("NaN knobs", _clean, _knobs(math.nan)),
    BadKind("Inf knobs", _clean, _knobs(math.inf)),
)
"""The float32 kinds, in the order they are sent."""


def native_block_in_host_samples(module: torch.jit.ScriptModule, model: ModelFile, sample_rate: int, buffer_size: int) -> int:
    """The model's block at a configured setting, in host samples (the root tells; else from
    the metadata: the largest native size at the nearest native rate)."""
    if hasattr(module, "get_model_buffer_size") and hasattr(module, "get_model_sample_rate"):
        size, rate = int(module.get_model_buffer_size()), int(module.get_model_sample_rate())
    else:
        rates = model.native_sample_rates
        size = max(model.native_buffer_sizes, default=buffer_size)
        rate = min(rates, key=lambda r: abs(r - sample_rate)) if rates else sample_rate
    return -(-size * sample_rate // max(rate, 1))


def _setting(rng: np.random.Generator, index: int) -> tuple[int, int]:
    """The sequence's setting, drawn first from its generator: 48 kHz / 512 for the first."""
    if index == 0:
        return FIRST_SETTING
    sample_rate, buffer_size = random_setting(rng)
    return sample_rate, max(buffer_size, SMALLEST_BUFFER_SIZE)


def bad_input_sequence(seed: int, index: int, recovery_samples: int, settle_samples: int) -> tuple[HostSequence, set[int]]:
    """Bad-input sequence ``index`` of ``seed``: a setting, then each kind of :data:`BAD_KINDS`
    followed by clean noise for ``recovery_samples`` plus ``settle_samples``; and the indices of
    the calls whose output may be non-finite (a kind that may overflow, and the recovery after it)."""
    rng = sequence_rng(seed, BAD_INPUT_STREAM, index)
    sample_rate, buffer_size = _setting(rng, index)
    sequence = HostSequence(
        f"bad-input sequence {index}",
        f"bad_input.bad_input_sequence(seed={seed}, index={index}, recovery_samples={recovery_samples}, "
        f"settle_samples={settle_samples})[0]",
    )
    sequence.add(Configure(sample_rate, buffer_size))
    excused: set[int] = set()
    channels = 2 if index == 0 else int(rng.integers(1, 3))
    for kind in BAD_KINDS:
        for _ in range(BAD_BLOCKS):
            knobs = kind.knobs(rng, buffer_size) if kind.knobs else None
            call = sequence.add(Process(kind.audio(rng, channels, buffer_size), knobs), kind.name)
            if kind.may_overflow:
                excused.add(call)
        clean_samples = 0
        while clean_samples < recovery_samples + settle_samples:
            call = sequence.add(Process(_clean(rng, channels, buffer_size)), f"clean after {kind.name}")
            if kind.may_overflow and clean_samples < recovery_samples:
                excused.add(call)
            clean_samples += buffer_size
    return sequence, excused


PYTHON_KINDS: dict[str, Callable[[int, int], tuple[torch.Tensor, torch.Tensor | None]]] = {
    "float64 audio and knobs": lambda c, n: (torch.rand(c, n, dtype=torch.float64) - 0.5, torch.rand(4, n, dtype=torch.float64)),
    "non-contiguous audio": lambda c, n: ((torch.rand(n, c) - 0.5).T, None),
    "non-contiguous knobs": lambda c, n: (torch.rand(c, n) - 0.5, torch.rand(n, 4).T),
    "every other sample of a longer block": lambda c, n: ((torch.rand(c, 2 * n) - 0.5)[:, ::2], torch.rand(4, 2 * n)[:, ::2]),
}
"""Kinds only Python can send: ``(channels, samples) -> (audio, knobs)``; each must be processed."""

REFUSABLE_KINDS: dict[str, Callable[[int, int], tuple[torch.Tensor, torch.Tensor | None]]] = {
    "int16 audio": lambda c, n: (torch.randint(-32768, 32767, (c, n), dtype=torch.int16), None),
    "int64 knobs": lambda c, n: (torch.rand(c, n) - 0.5, torch.ones(4, n, dtype=torch.int64)),
}
"""Kinds the contract refuses: a clear error, or finite output; either way the next block works."""


def describe_tensors(audio: torch.Tensor, knobs: torch.Tensor | None) -> str:
    """``forward(...)`` with what is odd about the tensors: their dtype, and strides that are not contiguous."""

    def tensor(value: torch.Tensor) -> str:
        dtype = "" if value.dtype == torch.float32 else f"{str(value.dtype).removeprefix('torch.')} "
        strided = "" if value.is_contiguous() else f" strided {tuple(value.stride())}"
        return f"{dtype}{' x '.join(map(str, value.shape))}{strided}"

    return f"forward({tensor(audio)}, {'None' if knobs is None else 'params ' + tensor(knobs)})"


def python_kinds(model: ModelFile, sample_rate: int, buffer_size: int, seed: int) -> tuple[str, list[str], Reproduction | None]:
    """Send each Python-only kind, then a clean block; what failed (``""``: nothing), how the
    refusable kinds were answered, and for a failure the calls up to it."""
    module = model.fresh()
    configure(module, sample_rate, buffer_size, 2)
    clean = torch.rand(2, buffer_size) - 0.5
    answers: list[str] = []
    calls = [describe_call(Configure(sample_rate, buffer_size))]

    def failed(message: str) -> tuple[str, list[str], Reproduction]:
        regenerate = f"bad_input.python_kinds(model, sample_rate={sample_rate}, buffer_size={buffer_size}, seed={seed})"
        sequence = f"Python-only bad input at {sample_rate} Hz / {buffer_size}"
        return message, answers, Reproduction(seed, sequence, regenerate, tuple(calls), len(calls) - 1)

    with torch_threads(1), torch.inference_mode():
        for name, make in {**PYTHON_KINDS, **REFUSABLE_KINDS}.items():
            audio, knobs = make(2, buffer_size)
            calls.append(f"{describe_tensors(audio, knobs)} [{name}]")
            try:
                output = module(audio, knobs)
            except Exception as exc:
                if name not in REFUSABLE_KINDS:
                    return failed(f"{name} at {sample_rate} Hz / {buffer_size}: raised {describe_script_failure(exc)}")
                answers.append(f"{name} refused ({describe_script_failure(exc).rsplit('): ', 1)[-1]})")
            else:
                finite = bool(output.isfinite().all())
                if tuple(output.shape) != tuple(audio.shape) or output.dtype != torch.float32 or not finite:
                    returned = f"{output.dtype} {tuple(output.shape)}{'' if finite else ' with non-finite samples'}"
                    expected = f"finite float32 {tuple(audio.shape)}"
                    return failed(f"{name} at {sample_rate} Hz / {buffer_size}: returned {returned}, expected {expected}")
                if name in REFUSABLE_KINDS:
                    answers.append(f"{name} processed")
            calls.append(f"{describe_tensors(clean, None)} [clean after {name}]")
            try:
                after = module(clean, None)
            except Exception as exc:
                return failed(f"a clean block after {name} raised {describe_script_failure(exc)}: the model did not recover")
            if not bool(after.isfinite().all()):
                return failed(f"a clean block after {name} gave non-finite output: the model did not recover")
    return "", answers, None


def check(model: ModelFile, options: ValidationOptions) -> CheckResult:
    """At each setting: the float32 kinds through the chosen host, the others in Python."""
    host = NATIVE if options.native else PYTHON
    settings = options.budget.bad_input_settings
    answers: list[str] = []
    for index in range(settings):
        sample_rate, buffer_size = _setting(sequence_rng(options.seed, BAD_INPUT_STREAM, index), index)
        module = model.fresh()
        delay = configure(module, sample_rate, buffer_size, 2)
        native_block = native_block_in_host_samples(module, model, sample_rate, buffer_size)
        sequence, excused = bad_input_sequence(options.seed, index, delay + native_block, 2 * native_block + buffer_size)
        run = next(run_sequences(model, [sequence], options.native, options.seed))
        problem = first_problem(run, lambda call, excused=excused: call not in excused)
        if problem is not None:
            return problem_result(NAME, sequence, problem, options.seed, host)
        failure, answers, reproduction = python_kinds(model, sample_rate, buffer_size, options.seed)
        if failure:
            return CheckResult(NAME, "fail", failure, PYTHON, reproduction)
    refusals = "; ".join(dict.fromkeys(answers))
    kinds = len(BAD_KINDS) + len(PYTHON_KINDS) + len(REFUSABLE_KINDS)
    return CheckResult(
        NAME, "pass",
        f"{kinds} kinds of bad host input at {counted(settings, 'host setting')}: no exception, finite output "
        f"(huge values: finite again within the delay plus one native block); {refusals}",
        host,
    )
