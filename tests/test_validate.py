"""``neutone validate``'s checks: each passes a good model and fails the purpose-built bad one
for it, naming the host calls that reproduce the failure."""

from pathlib import Path

import numpy as np
import pytest

from neutone_core.testing import PassThroughWrapper
from neutone_core.tools.native.session import Configure, Process
from neutone_core.tools.validate import (
    ModelFile,
    ValidationOptions,
    bad_input,
    budget,
    contract,
    delay,
    determinism,
    host_sessions,
    knobs,
    read_model_file,
    realtime,
    reset,
    sessions,
    validate,
)
from neutone_core.tools.validate.for_export import failure_line
from neutone_core.tools.validate.report import CheckResult, Reproduction
from neutone_core.tools.validate.runners import run_in_python

from . import validate_models as bad

QUICK = ValidationOptions(strictness=1)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("validate-models")
    wrappers = {
        "good": PassThroughWrapper(),
        "resampling": PassThroughWrapper(native_sample_rates=[44100], native_buffer_sizes=[2048]),
        "nan": bad.NanOnLoudInput(),
        "unreported delay": bad.UnreportedDelay(),
        "leaks over reset": bad.KeepsStateOverReset(),
        "allocates": bad.AllocatesPerCall(),
        "raises": bad.RaisesOnOddBlocks(),
        "address": bad.DependsOnItsAddress(),
        "poisoned": bad.PoisonedByHugeInput(),
        "divides by knob": bad.DividesByItsKnob(),
        "breaks late": bad.BreaksAfterManyCalls(),
    }
    paths = {name: bad.export(wrapper, root / name.replace(" ", "-")) for name, wrapper in wrappers.items()}
    paths["short blocks"] = bad.shortening_root(root / "short" / "model.nm")
    paths["incomplete"] = bad.incomplete_root(root / "incomplete" / "model.nm")
    paths["hand-written"] = bad.hand_written_root(root / "hand-written" / "model.nm")
    paths["contiguous only"] = bad.contiguous_only_root(root / "contiguous-only" / "model.nm")
    return paths


def run(check: object, files: dict[str, Path], name: str, options: ValidationOptions = QUICK) -> CheckResult:
    return check.check(read_model_file(files[name]), options)  # type: ignore[attr-defined]


def assert_reproduces(result: CheckResult, fragment: str) -> None:
    """A failure naming ``fragment``, with the calls up to the failing one, regenerated alike."""
    assert result.status == "fail", result.summary
    assert fragment in result.summary, result.summary
    found = result.reproduction
    assert found is not None and 0 <= found.failing_call < len(found.calls)
    assert found.calls[0].startswith("set_daw_sample_rate_and_buffer_size(")


@pytest.mark.parametrize(
    "check",
    [contract, host_sessions, delay, reset, determinism, bad_input, knobs, realtime],
)
def test_every_check_passes_a_resampling_pass_through(files: dict[str, Path], check: object) -> None:
    result = run(check, files, "resampling")
    assert result.status == "pass", result.summary


def test_a_block_of_the_wrong_length_fails_the_host_sessions(files: dict[str, Path]) -> None:
    result = run(host_sessions, files, "short blocks")
    assert_reproduces(result, "returned shape (")
    assert result.summary.endswith("(host session 0, after 0 sessions passed)")
    assert result.reproduction.regenerate == "sessions.host_session(seed=0, index=0)"


def test_nan_output_fails_with_the_session_that_replays_it_alone(files: dict[str, Path]) -> None:
    result = run(host_sessions, files, "nan")
    assert_reproduces(result, "returned a non-finite sample (channel ")
    index = int(result.reproduction.sequence.rsplit(" ", 1)[1])
    replayed = sessions.host_session(0, index)
    assert [replayed.describe(i) for i in range(len(result.reproduction.calls))] == list(result.reproduction.calls)
    module = read_model_file(files["nan"]).fresh()
    outcome = run_in_python(module, replayed.calls[: result.reproduction.failing_call + 1], seed=0)
    output = outcome.results[result.reproduction.failing_call].output
    assert output is not None and not np.isfinite(output).all(), "the regenerated calls give the NaN again"


def test_a_failure_only_a_long_stream_reaches_names_the_sessions_before_it(files: dict[str, Path]) -> None:
    result = run(host_sessions, files, "breaks late")
    assert_reproduces(result, "returned a non-finite sample")
    index = int(result.summary.split("(host session ")[1].split(",")[0])
    assert index > 0 and result.reproduction.sequence == f"host session {index} after sessions 0..{index - 1}"
    assert result.reproduction.regenerate == f"sessions.host_session(seed=0, index=i) for i in range({index + 1}), on one load"


