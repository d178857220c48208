"""The native host: built against the installed LibTorch, it runs model.nm as Neutone FX does."""

import os
import signal
import struct
import subprocess
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np
import pytest
import torch
from torch import Tensor, nn

from neutone_core import save_neutone_model
from neutone_core.errors import HostSettingError
from neutone_core.scripting import torchscript_quietly
from neutone_core.testing import PassThroughWrapper
from neutone_core.tools.native import build
from neutone_core.tools.native.build import NativeHost, NativeHostBuildError, build_native_host
from neutone_core.tools.native.session import (
    CallResult,
    Configure,
    ConfigureResult,
    HostCall,
    NativeSession,
    NativeSessionResult,
    Process,
    ProcessResult,
    Reset,
    ResetResult,
    read_results,
    run_session,
    summarise_block_times,
    write_session,
)
from neutone_core.tools.sources import load_wrapper_from_file

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
FAST_EXPORT = {"sample_sounds", "realtime", "delay_reported", "block_partition", "no_allocations", "host_sessions",
               "reset_clears_state", "deterministic", "bad_host_input", "knobs"}
FAILING_BLOCK_SAMPLES = 7
"""Block length on which the purpose-built bad models raise or hang (the export checks never send it)."""


class RaisesOnSevenSampleBlocks(PassThroughWrapper):
    """Passes audio through, but raises on a 7-sample block."""

    def do_forward_pass(self, x: Tensor, params: Dict[str, Tensor]) -> Tensor:
        if x.size(1) == 7:
            raise ValueError("blocks of 7 samples are not supported")
        return x


class HangsOnSevenSampleBlocks(PassThroughWrapper):
    """Passes audio through, but never returns from a 7-sample block."""

    def do_forward_pass(self, x: Tensor, params: Dict[str, Tensor]) -> Tensor:
        if x.size(1) == 7:
            i = 0
            while i >= 0:
                i += 1
        return x


