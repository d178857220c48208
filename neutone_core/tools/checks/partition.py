"""The output does not depend on how the host splits the stream into blocks.

Different host block sizes legitimately change the arithmetic: matrix products of other
shapes round differently (and differently on every CPU), and a resampler behind a FIFO
interpolates on another phase when the FIFO's delay changes. Those differences stay at float
rounding or at the filters' error level, far below what a state bug gives (a model that
forgets state across calls, or depends on the block length, errs by a good fraction of the
signal at block boundaries). :data:`TOLERANCE` sits between the two, from measurements.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from neutone_core.errors import ExportCheckError
from neutone_core.tools.host import stream

if TYPE_CHECKING:
    from neutone_core.export import ExportContext

NAME = "block_partition"
DESCRIPTION = "output does not depend on the host's block partition (beyond float rounding and filter precision)"

SAMPLE_RATE = 48000
REFERENCE_BLOCK_SIZE = 512
BLOCK_SIZES = (64, 1000, 4096)
"""Host buffer sizes compared with the reference, besides the model's native sizes."""

IRREGULAR_BLOCKS = (512, 7, 300, 1, 128, 511)
"""A host that announces 512 and sends shorter blocks too."""

ROUNDING = 1e-6
"""Below this (relative to the output's peak) the partitions agree to float32 rounding."""

TOLERANCE = 1e-3
"""Largest difference accepted, relative to the output's peak. Measured over the shipped
examples (examples/, examples/sdk_style/), a pass-through behind resampler and FIFO in both
resampler presets, and a float32 running sum, with the default kernels,
``ATEN_CPU_CAPABILITY=default``, ``MKL_CBWR=COMPATIBLE`` and ``MKL_ENABLE_INSTRUCTIONS=AVX2``:
at most 5.1e-7 of the peak; the two state bugs of tests/host_tools_models.py (state dropped
at every call, a gain following the block length) differ by 0.98 and 0.88. The tolerance sits
three orders of magnitude from each (benchmarks/RESULTS.md, "Block-partition tolerance")."""

SEED = 3
"""torch's RNG seed before each render (stochastic models draw alike)."""


def check(context: ExportContext) -> str:
    """Stream noise with default knobs at several partitions, each on a fresh load of the
    file (a model without ``reset_model`` must not carry one render's state into the next),
    and compare, delays aligned."""
    model = context.loaded
    generator = torch.Generator().manual_seed(1)
    audio = (torch.rand(2, 4 * 4096, generator=generator) - 0.5) * 0.8
    torch.manual_seed(SEED)
    reference = stream(model, audio, SAMPLE_RATE, REFERENCE_BLOCK_SIZE)
    reference_delay = model.calc_total_delay_samples()
    sizes = sorted(set(BLOCK_SIZES) | set(context.metadata["native_buffer_sizes"]))
    partitions: list[tuple[str, tuple[int, ...]]] = [(str(size), (size,)) for size in sizes]
    partitions.append(("irregular " + "/".join(map(str, IRREGULAR_BLOCKS)), IRREGULAR_BLOCKS))
    peak = max(float(reference.abs().max()), 1e-12)
    notes = []
    largest = 0.0
    for label, blocks in partitions:
        # a constant-size host sends whole blocks only: a short last block is an underrun
        n = audio.size(1) - audio.size(1) % blocks[0] if len(blocks) == 1 else audio.size(1)
        model = context.fresh()
        torch.manual_seed(SEED)
        out = stream(model, audio[:, :n], SAMPLE_RATE, blocks, max_block_size=max(blocks))
        if model.get_underrun_count() > 0:
            notes.append(f"{label}: {model.get_underrun_count()} underruns, not compared")
            continue
        delay = model.calc_total_delay_samples()
        length = n - max(delay, reference_delay)
        aligned = out[:, delay : delay + length] - reference[:, reference_delay : reference_delay + length]
        difference = float(aligned.abs().max()) / peak
        largest = max(largest, difference)
        if difference > TOLERANCE:
            worst = int(aligned.abs().amax(0).argmax())
            raise ExportCheckError(
                f"blocks of {label} give output differing from blocks of {REFERENCE_BLOCK_SIZE} by {difference:.3g} of the "
                f"peak (first worst at output sample {worst}; delays {delay} and {reference_delay} aligned): not float "
                f"rounding (which stays below {ROUNDING:g}) nor filter precision, but a state bug: the model must keep "
                "its state across calls and not depend on the block length it is given"
            )
    compared = len(partitions) - len(notes)
    note = f" ({'; '.join(notes)})" if notes else ""
    kind = "float rounding" if largest <= ROUNDING else "filter precision"
    return f"output agrees over {compared} block partitions at {SAMPLE_RATE} Hz, to {largest:.2g} of the peak ({kind}){note}"
