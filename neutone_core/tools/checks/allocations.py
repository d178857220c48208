"""No tensor allocation per block in steady state, outside the model's own code."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from neutone_core.errors import ExportCheckError
from neutone_core.tools.host import configure
from neutone_core.tools.profiling import FFT_NOTE, MODEL, profile_calls

if TYPE_CHECKING:
    from neutone_core.export import ExportContext

NAME = "no_allocations"
DESCRIPTION = "the root and adapters allocate no tensor per block in steady state"

HOST_SETTINGS = ((48000, 512, 2), (44100, 256, 1), (96000, 1000, 2))
"""(rate Hz, buffer size samples, channels) measured."""

WARMUP_BLOCKS = 32
MEASURED_BLOCKS = 8


def check(context: ExportContext) -> str:
    """Profile a few blocks per setting after warm-up and attribute each allocation to a stage.

    The researcher's own code (the wrapper and its modules) may allocate (most PyTorch code
    does); that is reported, not failed. The root, the adapters and the model stage's core
    code (knob mean, knob map) must not, except inside ``torch.fft`` operators, which allocate
    their result on every call: those are counted and reported apart.
    """
    model = context.loaded
    model_allocations = 0.0
    fft_allocations: dict[str, float] = {}
    generator = torch.Generator().manual_seed(2)
    for sample_rate, block_size, n_channels in HOST_SETTINGS:
        configure(model, sample_rate, block_size, n_channels)
        audio = torch.rand(n_channels, block_size, generator=generator) - 0.5
        params = torch.rand(4, block_size, generator=generator)

        def host_call(audio: torch.Tensor = audio, params: torch.Tensor = params) -> None:
            model(audio, params)

        with torch.no_grad():
            for _ in range(WARMUP_BLOCKS):
                host_call()
            profiled = profile_calls(host_call, model, MEASURED_BLOCKS)
        outside = {
            stage: count - profiled.fft_allocations.get(stage, 0)
            for stage, count in profiled.allocations.items()
            if stage != MODEL and count > profiled.fft_allocations.get(stage, 0)
        }
        if outside:
            per_block = ", ".join(f"{stage} {count / MEASURED_BLOCKS:g}" for stage, count in sorted(outside.items()))
            raise ExportCheckError(
                f"tensors allocated per block at {sample_rate} Hz / {block_size} / {n_channels} ch outside the model "
                f"({per_block}); every buffer must be allocated in configure()"
            )
        model_allocations = max(model_allocations, profiled.allocations.get(MODEL, 0) / MEASURED_BLOCKS)
        for stage, count in profiled.fft_allocations.items():
            if stage != MODEL:
                fft_allocations[stage] = max(fft_allocations.get(stage, 0.0), count / MEASURED_BLOCKS)
    fft = ", ".join(f"{stage} {count:g}" for stage, count in sorted(fft_allocations.items()))
    beyond = f" beyond torch.fft's own ({FFT_NOTE}: up to {fft} per block)" if fft else ""
    own = f"; the model's own code allocates {model_allocations:g} per block" if model_allocations else ""
    return f"no allocation per block in the root and adapters{beyond} at {len(HOST_SETTINGS)} host settings{own}"
