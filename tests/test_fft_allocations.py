"""Allocations made inside torch.fft operators are counted apart (torch.fft allocates its
result even with ``out=``): the profiler attributes them, the ``no_allocations`` check reports
them without failing, and anything else an adapter allocates still fails it."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import Tensor, nn

from neutone_core import AdapterStage, ExportCheckError, Stream, compose, hookimpl, save_neutone_model
from neutone_core.export import archive_bytes, load_bytes
from neutone_core.testing import PassThroughWrapper
from neutone_core.tools.checks import CHECK_MODULES
from neutone_core.tools.profiling import FFT_NOTE, count_allocations, count_allocations_split, profile_calls

NEED = "fft_round_trip"


class FftRoundTripStage(AdapterStage):
    """rfft then irfft of each block into preallocated buffers (``out=``); with
    ``allocate_outside`` also one allocation of its own per call."""

    def __init__(self, inner: nn.Module, allocate_outside: bool) -> None:
        super().__init__(inner, "fft-round-trip")
        self.allocate_outside = allocate_outside
        self.register_buffer("spectrum", torch.zeros(0, 0, dtype=torch.complex64), persistent=False)
        self.register_buffer("audio", torch.zeros(0, 0), persistent=False)

    @torch.jit.export
    def configure(self, stream: Stream) -> None:
        self.spectrum = torch.zeros(stream.in_channels, stream.block_size // 2 + 1, dtype=torch.complex64)
        self.audio = torch.zeros(stream.in_channels, stream.block_size)
        self.active = True
        self.inner.configure(stream)

    def reset_state(self) -> None:
        pass

    def forward(self, x: Tensor, params: Tensor) -> Tensor:
        n = x.size(1)
        spectrum = self.spectrum.narrow(1, 0, n // 2 + 1)
        torch.fft.rfft(x, dim=1, out=spectrum)
        audio = self.audio.narrow(1, 0, n)
        torch.fft.irfft(spectrum, n=n, dim=1, out=audio)
        if self.allocate_outside:
            audio = audio * 1.0
        return self.inner(audio, params)

    @torch.jit.export
    def delay_samples(self) -> int:
        return self.inner.delay_samples()


def round_trip_plugin(allocate_outside: bool) -> object:
    class Plugin:
        @staticmethod
        @hookimpl
        def register_adapters(register: Callable[..., None]) -> None:
            register(
                "fft-round-trip",
                NEED,
                lambda inner, stage, options: FftRoundTripStage(stage, allocate_outside),
                rank=250,
                needed=lambda inner: "the model asks for it" if NEED in inner.extra else None,
                outer=lambda inner, options: inner.without_extra(NEED),
            )

    return Plugin()


ONLY_ALLOCATIONS = {module.NAME for module in CHECK_MODULES} - {"no_allocations"}


def test_allocations_inside_fft_operators_are_counted_apart() -> None:
    frames = torch.randn(2, 3, 512)
    spectrum = torch.fft.rfft(frames, dim=2)
    inside = count_allocations_split(lambda: torch.fft.rfft(frames, dim=2, out=spectrum), 5)
    assert inside.outside_fft == 0 and inside.inside_fft >= 5, "torch.fft allocates its result on every call"
    assert count_allocations_split(lambda: torch.zeros(2, 512), 5) == (5, 0)
    assert count_allocations(lambda: torch.fft.rfft(frames, dim=2, out=spectrum), 5) == inside.inside_fft


def test_profiled_blocks_attribute_fft_allocations_to_the_stage(register_plugin: Callable[[Any, str], Any]) -> None:
    register_plugin(round_trip_plugin(allocate_outside=False), "fft-round-trip")
    composed = compose(PassThroughWrapper(extra_needs={NEED: True}))
    model = load_bytes(archive_bytes(composed.scripted, composed.metadata))  # stages are named by their code files
    model.prepare(48000, 512, 2, 0, 0)
    x = torch.rand(2, 512)
    with torch.no_grad():
        profiled = profile_calls(lambda: model(x, None), model, 4)
    assert profiled.fft_allocations["fft-round-trip"] >= 8
    assert profiled.allocations["fft-round-trip"] == profiled.fft_allocations["fft-round-trip"]


def test_the_check_reports_fft_allocations_and_passes(tmp_path: Path, register_plugin: Callable[[Any, str], Any]) -> None:
    register_plugin(round_trip_plugin(allocate_outside=False), "fft-round-trip")
    result = save_neutone_model(PassThroughWrapper(extra_needs={NEED: True}), tmp_path, skip_checks=ONLY_ALLOCATIONS)
    report = result.reports["no_allocations"]
    assert report.startswith(f"no allocation per block in the root and adapters beyond torch.fft's own ({FFT_NOTE}: up to ")
    assert "fft-round-trip" in report and report.endswith("per block) at 3 host settings")


def test_an_allocation_beside_the_fft_still_fails(tmp_path: Path, register_plugin: Callable[[Any, str], Any]) -> None:
    register_plugin(round_trip_plugin(allocate_outside=True), "fft-round-trip")
    with pytest.raises(ExportCheckError, match=r"outside the model \(fft-round-trip \d+\); every buffer must be allocated"):
        save_neutone_model(PassThroughWrapper(extra_needs={NEED: True}), tmp_path, skip_checks=ONLY_ALLOCATIONS)
    assert not (tmp_path / "model.nm").exists()
