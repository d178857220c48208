"""Host sessions for the native host: the calls, their binary files, and the driver.

A session is a list of host calls (:class:`Configure`, :class:`Process`, :class:`Reset`).
:func:`run_session` writes it to a file, runs ``neutone-native-host`` on it and reads the
result file back, one record per completed call.

Both files are little-endian, without padding; ``u8/u32/u64`` are unsigned, ``i32/i64``
signed, ``f32`` IEEE float32, arrays row-major.

Session file::

    magic  b"NTNS" | version u32 = 2 | call count u32
    then per call, a kind byte and its fields:
    b"C" configure   sample_rate_hz i64 | buffer_size_samples i64
    b"P" process     forward_bt u8 (0 forward, 1 forward_bt) | has_params u8 |
                     channels u32 | samples u32 | audio f32[channels * samples] |
                     params f32[4 * samples] (only when has_params)
    b"R" reset       (no fields)

Result file (appended and flushed call by call, so it holds every call completed before a
crash; a partly written last record is ignored)::

    magic  b"NTNR" | version u32 = 2
    then records:
    b"C" call_index u32 | returned i64 | buffering_delay_samples i64 | model_delay_samples i64
    b"P" call_index u32 | time_ns u64 | cpu_time_ns u64 | has_output u8 |
         (when has_output) ndim u32 | sizes i64[ndim] | output f32[product of sizes]
    b"R" call_index u32
    b"E" error_kind u8 (1 load failure, 2 exception) | call_index i32 (-1 for load failure) |
         message_bytes u32 | message utf-8

``time_ns`` is the steady-clock time of the module call alone (not the tensor wrapping, the
copy out or the hand-over between threads); ``cpu_time_ns`` the realtime thread's CPU time
over the same span (``CLOCK_THREAD_CPUTIME_ID``: the model's own work on its one intra-op
thread, without the time other processes held the core).
"""

from __future__ import annotations

import os
import shutil
import signal
import struct
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Union

import numpy as np
import torch

from neutone_core.errors import HostSettingError, NeutoneError
from neutone_core.tools.native.build import NativeHost, build_native_host

SESSION_MAGIC = b"NTNS"
RESULT_MAGIC = b"NTNR"
FORMAT_VERSION = 2
N_PARAMS = 4
"""Knob rows the host sends with each block."""
PROCESS_METHODS = ("forward", "forward_bt")
INFERENCE_MODES = ("none", "process", "configure", "both")
"""Where the host holds a ``c10::InferenceMode`` guard: nowhere, on the processing thread
(the plugin's arrangement), around configure and reset calls on the main thread, or both."""
DEFAULT_TIMEOUT_S = 120.0
STDERR_TAIL_LINES = 20

EXIT_OK = 0
EXIT_LOAD_FAILURE = 2
EXIT_CALL_EXCEPTION = 3
FailureKind = Literal["exception", "crash", "timeout", "load_failure"]
ERROR_KIND_CODES: dict[int, FailureKind] = {1: "load_failure", 2: "exception"}
"""Error record kind byte -> failure kind."""
ProcessMethod = Literal["forward", "forward_bt"]
InferenceMode = Literal["none", "process", "configure", "both"]


class NativeHostError(NeutoneError):
    """The native host program itself failed (bad command line, malformed session file): a neutone bug."""


# --- calls -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Configure:
    """``set_daw_sample_rate_and_buffer_size(sample_rate_hz, buffer_size_samples)`` on the main thread."""

    sample_rate_hz: int
    buffer_size_samples: int


