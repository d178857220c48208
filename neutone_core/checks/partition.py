"""The output does not depend on how the host splits the stream into blocks."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from neutone_core.errors import ExportCheckError
from neutone_core.host import stream

if TYPE_CHECKING:
    from neutone_core.export import ExportContext

NAME = "block_partition"
DESCRIPTION = "output does not depend on the host's block partition (to float rounding)"

SAMPLE_RATE = 48000
REFERENCE_BLOCK_SIZE = 512
BLOCK_SIZES = (64, 1000, 4096)
"""Host buffer sizes compared with the reference, besides the model's native sizes."""

IRREGULAR_BLOCKS = (512, 7, 300, 1, 128, 511)
"""A host that announces 512 and sends shorter blocks too."""

TOLERANCE = 1e-5
"""Largest difference allowed, relative to the reference output's peak."""


def check(context: ExportContext) -> str:
    """Stream noise with default knobs at several partitions and compare, delays aligned."""
    model = context.loaded
    generator = torch.Generator().manual_seed(1)
    audio = (torch.rand(2, 4 * 4096, generator=generator) - 0.5) * 0.8
    reference = stream(model, audio, SAMPLE_RATE, REFERENCE_BLOCK_SIZE)
    reference_delay = model.calc_total_delay_samples()
    sizes = sorted(set(BLOCK_SIZES) | set(context.metadata["native_buffer_sizes"]))
    partitions: list[tuple[str, tuple[int, ...]]] = [(str(size), (size,)) for size in sizes]
    partitions.append(("irregular " + "/".join(map(str, IRREGULAR_BLOCKS)), IRREGULAR_BLOCKS))
    peak = max(float(reference.abs().max()), 1e-12)
    notes = []
    for label, blocks in partitions:
        # a constant-size host sends whole blocks only: a short last block is an underrun
        n = audio.size(1) - audio.size(1) % blocks[0] if len(blocks) == 1 else audio.size(1)
        out = stream(model, audio[:, :n], SAMPLE_RATE, blocks, max_block_size=max(blocks))
        if model.get_underrun_count() > 0:
            notes.append(f"{label}: {model.get_underrun_count()} underruns, not compared")
            continue
        delay = model.calc_total_delay_samples()
        length = n - max(delay, reference_delay)
        aligned = out[:, delay : delay + length] - reference[:, reference_delay : reference_delay + length]
        difference = float(aligned.abs().max())
        if difference > TOLERANCE * peak:
            raise ExportCheckError(
                f"blocks of {label} give output differing from blocks of {REFERENCE_BLOCK_SIZE} by {difference:.3g} "
                f"(peak {peak:.3g}, delays {delay} and {reference_delay} aligned); the model must keep its state "
                "across calls and not depend on the block length it is given"
            )
    compared = len(partitions) - len(notes)
    note = f" ({'; '.join(notes)})" if notes else ""
    return f"output identical over {compared} block partitions at {SAMPLE_RATE} Hz{note}"