class RebindsItsState(PassThroughWrapper):
    """Keeps the last block in a tensor it rebinds (an inference tensor under InferenceMode)
    and clears in place on reset, as many research models do."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("last_block", torch.zeros(2, 1))

    def reset_model(self) -> bool:
        self.last_block.zero_()
        return True

    def do_forward_pass(self, x: Tensor, params: Dict[str, Tensor]) -> Tensor:
        self.last_block = x.clone()
        return x


class BuffersFirstBlock(nn.Module):
    """A bare host contract whose ``forward_bt`` returns None for its first block."""

    def __init__(self) -> None:
        super().__init__()
        self.blocks_seen = 0

    def forward(self, x: Tensor, params: Optional[Tensor] = None) -> Tensor:
        return x

    @torch.jit.export
    def forward_bt(self, x: Tensor, params: Optional[Tensor] = None) -> Optional[Tensor]:
        self.blocks_seen += 1
        if self.blocks_seen == 1:
            return None
        return x

    @torch.jit.export
    def set_daw_sample_rate_and_buffer_size(
        self, daw_sr: int, daw_bs: int, model_sr: Optional[int] = None, model_bs: Optional[int] = None
    ) -> Optional[int]:
        return None if daw_bs == 13 else daw_bs

    @torch.jit.export
    def calc_buffering_delay_samples(self) -> int:
        return 3

    @torch.jit.export
    def calc_model_delay_samples(self) -> int:
        return 4

    @torch.jit.export
    def reset(self) -> None:
        self.blocks_seen = 0


def export(wrapper: object, folder: Path) -> Path:
    return save_neutone_model(wrapper, folder, skip_checks=FAST_EXPORT).model_path


@pytest.fixture(scope="module")
def native_host() -> NativeHost:
    host = build_native_host()
    print(f"native host: {host.path} ({'cached' if host.from_cache else f'built in {host.build_time_s:.1f} s'})")
    return host


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Path]:
    root = tmp_path_factory.mktemp("native-models")
    stub = root / "stub.nm"
    with torchscript_quietly():
        torch.jit.save(torch.jit.script(BuffersFirstBlock()), str(stub))
    return {
        "clipper": export(load_wrapper_from_file(f"{EXAMPLES / 'clipper.py'}:ClipperModelWrapper"), root / "clipper"),
        "resampling": export(PassThroughWrapper(native_sample_rates=[44100], native_buffer_sizes=[2048]), root / "resampling"),
        "raises": export(RaisesOnSevenSampleBlocks(), root / "raises"),
        "hangs": export(HangsOnSevenSampleBlocks(), root / "hangs"),
        "rebinds": export(RebindsItsState(), root / "rebinds"),
        "stub": stub,
    }


@pytest.fixture
def one_intra_op_thread() -> Iterator[None]:
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def block(rng: np.random.Generator, channels: int, samples: int, params: bool = True, method: str = "forward") -> Process:
    audio = rng.uniform(-1.5, 1.5, (channels, samples))
    return Process(audio, rng.uniform(0, 1, (4, samples)) if params else None, method)


def mixed_session(seed: int = 0) -> List[HostCall]:
    """Settings changes, both methods, mono and stereo, no knobs, short and over-long blocks, resets."""
    rng = np.random.default_rng(seed)
    return [
        Configure(48000, 512),
        block(rng, 2, 512),
        block(rng, 2, 512, params=False),
        block(rng, 2, 512, method="forward_bt"),
        block(rng, 1, 512),
        block(rng, 2, 100),
        block(rng, 2, 1300),
        Reset(),
        block(rng, 2, 512),
        Configure(44100, 2048),
        block(rng, 2, 2048),
        block(rng, 1, 2048, method="forward_bt"),
        block(rng, 2, 333),
        block(rng, 2, 2048),
    ]


def replay_in_python(model_path: Path, calls: Sequence[HostCall]) -> List[CallResult]:
    """The same calls through Python's ``torch.jit.load``, processing under inference mode like the host."""
    with torchscript_quietly():
        model = torch.jit.load(str(model_path))
    results: List[CallResult] = []
    for call in calls:
        if isinstance(call, Configure):
            returned = model.set_daw_sample_rate_and_buffer_size(call.sample_rate_hz, call.buffer_size_samples)
            results.append(ConfigureResult(returned, model.calc_buffering_delay_samples(), model.calc_model_delay_samples()))
        elif isinstance(call, Reset):
            model.reset()
            results.append(ResetResult())
        else:
            with torch.inference_mode():
                params = None if call.params is None else torch.from_numpy(call.params.copy())
                output = getattr(model, call.method)(torch.from_numpy(call.audio.copy()), params)
                results.append(ProcessResult(None if output is None else output.numpy().copy(), 0))
    return results


def assert_same_results(native: NativeSessionResult, python: List[CallResult]) -> None:
    assert native.ok, native.failure
    assert len(native.results) == len(python)
    for index, (ours, theirs) in enumerate(zip(native.results, python, strict=True)):
        assert type(ours) is type(theirs), index
        if isinstance(ours, ProcessResult):
            assert ours.output is not None and theirs.output is not None
            assert ours.output.shape == theirs.output.shape, index
            assert np.array_equal(ours.output, theirs.output), f"call {index}: outputs differ"
            assert ours.time_ns > 0 and 0 < ours.cpu_time_ns <= ours.time_ns + 100_000, "CPU time over the call's own span"
        else:
            assert ours == theirs, index


@pytest.mark.slow
@pytest.mark.parametrize("model", ["clipper", "resampling"])
def test_native_outputs_equal_python_bit_for_bit(
    native_host: NativeHost, models: Dict[str, Path], model: str, one_intra_op_thread: None
) -> None:
    calls = mixed_session()
    native = run_session(models[model], calls, host=native_host)
    assert_same_results(native, replay_in_python(models[model], calls))
    first = native.results[0]
    assert isinstance(first, ConfigureResult) and first.returned == 512
    if model == "resampling":
        assert first.total_delay_samples > 0


@pytest.mark.slow
def test_more_intra_op_threads_and_every_inference_mode_give_the_same_output(
    native_host: NativeHost, models: Dict[str, Path], one_intra_op_thread: None
) -> None:
    calls = mixed_session(seed=1)
    expected = replay_in_python(models["resampling"], calls)
    for inference_mode in ("none", "both"):
        native = run_session(models["resampling"], calls, inference_mode=inference_mode, intra_op_threads=2, host=native_host)
        assert_same_results(native, expected)