def _float32_matrix(value: np.ndarray | torch.Tensor, what: str) -> np.ndarray:
    """``value`` as a C-contiguous float32 numpy matrix (copied, so later changes do not leak in)."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    array = np.array(value, dtype=np.float32, order="C", copy=True)
    if array.ndim != 2:
        raise HostSettingError(f"{what} of shape {array.shape}: expected a matrix (rows, samples)")
    return array


@dataclass(frozen=True, eq=False)
class Process:
    """``forward`` or ``forward_bt`` on the realtime thread with audio ``(channels, n)`` and
    knobs ``(4, n)`` (None: the host sends no knobs); both are stored as float32."""

    audio: np.ndarray
    params: np.ndarray | None = None
    method: ProcessMethod = "forward"

    def __post_init__(self) -> None:
        if self.method not in PROCESS_METHODS:
            raise HostSettingError(f"process method {self.method!r}: expected one of {', '.join(PROCESS_METHODS)}")
        audio = _float32_matrix(self.audio, "process audio")
        object.__setattr__(self, "audio", audio)
        if self.params is not None:
            params = _float32_matrix(self.params, "process params")
            if params.shape != (N_PARAMS, audio.shape[1]):
                raise HostSettingError(f"process params of shape {params.shape}: expected ({N_PARAMS}, {audio.shape[1]})")
            object.__setattr__(self, "params", params)


@dataclass(frozen=True)
class Reset:
    """``reset()`` on the main thread."""


HostCall = Union[Configure, Process, Reset]


def describe_call(call: HostCall) -> str:
    """The call as a host would write it, e.g. ``forward(2 x 512, params (4, 512))``."""
    if isinstance(call, Configure):
        return f"set_daw_sample_rate_and_buffer_size({call.sample_rate_hz}, {call.buffer_size_samples})"
    if isinstance(call, Reset):
        return "reset()"
    channels, samples = call.audio.shape
    params = "None" if call.params is None else f"params ({N_PARAMS}, {samples})"
    return f"{call.method}({channels} x {samples}, {params})"


# --- results -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ConfigureResult:
    """What ``set_daw_sample_rate_and_buffer_size`` returned and the delays the model then reported."""

    returned: int
    buffering_delay_samples: int
    model_delay_samples: int

    @property
    def total_delay_samples(self) -> int:
        """``calc_buffering_delay_samples() + calc_model_delay_samples()``, in host samples."""
        return self.buffering_delay_samples + self.model_delay_samples


@dataclass(frozen=True, eq=False)
class ProcessResult:
    """A process call's output (None when ``forward_bt`` returned None), its wall time and the
    calling thread's CPU time in ns."""

    output: np.ndarray | None
    time_ns: int
    cpu_time_ns: int = 0


@dataclass(frozen=True)
class ResetResult:
    """A completed ``reset()``."""


CallResult = Union[ConfigureResult, ProcessResult, ResetResult]


@dataclass(frozen=True)
class NativeHostFailure:
    """Why a session stopped: the call it stopped in (None: the model did not load) and the message."""

    kind: FailureKind
    call_index: int | None
    message: str

    @property
    def headline(self) -> str:
        """One line: an exception's last (TorchScript puts its type and text there), else the first."""
        lines = self.message.strip().splitlines()
        if not lines:
            return ""
        return lines[-1] if self.kind == "exception" else lines[0]


@dataclass(frozen=True)
class NativeSessionResult:
    """One result per completed call, in call order, and the failure that stopped the session, if any."""

    results: list[CallResult]
    failure: NativeHostFailure | None
    stderr: str = field(repr=False, default="")

    @property
    def completed_calls(self) -> int:
        """How many calls completed (the index of the call that failed, when one did)."""
        return len(self.results)

    @property
    def ok(self) -> bool:
        """Whether every call of the session completed."""
        return self.failure is None


# --- files -------------------------------------------------------------------------------


def _call_bytes(call: HostCall) -> bytes:
    """One call in the session file's layout."""
    if isinstance(call, Configure):
        return b"C" + struct.pack("<qq", call.sample_rate_hz, call.buffer_size_samples)
    if isinstance(call, Reset):
        return b"R"
    channels, samples = call.audio.shape
    header = struct.pack("<BBII", call.method == "forward_bt", call.params is not None, channels, samples)
    params = b"" if call.params is None else call.params.tobytes()
    return b"P" + header + call.audio.tobytes() + params


def write_session(calls: Sequence[HostCall], path: str | os.PathLike[str]) -> None:
    """Write ``calls`` as a session file (layout in this module's docstring)."""
    with open(path, "wb") as file:
        file.write(SESSION_MAGIC + struct.pack("<II", FORMAT_VERSION, len(calls)))
        for call in calls:
            file.write(_call_bytes(call))


class _Truncated(Exception):
    """The result file ends inside a record (the host died while writing it)."""


