"""FIFO configuration, registration, TorchScript round trip and allocation-free steady state."""

from pathlib import Path
from typing import List

import pytest
import torch

from neutone_adapters.fifo.stage import FifoStage, fifo_delay_samples
from neutone_adapters.fifo.tests.fifo_helpers import delayed, drive, scripted_root
from neutone_core import PlanError, Stream, StreamNeeds, compose, load_neutone_model, save_neutone_model
from neutone_core.plugins import get_registry
from neutone_core.stage import host_stream
from neutone_core.testing import PassThroughWrapper, check_adapter, count_allocations
from neutone_core.tools.host import walk_stages


def fifo_of(module: torch.jit.ScriptModule) -> torch.jit.ScriptModule:
    return next(stage for stage in walk_stages(module) if stage.stage_name == "fifo")


@pytest.mark.parametrize(
    ("host_block_size", "native_sizes", "policy", "model_block_size", "fifo_delay"),
    [
        (512, (2048,), "fixed", 2048, 1536),
        (2048, (2048,), "fixed", 2048, 0),
        (512, (1024, 2048), "fixed", 1024, 512),
        (1536, (1024, 2048), "fixed", 1024, 512),
        (2048, (1024, 2048), "fixed", 2048, 0),  # tie at 0: the larger size, fewer model calls
        (4096, (1024, 2048), "fixed", 2048, 0),
        (3000, (1024, 2048), "fixed", 1024, 1016),
        (512, (1024, 2048), "any", 1024, 1023),
        (8192, (1024, 2048), "any", 1024, 1023),
    ],
)
def test_native_size_choice_minimises_delay(
    host_block_size: int, native_sizes: tuple, policy: str, model_block_size: int, fifo_delay: int
) -> None:
    module = scripted_root("pass", native_sizes, policy=policy)
    assert module.prepare(48000, host_block_size, 2, 0, 0) == fifo_delay
    assert module.get_model_buffer_size() == model_block_size
    assert module.calc_buffering_delay_samples() == fifo_delay
    candidates = [s - 1 if policy == "any" else fifo_delay_samples(host_block_size, 1, 0, s) for s in native_sizes]
    assert fifo_delay == min(candidates)


def test_requested_native_size_is_honoured_and_an_unknown_one_is_refused() -> None:
    module = scripted_root("pass", (1024, 2048))
    assert module.set_daw_sample_rate_and_buffer_size(48000, 512, None, 2048) == 512
    assert module.get_model_buffer_size() == 2048
    assert module.calc_total_delay_samples() == 1536
    with pytest.raises(Exception, match=r"requested model buffer size 999 samples is not one of .*\[1024, 2048\]"):
        module.set_daw_sample_rate_and_buffer_size(48000, 512, None, 999)


def test_fifo_is_inactive_when_the_host_block_is_the_native_size() -> None:
    module = scripted_root("gain", (512,))
    module.prepare(48000, 512, 2, 0, 0)
    fifo = fifo_of(module)
    assert not fifo.is_active()
    audio = torch.rand(2, 512 * 6) - 0.5
    assert torch.equal(drive(module, audio, [512]), audio * 0.5)
    module.prepare(48000, 256, 2, 0, 0)
    assert fifo.is_active()


def test_inspect_description_names_native_size_policy_delay_and_look_behind() -> None:
    module = scripted_root("pass", (1024, 2048), policy="any")
    module.prepare(48000, 512, 2, 0, 0)
    assert fifo_of(module).describe() == (
        "fifo: native 1024 of [1024, 2048] samples, policy any, own delay 1023 samples, look-behind 0 samples"
    )


def test_policy_option_with_unknown_value_raises_naming_option_value_and_accepted_values() -> None:
    with pytest.raises(PlanError, match=r"fifo\.policy='sometimes'.*accepted values: fixed, any"):
        compose(PassThroughWrapper(native_buffer_sizes=[2048]), adapter_options={"fifo": {"policy": "sometimes"}})


def test_fifo_is_registered_through_the_neutone_entry_point() -> None:
    spec = get_registry().adapters["fifo"]
    assert spec.need == "buffer_size"
    assert spec.provenance.distribution == "neutone-adapter-fifo"
    assert "policy" in spec.options and "fixed" in spec.options["policy"] and "any" in spec.options["policy"]


def fifo_stage(native_sizes: List[int], look_behind: int = 0, any_pattern: bool = False) -> torch.jit.ScriptModule:
    inner = PassThroughWrapper(native_buffer_sizes=native_sizes, look_behind_samples=look_behind).neutone_model_stage()
    return torch.jit.script(FifoStage(inner, native_sizes, look_behind, any_pattern))


def test_block_pattern_with_zero_denominator_is_refused() -> None:
    with pytest.raises(Exception, match="block pattern 512/0"):
        fifo_stage([2048]).configure(Stream(48000, 512, 2, 2, 512, 0, 0, 0, 0))


