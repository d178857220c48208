"""Run host call sequences through a model: in Python, or in the C++ native host.

Both hosts drive the model the way Neutone FX does: ``set_daw_sample_rate_and_buffer_size``
then the two delay getters on a setting change, ``reset()``, and ``forward`` or
``forward_bt`` per block on one intra-op thread under inference mode. Both return the native
host's :class:`~neutone_core.tools.native.session.NativeSessionResult` (one result per completed
call, the failure that stopped the sequence), so the same checks read either. Many sequences
go through one loaded model (Python) or one host process (native, in batches), for speed.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import torch

from neutone_core.scripting import describe_script_failure
from neutone_core.tools.bench import torch_threads
from neutone_core.tools.native.build import build_native_host
from neutone_core.tools.native.session import (
    CallResult,
    Configure,
    ConfigureResult,
    HostCall,
    NativeHostFailure,
    NativeSessionResult,
    Process,
    ProcessResult,
    ResetResult,
    run_session,
)
from neutone_core.tools.validate.model_file import ModelFile
from neutone_core.tools.validate.sessions import HostSequence

PYTHON = "python"
NATIVE = "native"

NATIVE_BATCH_BYTES = 48 * 2**20
"""Most audio and knob bytes one native host process is sent (its outputs come back as many)."""

NATIVE_TIMEOUT_S = 120.0
NATIVE_TIMEOUT_PER_CALL_S = 0.25
"""A native batch may take this long, plus this per call, before it counts as hung."""


@dataclass
class SequenceRun:
    """A sequence and what the host made of it."""

    sequence: HostSequence
    result: NativeSessionResult


def _expect_int(value: object, method: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{method}() returned {type(value).__name__}: the host expects int")
    return value


def _configure(module: torch.jit.ScriptModule, call: Configure) -> ConfigureResult:
    returned = _expect_int(module.set_daw_sample_rate_and_buffer_size(call.sample_rate_hz, call.buffer_size_samples),
                           "set_daw_sample_rate_and_buffer_size")
    buffering = _expect_int(module.calc_buffering_delay_samples(), "calc_buffering_delay_samples")
    return ConfigureResult(returned, buffering, _expect_int(module.calc_model_delay_samples(), "calc_model_delay_samples"))


def _process(module: torch.jit.ScriptModule, call: Process) -> ProcessResult:
    """One block under inference mode, the model given copies (it may write into its inputs)."""
    audio = torch.from_numpy(call.audio.copy())
    params = None if call.params is None else torch.from_numpy(call.params.copy())
    method = getattr(module, call.method)
    with torch.inference_mode():
        start, cpu_start = time.perf_counter_ns(), time.thread_time_ns()
        output = method(audio, params)
        elapsed, cpu_elapsed = time.perf_counter_ns() - start, time.thread_time_ns() - cpu_start
    if output is None:
        if call.method == "forward":
            raise TypeError("forward() returned None: the host expects a float32 tensor")
        return ProcessResult(None, elapsed, cpu_elapsed)
    if not isinstance(output, torch.Tensor):
        raise TypeError(f"{call.method}() returned {type(output).__name__}: the host expects a float32 tensor")
    if output.dtype != torch.float32:
        raise TypeError(f"{call.method}() returned a tensor of dtype {output.dtype}: the host expects float32")
    return ProcessResult(output.numpy().copy(), elapsed, cpu_elapsed)


def run_in_python(module: torch.jit.ScriptModule, calls: Sequence[HostCall], seed: int | None = None) -> NativeSessionResult:
    """Run ``calls`` on ``module`` as the native host would, on one intra-op thread; torch's RNG
    seeded with ``seed`` first (None: left as it is). A call that raises stops the sequence."""
    if seed is not None:
        torch.manual_seed(seed)
    results: list[CallResult] = []
    with torch_threads(1):
        for index, call in enumerate(calls):
            try:
                if isinstance(call, Configure):
                    results.append(_configure(module, call))
                elif isinstance(call, Process):
                    results.append(_process(module, call))
                else:
                    module.reset()
                    results.append(ResetResult())
            except Exception as exc:
                return NativeSessionResult(results, NativeHostFailure("exception", index, describe_script_failure(exc)))
    return NativeSessionResult(results, None)


def _call_bytes(call: HostCall) -> int:
    if not isinstance(call, Process):
        return 0
    return call.audio.nbytes + (0 if call.params is None else call.params.nbytes)


def _batches(sequences: Iterable[HostSequence]) -> Iterator[list[HostSequence]]:
    batch: list[HostSequence] = []
    size = 0
    for sequence in sequences:
        cost = sum(_call_bytes(call) for call in sequence.calls)
        if batch and size + cost > NATIVE_BATCH_BYTES:
            yield batch
            batch, size = [], 0
        batch.append(sequence)
        size += cost
    if batch:
        yield batch


def _split(batch: list[HostSequence], result: NativeSessionResult) -> Iterator[SequenceRun]:
    """One run per sequence of a batch, up to the one the batch stopped in."""
    start = 0
    for sequence in batch:
        end = start + len(sequence.calls)
        failure = result.failure
        if failure is not None and (failure.call_index is None or failure.call_index < end):
            local = None if failure.call_index is None else failure.call_index - start
            stopped = NativeHostFailure(failure.kind, local, failure.message)
            yield SequenceRun(sequence, NativeSessionResult(result.results[start:], stopped))
            return
        yield SequenceRun(sequence, NativeSessionResult(result.results[start:end], None))
        start = end


def run_sequences(model: ModelFile, sequences: Iterable[HostSequence], native: bool, seed: int) -> Iterator[SequenceRun]:
    """Run ``sequences`` in order through one load of the model (Python: one fresh copy, torch's
    RNG seeded with ``seed`` before each sequence; native: one host process per batch, each
    starting from torch's default seed). Stops after the first sequence a call failed in."""
    if native:
        host = build_native_host()
        for batch in _batches(sequences):
            calls = [call for sequence in batch for call in sequence.calls]
            timeout = NATIVE_TIMEOUT_S + NATIVE_TIMEOUT_PER_CALL_S * len(calls)
            result = run_session(model.path, calls, timeout_s=timeout, host=host)
            for run in _split(batch, result):
                yield run
                if not run.result.ok:
                    return
        return
    module = model.fresh()
    for sequence in sequences:
        result = run_in_python(module, sequence.calls, seed)
        yield SequenceRun(sequence, result)
        if not result.ok:
            return
