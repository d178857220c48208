"""Registers the FIFO with neutone through the ``"neutone"`` entry point group."""

from __future__ import annotations

from typing import Callable

from torch import nn

from neutone_adapters.fifo.stage import FifoStage
from neutone_core.hookspecs import hookimpl
from neutone_core.needs import ModelNeeds
from neutone_core.planner import choice_option

POLICIES: dict[str, str] = {
    "fixed": "least delay for a host keeping its buffer size; a host departing from it gets counted silence (default)",
    "any": "no underrun for any block lengths, at a constant delay of native size - 1 samples",
}
"""Accepted values of the ``policy`` option."""


def build_fifo(needs: ModelNeeds, inner: nn.Module, options: dict[str, str]) -> FifoStage:
    """Factory: a FIFO feeding the model its native block sizes, with its look-behind.

    Options: ``policy`` (``fixed`` or ``any``, see :data:`POLICIES`)."""
    policy = choice_option("fifo", options, "policy", list(POLICIES), "fixed")
    return FifoStage(inner, list(needs.native_buffer_sizes), needs.look_behind_samples, policy == "any")


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
    )