@pytest.mark.parametrize(
    ("native_sizes", "look_behind", "policy", "stream", "sequences"),
    [
        ((2048,), 0, "fixed", host_stream(48000, 512, 2, 0, 0), []),
        ((1024, 2048), 32, "any", host_stream(44100, 700, 1, 0, 0), [[1, 700, 33], [512]]),
        ((256,), 128, "fixed", host_stream(48000, 256, 2, 0, 0), []),
        ((), 64, "fixed", host_stream(96000, 300, 2, 0, 0), [[7, 300, 150]]),
        ((2048,), 0, "fixed", Stream(44100, 471, 2, 2, 2352, 5, 0, 0, 0), []),
    ],
)
def test_fifo_meets_the_stage_contract(
    native_sizes: tuple, look_behind: int, policy: str, stream: Stream, sequences: list
) -> None:
    needs = StreamNeeds(stream.in_channels, stream.out_channels, (), native_sizes, look_behind)
    [report] = check_adapter(
        get_registry().adapters["fifo"], needs, [stream], {"policy": policy}, block_sequences=sequences, reference=lambda x: x
    )
    sizes = list(native_sizes)
    if sizes and policy == "fixed":
        expected = min(fifo_delay_samples(stream.pattern_numerator, stream.pattern_denominator, 0, m) for m in sizes)
    else:
        expected = min(sizes) - 1 if sizes else 0
    assert report.delay_samples == expected


def test_fractional_resampler_pattern_never_underruns_at_its_least_delay() -> None:
    numerator, denominator = 2352, 5  # 470.4 samples per call, as a 44.1 -> 48 kHz resampler hands on
    stage = fifo_stage([2048])
    stage.configure(Stream(48000, 471, 2, 2, numerator, denominator, 0, 0, 0))
    stage.reset()
    delay = stage.delay_samples()
    assert delay == fifo_delay_samples(numerator, denominator, 0, 2048)
    calls = 5 * 2048 // 16 * 2  # two periods of the pattern
    totals = [(k * numerator) // denominator for k in range(calls + 1)]
    audio = torch.rand(2, totals[-1]) + 0.5
    out = torch.empty_like(audio)
    for k in range(1, calls + 1):
        start, end = totals[k - 1], totals[k]
        out[:, start:end] = stage(audio[:, start:end], torch.zeros(4, end - start))
    assert stage.underrun_count() == 0
    assert torch.equal(out, delayed(audio, delay))
    residues = [t % 2048 for t in totals]
    assert max(residues) == delay, "the delay is reached: one sample less would underrun"


def test_exported_file_gives_bit_identical_output_to_the_in_memory_graph(tmp_path: Path) -> None:
    wrapper = PassThroughWrapper(native_buffer_sizes=[1024, 2048], look_behind_samples=32)
    save_neutone_model(wrapper, tmp_path, adapter_options={"fifo": {"policy": "any"}})
    loaded, metadata = load_neutone_model(tmp_path / "model.nm")
    composed = compose(wrapper, adapter_options={"fifo": {"policy": "any"}})
    audio = torch.rand(2, 9000) * 2 - 1
    params = torch.rand(4, 9000)
    blocks = [512, 17, 300, 1, 2048]
    expected = drive(composed.graph, audio, blocks, params)
    assert torch.equal(drive(composed.scripted, audio, blocks, params), expected)
    assert torch.equal(drive(loaded, audio, blocks, params), expected)
    assert torch.equal(expected, delayed(audio, 1023))
    assert "fifo" in loaded.get_stage_names()


def steady_state_allocations(module: torch.jit.ScriptModule, host_block_sizes: List[int], n_channels: int) -> int:
    buffer_size = max(host_block_sizes)
    module.prepare(48000, buffer_size, n_channels, 0, 0)
    audio = torch.rand(n_channels, buffer_size)
    params = torch.rand(4, buffer_size)
    calls = [0]

    def one_call() -> None:
        n = host_block_sizes[calls[0] % len(host_block_sizes)]
        calls[0] += 1
        module(audio[:, :n], params[:, :n])

    with torch.inference_mode():
        for _ in range(64):
            one_call()
        return count_allocations(one_call, repeats=40)


@pytest.mark.parametrize(
    ("native_sizes", "look_behind", "policy", "host_block_sizes", "n_channels"),
    [
        ((2048,), 0, "fixed", [512], 2),
        ((2048,), 0, "fixed", [512], 1),
        ((1024, 2048), 0, "any", [100, 1, 700, 33], 2),
        ((256,), 128, "any", [512, 3, 250], 2),
        ((), 64, "fixed", [512, 100], 2),
        ((512,), 0, "fixed", [512], 2),
        ((2048,), 0, "fixed", [512, 100, 7], 2),  # a broken pattern: underruns fill silence in place
    ],
)
def test_steady_state_allocates_no_tensor_memory_per_host_call(
    native_sizes: tuple, look_behind: int, policy: str, host_block_sizes: List[int], n_channels: int
) -> None:
    module = scripted_root("pass", native_sizes, look_behind_samples=look_behind, policy=policy)
    assert steady_state_allocations(module, host_block_sizes, n_channels) == 0


def test_allocation_counter_sees_a_per_call_allocation() -> None:
    assert count_allocations(lambda: torch.zeros(2, 512), repeats=5) == 5
    buffer = torch.zeros(2, 512)
    assert count_allocations(lambda: buffer.mul_(0.5), repeats=5) >= 5, "a Python scalar becomes a tensor"
    assert count_allocations(lambda: buffer[:, :100].copy_(buffer[:, 100:200]), repeats=5) == 0


def test_neutone_inspect_shows_the_fifo_active_with_its_delay(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from neutone_core.tools.cli import cli

    save_neutone_model(PassThroughWrapper(native_buffer_sizes=[1024, 2048]), tmp_path)
    result = CliRunner().invoke(cli, ["inspect", str(tmp_path / "model.nm"), "--sr", "48000", "--bs", "512"])
    assert result.exit_code == 0, result.output
    assert "active   fifo: native 1024 of [1024, 2048] samples, policy fixed, own delay 512 samples" in result.output
    assert "delay: 512 samples total (512 buffering + 0 model)" in result.output