@pytest.mark.slow
def test_forward_bt_returning_none_and_the_reported_delays(native_host: NativeHost, models: Dict[str, Path]) -> None:
    rng = np.random.default_rng(2)
    calls = [Configure(48000, 64), block(rng, 2, 64, method="forward_bt"), block(rng, 2, 64, method="forward_bt")]
    result = run_session(models["stub"], calls, host=native_host)
    assert result.ok, result.failure
    configured, first, second = result.results
    assert configured == ConfigureResult(64, 3, 4) and configured.total_delay_samples == 7
    assert isinstance(first, ProcessResult) and first.output is None
    assert isinstance(second, ProcessResult) and np.array_equal(second.output, calls[2].audio)


@pytest.mark.slow
def test_a_configure_that_returns_no_int_is_an_exception_of_that_call(native_host: NativeHost, models: Dict[str, Path]) -> None:
    result = run_session(models["stub"], [Configure(48000, 64), Configure(48000, 13)], host=native_host)
    assert result.failure is not None and result.failure.kind == "exception"
    assert result.failure.call_index == 1 and result.completed_calls == 1
    assert result.failure.headline == "set_daw_sample_rate_and_buffer_size() returned None: the host expects int"


@pytest.mark.slow
def test_an_exception_in_forward_names_the_call(native_host: NativeHost, models: Dict[str, Path]) -> None:
    rng = np.random.default_rng(3)
    calls = [Configure(48000, 512), block(rng, 2, 512), block(rng, 2, FAILING_BLOCK_SAMPLES), block(rng, 2, 512)]
    result = run_session(models["raises"], calls, host=native_host)
    assert result.failure is not None and result.failure.kind == "exception"
    assert result.failure.call_index == 2 and result.completed_calls == 2
    assert result.failure.headline == "builtins.ValueError: blocks of 7 samples are not supported"
    assert "do_forward_pass" in result.failure.message


@pytest.mark.slow
def test_state_rebound_under_inference_mode_breaks_a_configure_outside_it(
    native_host: NativeHost, models: Dict[str, Path]
) -> None:
    rng = np.random.default_rng(4)
    calls = [Configure(48000, 512), block(rng, 2, 512), Configure(44100, 256), block(rng, 2, 256)]
    plugin_like = run_session(models["rebinds"], calls, host=native_host)
    assert plugin_like.failure is not None and plugin_like.failure.call_index == 2
    assert "Inplace update to inference tensor outside InferenceMode" in plugin_like.failure.message
    assert run_session(models["rebinds"], calls, inference_mode="both", host=native_host).ok


@pytest.mark.slow
def test_a_corrupt_model_file_is_a_load_failure(native_host: NativeHost, tmp_path: Path) -> None:
    corrupt = tmp_path / "model.nm"
    corrupt.write_bytes(b"PK\x03\x04 not really a zip archive")
    result = run_session(corrupt, [Configure(48000, 512)], host=native_host)
    assert result.failure is not None and result.failure.kind == "load_failure"
    assert result.failure.call_index is None and result.completed_calls == 0
    assert result.failure.headline.startswith(f"cannot load {corrupt}:")


def hanging_session() -> List[HostCall]:
    rng = np.random.default_rng(5)
    return [Configure(48000, 512), block(rng, 2, 512), block(rng, 2, FAILING_BLOCK_SAMPLES), block(rng, 2, 512)]


@pytest.mark.slow
def test_a_crash_is_detected_with_the_last_completed_call(native_host: NativeHost, models: Dict[str, Path]) -> None:
    with NativeSession(models["hangs"], hanging_session(), host=native_host) as session:
        deadline = time.monotonic() + 30
        while session.completed_calls() < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(session.pid, signal.SIGSEGV)
        result = session.wait(timeout_s=30)
    assert result.failure is not None and result.failure.kind == "crash"
    assert result.failure.call_index == 2 and result.completed_calls == 2
    assert result.failure.headline == "the host process died from SIGSEGV in call 2: forward(2 x 7, params (4, 7))"


@pytest.mark.slow
def test_a_hanging_call_times_out(native_host: NativeHost, models: Dict[str, Path]) -> None:
    result = run_session(models["hangs"], hanging_session(), timeout_s=3, host=native_host)
    assert result.failure is not None and result.failure.kind == "timeout"
    assert result.failure.call_index == 2 and result.completed_calls == 2