class _ResultReader:
    """Reads result records from the bytes of a result file."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.offset = 0

    def unpack(self, layout: str) -> tuple[Any, ...]:
        """Fields of ``struct`` ``layout`` (little-endian) at the current offset."""
        size = struct.calcsize("<" + layout)
        if self.offset + size > len(self.data):
            raise _Truncated
        values = struct.unpack_from("<" + layout, self.data, self.offset)
        self.offset += size
        return values

    def floats(self, shape: tuple[int, ...]) -> np.ndarray:
        """A float32 array of ``shape`` at the current offset (a writable copy)."""
        count = int(np.prod(shape, dtype=np.int64))
        end = self.offset + 4 * count
        if end > len(self.data):
            raise _Truncated
        array = np.frombuffer(self.data, dtype="<f4", count=count, offset=self.offset).reshape(shape).copy()
        self.offset = end
        return array

    def record(self) -> CallResult | NativeHostFailure:
        """The next record."""
        (kind,) = self.unpack("c")
        if kind == b"C":
            _, returned, buffering, model = self.unpack("Iqqq")
            return ConfigureResult(returned, buffering, model)
        if kind == b"P":
            _, time_ns, cpu_time_ns, has_output = self.unpack("IQQB")
            if not has_output:
                return ProcessResult(None, time_ns, cpu_time_ns)
            (ndim,) = self.unpack("I")
            shape = self.unpack(f"{ndim}q")
            return ProcessResult(self.floats(shape), time_ns, cpu_time_ns)
        if kind == b"R":
            self.unpack("I")
            return ResetResult()
        if kind == b"E":
            code, index, length = self.unpack("BiI")
            if self.offset + length > len(self.data):
                raise _Truncated
            message = self.data[self.offset : self.offset + length].decode("utf-8", errors="replace")
            self.offset += length
            return NativeHostFailure(ERROR_KIND_CODES[code], None if index < 0 else index, message.strip())
        raise NativeHostError(f"result file: unknown record kind {kind!r} at byte {self.offset - 1}")


def read_results(path: str | os.PathLike[str]) -> tuple[list[CallResult], NativeHostFailure | None]:
    """The completed calls' results in a result file and the error record, if the host wrote one.

    A missing or empty file reads as no results; a partly written last record is dropped."""
    data = Path(path).read_bytes() if Path(path).is_file() else b""
    if len(data) < 8:
        return [], None
    if data[:4] != RESULT_MAGIC or struct.unpack_from("<I", data, 4)[0] != FORMAT_VERSION:
        raise NativeHostError(f"{path} is not a version {FORMAT_VERSION} native-host result file")
    reader = _ResultReader(data)
    reader.offset = 8
    results: list[CallResult] = []
    while reader.offset < len(data):
        try:
            record = reader.record()
        except _Truncated:
            break
        if isinstance(record, NativeHostFailure):
            return results, record
        results.append(record)
    return results, None


# --- driver ------------------------------------------------------------------------------


class NativeSession:
    """A native host process running one session; :meth:`wait` collects its result.

    Use as a context manager (or call :meth:`wait`) so the process and its files are cleaned up."""

    def __init__(
        self,
        model_path: str | os.PathLike[str],
        calls: Sequence[HostCall],
        inference_mode: InferenceMode = "process",
        intra_op_threads: int = 1,
        host: NativeHost | None = None,
    ) -> None:
        if inference_mode not in INFERENCE_MODES:
            raise HostSettingError(f"inference_mode {inference_mode!r}: expected one of {', '.join(INFERENCE_MODES)}")
        if intra_op_threads < 1:
            raise HostSettingError(f"intra_op_threads {intra_op_threads}: must be >= 1")
        self.calls = list(calls)
        host = host if host is not None else build_native_host()
        self.folder = Path(tempfile.mkdtemp(prefix="neutone-native-session-"))
        self.session_path = self.folder / "session.bin"
        self.result_path = self.folder / "result.bin"
        self.stderr_path = self.folder / "stderr.txt"
        command = [str(host.path), str(model_path), str(self.session_path), str(self.result_path)]
        command += ["--inference-mode", inference_mode, "--intra-op-threads", str(intra_op_threads)]
        try:
            write_session(self.calls, self.session_path)
            with open(self.stderr_path, "wb") as stderr:
                self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr)
        except BaseException:
            shutil.rmtree(self.folder, ignore_errors=True)
            raise

    @property
    def pid(self) -> int:
        """The host process id."""
        return self.process.pid

    def completed_calls(self) -> int:
        """How many calls the host has completed so far."""
        return len(read_results(self.result_path)[0])

    def wait(self, timeout_s: float = DEFAULT_TIMEOUT_S) -> NativeSessionResult:
        """Wait up to ``timeout_s`` seconds for the session to end (then kill it) and read its result."""
        try:
            try:
                returncode: int | None = self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                returncode = None
            results, record = read_results(self.result_path)
            stderr = self.stderr_path.read_text(errors="replace")
            failure = self._failure(returncode, timeout_s, results, record, stderr)
            return NativeSessionResult(results, failure, stderr)
        finally:
            self.close()

    def close(self) -> None:
        """Kill the host if it still runs and delete the session's files."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> NativeSession:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _stopped_in(self, completed: int) -> str:
        """``call N: <the call>`` for the call after the ``completed`` ones."""
        if completed >= len(self.calls):
            return f"after the last call ({len(self.calls)} completed)"
        return f"in call {completed}: {describe_call(self.calls[completed])}"

    def _failure(
        self,
        returncode: int | None,
        timeout_s: float,
        results: list[CallResult],
        record: NativeHostFailure | None,
        stderr: str,
    ) -> NativeHostFailure | None:
        """Classify how the host process ended."""
        completed = len(results)
        tail = "\n".join(stderr.strip().splitlines()[-STDERR_TAIL_LINES:])
        if returncode is None:
            return NativeHostFailure("timeout", completed, f"the session ran over {timeout_s:g} s, {self._stopped_in(completed)}")
        if returncode < 0:
            name = signal.Signals(-returncode).name
            message = f"the host process died from {name} {self._stopped_in(completed)}"
            return NativeHostFailure("crash", completed, message + (f"\n{tail}" if tail else ""))
        if returncode in (EXIT_LOAD_FAILURE, EXIT_CALL_EXCEPTION) and record is not None:
            return record
        if returncode == EXIT_OK and completed == len(self.calls):
            return None
        raise NativeHostError(
            f"the native host exited with code {returncode} after {completed} of {len(self.calls)} calls:\n{tail}"
        )


