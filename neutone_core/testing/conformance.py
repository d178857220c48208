"""The stage conformance kit: one call checks an adapter stage against the stage contract.

:func:`check_stage` builds the stage around a pass-through model stage (or an inner stage you
give), scripts it, saves and reloads it, and for each stream it is configured with checks:

- the TorchScript round trip: the reloaded stage gives bit-identical output;
- the impulse delay equals ``delay_samples()``;
- ``reset()`` restores fresh behaviour: the same input gives the same output again;
- streaming over the given block partitions agrees with the stream's own block pattern (to a
  tolerance relative to the signal's peak), and the output is a given reference, delayed;
- no tensor is allocated per call in steady state, but inside ``torch.fft`` operators
  (which allocate their result on every call; counted and reported apart).

Every failure is an ``AssertionError`` naming the stream, the property and the numbers.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from neutone_core.needs import StreamNeeds
from neutone_core.plugins import AdapterSpec
from neutone_core.scripting import script_module, torchscript_quietly
from neutone_core.stage import Stream
from neutone_core.testing.wrappers import PassThroughWrapper
from neutone_core.tools.profiling import AllocationCount, count_allocations_split

WARMUP_CALLS = 64
MEASURED_CALLS = 32


@dataclass(frozen=True)
class StageReport:
    """What :func:`check_stage` measured for one stream.

    Attributes:
        stream: the stream the stage was configured with.
        delay_samples: its reported (and measured) delay, in samples at the stream's rate.
        allocations_per_call: tensor allocations per call in steady state outside
            ``torch.fft`` operators (0 to pass).
        partition_difference: largest difference between block partitions, relative to the
            output's peak (0.0 when no partition was given).
        fft_allocations_per_call: allocations per call inside ``torch.fft`` operators (they
            allocate their result).
    """

    stream: Stream
    delay_samples: int
    allocations_per_call: float
    partition_difference: float
    fft_allocations_per_call: float = 0.0


def pattern_blocks(stream: Stream, n_samples: int) -> list[int]:
    """Whole block lengths the outer promises (the stream's pattern), at least ``n_samples`` in all."""
    blocks = []
    total = 0
    k = 0
    while total < n_samples:
        k += 1
        cumulative = (k * stream.pattern_numerator + stream.pattern_offset) // stream.pattern_denominator
        blocks.append(cumulative - total)
        total = cumulative
    return blocks


def drive(stage: nn.Module, audio: Tensor, params: Tensor, blocks: Sequence[int]) -> Tensor:
    """Feed ``audio`` ``(channels, n)`` and ``params`` ``(4, n)`` to a configured stage in
    ``blocks`` (repeated until covered); the output ``(out_channels, n)`` concatenated."""
    pieces = []
    start = 0
    index = 0
    with torch.no_grad():
        while start < audio.size(1):
            end = min(start + blocks[index % len(blocks)], audio.size(1))
            pieces.append(stage(audio[:, start:end], params[:, start:end]).clone())
            start = end
            index += 1
    return torch.cat(pieces, dim=1)


def _round_trip(module: torch.jit.ScriptModule) -> torch.jit.ScriptModule:
    buffer = io.BytesIO()
    with torchscript_quietly():
        torch.jit.save(module, buffer)
        buffer.seek(0)
        return torch.jit.load(buffer)


def _fresh(stage: nn.Module, stream: Stream) -> nn.Module:
    stage.configure(stream)
    stage.reset()
    return stage


def _steady_allocations(stage: nn.Module, stream: Stream) -> AllocationCount:
    blocks = pattern_blocks(stream, stream.block_size * (WARMUP_CALLS + MEASURED_CALLS) + 1)
    audio = torch.rand(stream.in_channels, stream.block_size) - 0.5
    params = torch.rand(4, stream.block_size)
    calls = [0]

    def one_call() -> None:
        n = blocks[calls[0] % len(blocks)]
        calls[0] += 1
        stage(audio.narrow(1, 0, n), params.narrow(1, 0, n))

    with torch.no_grad():
        _fresh(stage, stream)
        for _ in range(WARMUP_CALLS):
            one_call()
        return count_allocations_split(one_call, MEASURED_CALLS)


def check_stage(
    build: Callable[[nn.Module], nn.Module],
    inner_needs: StreamNeeds,
    streams: Sequence[Stream],
    block_sequences: Sequence[Sequence[int]] = (),
    reference: Callable[[Tensor], Tensor] | None = None,
    tolerance: float = 1e-5,
    inner_stage: nn.Module | None = None,
    signal_samples: int = 12000,
) -> list[StageReport]:
    """Check a stage against the stage contract at each of ``streams``.

    Args:
        build: ``build(inner_stage) -> stage``, e.g. ``lambda inner: factory(needs, inner, {})``.
        inner_needs: the record of the stage inside (a pass-through model stage is built for it).
        streams: outer streams to configure the stage with.
        block_sequences: block partitions (lengths up to ``stream.block_size``, repeated) the
            stage must produce the same output for as for the stream's own pattern; only
            partitions the stage accepts without underruns.
        reference: ``reference(audio) -> expected`` for a stage around a pass-through: the
            output must be ``expected`` delayed by ``delay_samples()``, to ``tolerance``
            (``lambda x: x`` for a transparent stage).
        tolerance: largest difference accepted, relative to the output's peak.
        inner_stage: the stage inside, instead of a pass-through model stage.
        signal_samples: length of the test signals (samples at the outer rate).
    """
    inner = inner_stage if inner_stage is not None else PassThroughWrapper.for_needs(inner_needs).neutone_model_stage()
    scripted = script_module(build(inner), "the stage under test")
    loaded = _round_trip(scripted)
    generator = torch.Generator().manual_seed(0)
    reports = []
    for stream in streams:
        blocks = pattern_blocks(stream, signal_samples)
        signal_samples = sum(blocks)
        audio = (torch.rand(stream.in_channels, signal_samples, generator=generator) - 0.5) * 1.6
        params = torch.rand(4, signal_samples, generator=generator)
        expected = drive(_fresh(scripted, stream), audio, params, blocks)
        actual = drive(_fresh(loaded, stream), audio, params, blocks)
        assert torch.equal(expected, actual), f"{stream}: the reloaded stage differs from the scripted one"
        loaded.reset()
        again = drive(loaded, audio, params, blocks)
        assert torch.equal(again, actual), f"{stream}: after reset() the same input gives different output"
        delay = int(loaded.delay_samples())
        offset = min(stream.block_size // 2 + 1, signal_samples // 4)
        impulse_blocks = pattern_blocks(stream, offset + delay + 4 * stream.block_size + 64)
        impulse = torch.zeros(stream.in_channels, sum(impulse_blocks))
        impulse[:, offset] = 1.0
        response = drive(_fresh(loaded, stream), impulse, torch.zeros(4, impulse.size(1)), impulse_blocks)
        measured = int(response.abs().sum(0).argmax()) - offset
        assert measured == delay, f"{stream}: delay_samples() reports {delay}, an impulse measures {measured}"
        peak = max(float(actual.abs().max()), 1e-12)
        if reference is not None:
            target = reference(audio)
            difference = float((actual[:, delay:] - target[:, : signal_samples - delay]).abs().max()) / peak
            assert difference <= tolerance, (
                f"{stream}: the output is not the reference delayed by {delay} ({difference:.3g} of the peak)"
            )
        largest = 0.0
        for sequence in block_sequences:
            other = drive(_fresh(loaded, stream), audio, params, list(sequence))
            assert int(loaded.underrun_count()) == 0, (
                f"{stream}: blocks {list(sequence)} underrun; pass partitions the stage accepts"
            )
            other_delay = int(loaded.delay_samples())
            length = signal_samples - max(delay, other_delay)
            difference = (
                float((other[:, other_delay : other_delay + length] - actual[:, delay : delay + length]).abs().max()) / peak
            )
            largest = max(largest, difference)
            assert difference <= tolerance, (
                f"{stream}: blocks {list(sequence)} differ from the pattern by {difference:.3g} of the peak"
            )
        allocations = _steady_allocations(loaded, stream)
        assert allocations.outside_fft == 0, (
            f"{stream}: {allocations.outside_fft / MEASURED_CALLS:g} tensor allocations per call in steady state"
        )
        reports.append(
            StageReport(stream, delay, allocations.outside_fft / MEASURED_CALLS, largest, allocations.inside_fft / MEASURED_CALLS)
        )
    return reports


def check_adapter(
    spec: AdapterSpec,
    inner_needs: StreamNeeds,
    streams: Sequence[Stream],
    options: dict[str, str] | None = None,
    **kwargs: object,
) -> list[StageReport]:
    """:func:`check_stage` for a registered adapter built by its own factory with ``options``."""
    given = dict(options or {})
    return check_stage(lambda inner: spec.factory(inner_needs, inner, given), inner_needs, streams, **kwargs)  # type: ignore[arg-type]