@pytest.mark.slow
def test_a_truncated_session_file_keeps_the_calls_before_it(
    native_host: NativeHost, models: Dict[str, Path], tmp_path: Path
) -> None:
    session, results = tmp_path / "session.bin", tmp_path / "result.bin"
    write_session(mixed_session()[:4], session)
    session.write_bytes(session.read_bytes()[:-100])
    done = subprocess.run(
        [str(native_host.path), str(models["clipper"]), str(session), str(results)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 4 and "session file truncated in call 3" in done.stderr
    completed, failure = read_results(results)
    assert len(completed) == 3 and failure is None
    results.write_bytes(results.read_bytes()[:-5])
    assert len(read_results(results)[0]) == 2


@pytest.mark.slow
def test_a_cached_host_is_reused(native_host: NativeHost) -> None:
    again = build_native_host()
    assert again.from_cache and again.path == native_host.path and again.build_time_s == 0.0


def test_no_compiler_names_what_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NEUTONE_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("CXX", raising=False)
    with pytest.raises(NativeHostBuildError, match=r"none of g\+\+, clang\+\+, c\+\+ is on PATH: .*`apt install g\+\+`"):
        build_native_host()
    monkeypatch.setenv("CXX", "no-such-compiler --flag")
    with pytest.raises(NativeHostBuildError, match=r"CXX='no-such-compiler --flag': no-such-compiler is not an executable"):
        build_native_host()


def test_a_compile_failure_shows_the_compilers_last_lines(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    broken = tmp_path / "host.cpp"
    broken.write_text("int main( {\n")
    monkeypatch.setattr(build, "HOST_SOURCE", broken)
    monkeypatch.setenv("NEUTONE_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(NativeHostBuildError, match=r"(?s)compiling the native host failed \(exit code 1\):.*host\.cpp:1"):
        build_native_host()
    assert not list((tmp_path / "cache").rglob("*neutone-native-host*"))


def test_session_file_layout(tmp_path: Path) -> None:
    audio = np.arange(6, dtype=np.float32).reshape(2, 3)
    path = tmp_path / "session.bin"
    write_session([Configure(44100, 3), Process(audio, method="forward_bt"), Reset()], path)
    expected = b"NTNS" + struct.pack("<II", 2, 3) + b"C" + struct.pack("<qq", 44100, 3)
    expected += b"P" + struct.pack("<BBII", 1, 0, 2, 3) + audio.tobytes() + b"R"
    assert path.read_bytes() == expected


def test_process_calls_hold_float32_copies_and_check_knob_shapes() -> None:
    audio = torch.zeros(1, 4, dtype=torch.float64)
    call = Process(audio, np.ones((4, 4)))
    audio += 1
    assert call.audio.dtype == np.float32 and not call.audio.any() and call.params is not None
    with pytest.raises(HostSettingError, match=r"process params of shape \(4, 3\): expected \(4, 4\)"):
        Process(np.zeros((1, 4)), np.zeros((4, 3)))
    with pytest.raises(HostSettingError, match="process method 'forward_offline'"):
        Process(np.zeros((1, 4)), method="forward_offline")


def test_block_times_are_summarised_against_the_deadline() -> None:
    calls: List[HostCall] = [Process(np.zeros((2, 480))), Configure(48000, 480)]
    calls += [Process(np.zeros((2, 480))) for _ in range(100)]
    times_ns = [1_000_000] + [2_000 * (i + 1) for i in range(98)] + [20_000_000]
    results: List[CallResult] = [ProcessResult(None, 5), ConfigureResult(480, 0, 0)]
    results += [ProcessResult(None, t) for t in times_ns]
    (summary,) = summarise_block_times(calls, NativeSessionResult(results, None))
    assert (summary.sample_rate_hz, summary.block_size_samples, summary.blocks) == (48000, 480, 100)
    assert summary.deadline_us == pytest.approx(10_000.0)
    assert summary.max_us == pytest.approx(20_000.0) and summary.late_blocks == 1
    assert summary.median_us == pytest.approx(np.median(np.asarray(times_ns) / 1000))
    assert summary.p99_us == pytest.approx(np.percentile(np.asarray(times_ns) / 1000, 99))
