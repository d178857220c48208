"""The composed graph run eagerly in Python, for tests that look at a wrapper's Python state."""

from __future__ import annotations

import torch

from neutone_core.host_io import HostIO
from neutone_core.metadata import build_metadata
from neutone_core.planner import build_chain, plan_adapters
from neutone_core.plugins import get_registry
from neutone_core.root import NeutoneRoot
from neutone_core.wrapper import WaveformToWaveformBase


def eager_graph(
    wrapper: WaveformToWaveformBase,
    adapters: dict[str, str] | None = None,
    adapter_options: dict[str, dict[str, str]] | None = None,
) -> NeutoneRoot:
    """The root, adapters and model planned as :func:`neutone_core.compose` plans them, not
    scripted: the wrapper's Python code runs (and records what it likes) on every call."""
    plan = plan_adapters(wrapper.neutone_stream_needs(), get_registry(), adapters, adapter_options)
    defaults = wrapper.neutone_default_knobs()
    host = HostIO(build_chain(wrapper.neutone_model_stage(), plan), torch.tensor(defaults))
    return NeutoneRoot(host, build_metadata(wrapper), defaults, [p.spec.name for p in plan] + ["model"])