def test_an_exception_fails_naming_the_model_code(files: dict[str, Path]) -> None:
    result = run(host_sessions, files, "raises")
    assert_reproduces(result, "raised: RaisesOnOddBlocks.do_forward_pass")
    assert "ValueError: odd block lengths are not supported" in result.summary
    failing = result.reproduction.calls[result.reproduction.failing_call]
    samples = failing.split(", ")[1].rstrip(")") if failing.startswith("set_daw") else failing.split(" x ")[1].split(",")[0]
    assert int(samples) % 2 == 1, failing


def test_an_unreported_delay_fails(files: dict[str, Path]) -> None:
    result = run(delay, files, "unreported delay")
    assert result.status == "fail"
    assert result.summary.startswith("reported delay is wrong at 14 of 14 host settings")
    assert "44100 Hz / 64 samples / stereo: reported 0, measured 64" in result.summary
    found = result.reproduction
    assert found is not None and found.sequence == "impulse at 44100 Hz / 64 samples / stereo"
    assert found.calls[1].endswith("[impulse at sample 33]")
    assert found.calls[found.failing_call].endswith("[out at sample 33: 64 samples later, reported 0]")
    replayed = delay.impulse_sequence(44100, 64, 2, 0, 64)
    outcome = run_in_python(read_model_file(files["unreported delay"]).fresh(), replayed.calls[: found.failing_call + 1])
    assert int(np.argmax(outcome.results[found.failing_call].output[0])) == 33, "the regenerated calls give it back there"


def test_state_surviving_reset_fails(files: dict[str, Path]) -> None:
    result = run(reset, files, "leaks over reset")
    assert_reproduces(result, "after reset() differs from a fresh load's")
    assert result.reproduction.calls[result.reproduction.failing_call - 1] == "reset()"
    assert result.reproduction.calls[result.reproduction.failing_call].endswith("[second signal]")
    assert run(delay, files, "leaks over reset").status == "pass", "its delay is reported"


def test_output_depending_on_memory_addresses_is_not_deterministic(files: dict[str, Path]) -> None:
    result = run(determinism, files, "address")
    assert_reproduces(result, "two runs of the same calls differ by up to")
    assert run(host_sessions, files, "address").status == "pass"


def test_allocations_fail_only_above_the_users_limit(files: dict[str, Path]) -> None:
    reported = run(realtime, files, "allocates")
    assert reported.status == "pass" and reported.details["allocations_per_call"] >= 1
    limited = ValidationOptions(strictness=1, max_allocations_per_call=0)
    failed = run(realtime, files, "allocates", limited)
    assert failed.status == "fail" and failed.summary.endswith("more than 0 allocations per call")
    assert run(realtime, files, "good", limited).status == "pass"
    tight = run(realtime, files, "good", ValidationOptions(strictness=1, max_p99_load=1e-9))
    assert tight.status == "fail" and "p99 CPU time above 1e-09 of the block's duration" in tight.summary
    assert 0 < tight.details["cpu_median_us"] <= tight.details["cpu_max_us"]


def test_a_model_poisoned_by_huge_input_fails_to_recover(files: dict[str, Path]) -> None:
    result = run(bad_input, files, "poisoned")
    assert_reproduces(result, "returned a non-finite sample")
    assert "[clean after 1e30 audio]" in result.reproduction.calls[result.reproduction.failing_call]


def test_a_strided_block_raising_fails_with_the_calls_sent_before_it(files: dict[str, Path]) -> None:
    result = run(bad_input, files, "contiguous only")
    assert_reproduces(result, "non-contiguous audio at 48000 Hz / 512: raised NeedsContiguousBlocks.forward")
    found = result.reproduction
    assert found.calls[found.failing_call] == "forward(2 x 512 strided (1, 2), None) [non-contiguous audio]"
    assert found.calls[1:found.failing_call] == (
        "forward(float64 2 x 512, params float64 4 x 512) [float64 audio and knobs]",
        "forward(2 x 512, None) [clean after float64 audio and knobs]",
    )
    assert found.regenerate == "bad_input.python_kinds(model, sample_rate=48000, buffer_size=512, seed=0)"


def test_bad_input_refusals_are_reported(files: dict[str, Path]) -> None:
    result = run(bad_input, files, "good")
    assert "int16 audio refused (ValueError: audio block of an integer dtype" in result.summary


def test_a_knob_at_zero_giving_infinity_fails(files: dict[str, Path]) -> None:
    result = run(knobs, files, "divides by knob")
    assert_reproduces(result, "returned a non-finite sample")
    assert result.reproduction.calls[result.reproduction.failing_call].endswith("[knobs at 0]")


