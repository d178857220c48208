"""The reloaded file gives bit-identical output to the in-memory scripted graph."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from neutone_core.errors import ExportCheckError
from neutone_core.tools.host import stream

if TYPE_CHECKING:
    from neutone_core.export import ExportContext

NAME = "reload_identical"
DESCRIPTION = "the reloaded model.nm equals the in-memory graph, bit for bit"

RELOAD_SETTINGS = ((48000, 512, 2), (44100, 128, 1))
"""(host rate Hz, block size samples, channels) the reload check streams at."""

SEED = 7
"""torch's RNG seed before each of the two renders (stochastic models draw alike)."""


def check(context: ExportContext) -> str:
    """Stream the same random audio and knobs through the in-memory graph and the fresh load,
    setting after setting in the same order, and compare bit for bit: the computation is
    identical, so the results must be."""
    generator = torch.Generator().manual_seed(0)
    for sample_rate, block_size, n_channels in RELOAD_SETTINGS:
        audio = torch.rand(n_channels, 6 * block_size + 37, generator=generator) * 2 - 1
        params = torch.rand(4, audio.size(1), generator=generator)
        torch.manual_seed(SEED)
        expected = stream(context.composed.scripted, audio, sample_rate, block_size, params)
        torch.manual_seed(SEED)
        actual = stream(context.loaded, audio, sample_rate, block_size, params)
        if not torch.equal(expected, actual):
            diff = (expected - actual).abs().max().item()
            raise ExportCheckError(
                f"the reloaded file differs from the in-memory graph at {sample_rate} Hz / {block_size} "
                f"({n_channels} ch): max abs difference {diff:.3g}; the model must not depend on state "
                "that TorchScript does not save (Python globals, attributes set outside __init__)"
            )
    return f"reloaded file bit-identical at {len(RELOAD_SETTINGS)} host settings"