def run_session(
    model_path: str | os.PathLike[str],
    calls: Sequence[HostCall],
    inference_mode: InferenceMode = "process",
    intra_op_threads: int = 1,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    host: NativeHost | None = None,
) -> NativeSessionResult:
    """Run ``calls`` against ``model_path`` in the native host (built on first use) and return
    each completed call's result, or how the session failed.

    ``inference_mode``: where the host holds ``c10::InferenceMode`` (see ``INFERENCE_MODES``);
    ``intra_op_threads``: ``at::set_num_threads`` on the processing thread; ``timeout_s``: the
    whole session's limit in seconds, after which the host is killed."""
    with NativeSession(model_path, calls, inference_mode, intra_op_threads, host) as session:
        return session.wait(timeout_s)


# --- timing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class BlockTimeSummary:
    """Times of the process calls of one block size at one host rate, against the block's deadline."""

    sample_rate_hz: int
    block_size_samples: int
    blocks: int
    median_us: float
    p99_us: float
    max_us: float
    deadline_us: float
    """``block_size_samples / sample_rate_hz``: the time the host has for the block."""
    late_blocks: int
    """Blocks that took longer than the deadline."""


def _block_times_ns(calls: Sequence[HostCall], result: NativeSessionResult) -> dict[tuple[int, int], list[int]]:
    """Completed process calls' times in ns by (host rate Hz, block size samples). Left out: calls
    before the first configure (their rate is the model's guess, not the host's) and empty
    blocks (no deadline)."""
    times: dict[tuple[int, int], list[int]] = {}
    sample_rate_hz = 0
    for call, outcome in zip(calls, result.results, strict=False):
        if isinstance(call, Configure):
            sample_rate_hz = call.sample_rate_hz
        elif isinstance(call, Process) and isinstance(outcome, ProcessResult) and sample_rate_hz > 0 and call.audio.shape[1] > 0:
            times.setdefault((sample_rate_hz, call.audio.shape[1]), []).append(outcome.time_ns)
    return times


def summarise_block_times(calls: Sequence[HostCall], result: NativeSessionResult) -> list[BlockTimeSummary]:
    """Median, p99 and max time per block (microseconds) for each (host rate, block size) in the
    session, against the block's deadline; sorted by rate, then size."""
    summaries = []
    for (sample_rate_hz, block_size), times_ns in sorted(_block_times_ns(calls, result).items()):
        times_us = np.asarray(times_ns, dtype=np.float64) / 1000.0
        deadline_us = 1e6 * block_size / sample_rate_hz
        summaries.append(
            BlockTimeSummary(
                sample_rate_hz=sample_rate_hz,
                block_size_samples=block_size,
                blocks=len(times_us),
                median_us=float(np.median(times_us)),
                p99_us=float(np.percentile(times_us, 99)),
                max_us=float(times_us.max()),
                deadline_us=deadline_us,
                late_blocks=int(np.count_nonzero(times_us > deadline_us)),
            )
        )
    return summaries