def test_missing_methods_fail_the_contract_and_nothing_else_runs(files: dict[str, Path]) -> None:
    report = validate(files["incomplete"], strictness=1)
    result = report["host_contract"]
    assert result.status == "fail" and "forward_bt() is missing" in result.summary and "reset() is missing" in result.summary
    assert "get_native_sample_rates" not in result.summary
    assert {r.name for r in report.results if r.status == "skip"} == {
        "host_sessions", "delay_reported", "reset_clears_state", "deterministic", "bad_host_input", "knobs", "realtime"
    }
    assert not report.passed and report.failures == [result]


def test_a_good_file_passes_validate_with_one_line_per_check(files: dict[str, Path]) -> None:
    report = validate(files["good"], strictness=2, seed=3)
    assert report.passed, "\n".join(report.lines())
    lines = report.lines()
    assert [line.split()[1].rstrip(":") for line in lines[:-1]] == [r.name for r in report.results]
    assert all(line.startswith("PASS ") for line in lines[:-1])
    assert lines[-1].endswith("s") and "passed at strictness 2, seed 3, python host" in lines[-1]
    assert report.to_json()["checks"][2]["details"]["block_time"]["max_us"] > 0


def test_a_root_written_by_another_exporter_is_validated_through_the_host_contract_alone(files: dict[str, Path]) -> None:
    report = validate(files["hand-written"], strictness=1)
    assert report.passed, "\n".join(report.lines())
    assert report["delay_reported"].summary == "measured delay equals reported at 14 host settings (delay 0 samples)"
    assert "int16 audio refused (ValueError: integer audio: the host sends float32)" in report["bad_host_input"].summary


def test_sessions_are_rebuilt_from_seed_and_index_alone() -> None:
    first, again, other = sessions.host_session(5, 9), sessions.host_session(5, 9), sessions.host_session(6, 9)
    assert [first.describe(i) for i in range(len(first.calls))] == [again.describe(i) for i in range(len(again.calls))]
    assert all(np.array_equal(a.audio, b.audio) for a, b in zip(first.calls, again.calls, strict=True) if isinstance(a, Process))
    assert [first.describe(i) for i in range(len(first.calls))] != [other.describe(i) for i in range(len(other.calls))]


def test_sessions_cover_what_a_daw_does() -> None:
    drawn = [sessions.host_session(0, index) for index in range(400)]
    settings = [call for s in drawn for call in s.calls if isinstance(call, Configure)]
    blocks = [call for s in drawn for call in s.calls if isinstance(call, Process)]
    rates = {call.sample_rate_hz for call in settings}
    sizes = {call.buffer_size_samples for call in settings}
    assert min(rates) >= 8000 and max(rates) <= 192000 and {8000, 44101, 192000} <= rates
    assert min(sizes) == 1 and max(sizes) == 8192 and len(sizes) > 100
    assert {call.audio.shape[0] for call in blocks} == {1, 2}
    assert {call.method for call in blocks} == {"forward", "forward_bt"}
    assert any(call.params is None for call in blocks) and any(call.audio.shape[1] == 0 for call in blocks)
    assert sum(isinstance(call, Configure) for s in drawn for call in s.calls[1:]) > 20, "settings changed mid-stream"
    assert sum(describe == "reset()" for s in drawn for describe in map(s.describe, range(len(s.calls)))) > 20
    longer = 0
    for s in drawn:
        announced = 0
        for call in s.calls:
            if isinstance(call, Configure):
                announced = call.buffer_size_samples
            elif isinstance(call, Process) and call.audio.shape[1] > announced:
                longer += 1
    assert longer > 20, "blocks longer than announced"


def test_strictness_scales_the_sessions_geometrically() -> None:
    counts = [budget(level).sessions for level in range(1, 11)]
    assert counts[0] == 10 and counts[4] == 215 and counts[-1] == 10_000
    assert counts == sorted(counts)
    with pytest.raises(ValueError, match=r"strictness 11: must be 1\.\.10"):
        ValidationOptions(strictness=11)


def test_a_file_that_is_not_loaded_fails_the_contract(tmp_path: Path) -> None:
    model = ModelFile(tmp_path / "x.nm", None, "no metadata", [], None, "torch.jit.load failed: boom")
    result = contract.check(model, QUICK)
    assert result.status == "fail" and result.summary == "the file was not loaded: torch.jit.load failed: boom"


def test_an_export_failure_line_lists_the_first_calls_and_the_failing_one() -> None:
    calls = tuple(f"forward(2 x 64, None) [block {i}]" for i in range(20))
    found = Reproduction(0, "impulse at 44100 Hz / 64 samples / stereo", "delay.impulse_sequence(...)", calls, 19)
    line = failure_line(CheckResult("delay_reported", "fail", "reported delay is wrong", reproduction=found))
    shown = line.split(": ", 1)[1].split("; ")
    assert shown == [*calls[:6], "... 13 more calls ...", calls[19]]
