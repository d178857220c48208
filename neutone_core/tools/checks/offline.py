"""``forward_offline`` renders a whole signal as streaming does, delay removed."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from neutone_core.errors import ExportCheckError
from neutone_core.tools.host import configure, stream

if TYPE_CHECKING:
    from neutone_core.export import ExportContext

NAME = "offline_mode"
DESCRIPTION = "forward_offline equals streaming the same signal in host blocks, delay removed"

SETTINGS = ((48000, 512), (44100, 4096))
"""(host rate Hz, block size samples) compared; the second is the SDK's offline setting."""

SIGNAL_SAMPLES = 10_000
"""Length of the test signal, not a whole number of blocks (the last block is padded)."""

SEED = 5
"""torch's RNG seed before each render (stochastic models draw alike)."""


def check(context: ExportContext) -> str:
    """Render noise with random knobs both ways at each setting, each way on its own fresh
    load, and compare bit for bit: the offline call streams the same whole blocks, so the
    arithmetic is identical."""
    streaming_model, offline_model = context.loaded, context.fresh()
    generator = torch.Generator().manual_seed(4)
    for sample_rate, block_size in SETTINGS:
        audio = torch.rand(2, SIGNAL_SAMPLES, generator=generator) - 0.5
        params = torch.rand(4, SIGNAL_SAMPLES, generator=generator)
        delay = configure(streaming_model, sample_rate, block_size, 2)
        configure(offline_model, sample_rate, block_size, 2)
        total = -(-(SIGNAL_SAMPLES + delay) // block_size) * block_size
        padded = torch.zeros(2, total)
        padded[:, :SIGNAL_SAMPLES] = audio
        padded_params = params[:, -1:].repeat(1, total)
        padded_params[:, :SIGNAL_SAMPLES] = params
        torch.manual_seed(SEED)
        streamed = stream(streaming_model, padded, sample_rate, block_size, padded_params, reset=False)[
            :, delay : delay + SIGNAL_SAMPLES
        ]
        torch.manual_seed(SEED)
        with torch.no_grad():
            offline = offline_model.forward_offline(audio, params)
        if offline.shape != audio.shape:
            raise ExportCheckError(f"forward_offline returned shape {tuple(offline.shape)} for {tuple(audio.shape)}")
        if not torch.equal(offline, streamed):
            difference = float((offline - streamed).abs().max())
            raise ExportCheckError(
                f"forward_offline differs from streaming at {sample_rate} Hz / {block_size} by {difference:.3g}; "
                "the model must not depend on how it is driven"
            )
    return f"forward_offline equals streaming, delay removed, at {len(SETTINGS)} host settings"
