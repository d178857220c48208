"""Registers the FIFO with neutone through the ``"neutone"`` entry point group."""

from __future__ import annotations

from typing import Callable

from torch import nn

from neutone_adapters.fifo.stage import FifoStage
from neutone_core import StreamNeeds, choice_option, hookimpl

RANK = 100
"""Innermost of the first-party stream adapters: it cuts the model's rate into native blocks."""

POLICIES: dict[str, str] = {
    "fixed": "least delay for a host keeping its buffer size; a host departing from it gets counted silence (default)",
    "any": "no underrun for any block lengths, at a constant delay of native size - 1 samples",
}
"""Accepted values of the ``policy`` option."""


def fifo_needed(inner: StreamNeeds) -> str | None:
    """Needed when the inner stage names its block sizes or looks behind."""
    if not inner.native_buffer_sizes and inner.look_behind_samples == 0:
        return None
    sizes = f"native buffer sizes {list(inner.native_buffer_sizes)} samples" if inner.native_buffer_sizes else "any block size"
    return f"{sizes}, look-behind {inner.look_behind_samples} samples"


def fifo_outer(inner: StreamNeeds, options: dict[str, str]) -> StreamNeeds:
    """Outside the FIFO, any block size and no look-behind."""
    return inner.with_changes(native_buffer_sizes=(), look_behind_samples=0)


def build_fifo(inner: StreamNeeds, inner_stage: nn.Module, options: dict[str, str]) -> FifoStage:
    """Factory: a FIFO feeding the inner stage its native block sizes, with its look-behind.

    Options: ``policy`` (``fixed`` or ``any``, see :data:`POLICIES`)."""
    policy = choice_option("fifo", options, "policy", list(POLICIES), "fixed")
    return FifoStage(inner_stage, list(inner.native_buffer_sizes), inner.look_behind_samples, policy == "any")


@hookimpl
def register_adapters(register: Callable[..., None]) -> None:
    """Serve the ``buffer_size`` need."""
    register(
        "fifo",
        "buffer_size",
        build_fifo,
        priority=0,
        description="FIFO: any host block size around native block sizes, least causal delay, look-behind",
        options={"policy": "fixed | any: " + "; ".join(f"{k}: {v}" for k, v in POLICIES.items())},
        rank=RANK,
        needed=fifo_needed,
        outer=fifo_outer,
    )
