"""The planner: picks one adapter per need the model has and nests them around the model."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from torch import nn

from neutone_core.errors import MissingAdapterError, PlanError
from neutone_core.needs import NEEDS, ModelNeeds
from neutone_core.plugins import AdapterSpec, Registry
from neutone_core.stage import ModelStage
from neutone_core.wrapper import WaveformToWaveformBase

FIRST_PARTY_ADAPTERS: dict[str, str] = {
    "channels": "mixer",
    "sample_rate": "resample",
    "buffer_size": "fifo",
}
"""The first-party distribution (``neutone-adapter-<name>``, extra ``neutone[<name>]``) per need."""


@dataclass(frozen=True)
class PlannedStage:
    """One adapter of the plan with the options it will be built with."""

    spec: AdapterSpec
    options: dict[str, str]


def _why(need: str, needs: ModelNeeds) -> str:
    if need == "channels":
        model_in = "mono" if needs.input_channels == 1 else "stereo"
        model_out = "mono" if needs.output_channels == 1 else "stereo"
        return f"the model is {model_in}-in, {model_out}-out and hosts send mono or stereo"
    if need == "sample_rate":
        return f"native sample rates {list(needs.native_sample_rates)} Hz"
    return f"native buffer sizes {list(needs.native_buffer_sizes)} samples, look-behind {needs.look_behind_samples}"


def choice_option(adapter: str, options: dict[str, str], option: str, accepted: Sequence[str], default: str) -> str:
    """The value of an adapter's choice option (``default`` when not given), checked to be one
    of ``accepted``; a :class:`PlanError` names the option, the value and the accepted values."""
    value = options.get(option, default)
    if value not in accepted:
        raise PlanError(
            f"adapter option {adapter}.{option}={value!r} is not accepted; accepted values: {', '.join(accepted)} "
            f"(e.g. --adapter-option {adapter}.{option}={accepted[-1]})"
        )
    return value


def parse_adapter_options(items: list[str]) -> dict[str, dict[str, str]]:
    """``["resample.quality=low"]`` -> ``{"resample": {"quality": "low"}}``."""
    parsed: dict[str, dict[str, str]] = {}
    for item in items:
        key, sep, value = item.partition("=")
        adapter, dot, option = key.partition(".")
        if not sep or not dot or not adapter or not option:
            raise PlanError(f"adapter option {item!r} is not ADAPTER.OPTION=VALUE (e.g. resample.quality=low)")
        parsed.setdefault(adapter, {})[option] = value
    return parsed


def plan_adapters(
    needs: ModelNeeds,
    registry: Registry,
    chosen: dict[str, str] | None = None,
    options: dict[str, dict[str, str]] | None = None,
) -> list[PlannedStage]:
    """Choose one adapter per required need, outermost first.

    Args:
        needs: the model's native stream.
        registry: what the installed plugins provide.
        chosen: need -> adapter name, overriding the highest-priority choice.
        options: adapter name -> option -> value, checked against what the adapter accepts.
    """
    chosen = dict(chosen or {})
    options = dict(options or {})
    for need in chosen:
        if need not in NEEDS:
            raise PlanError(f"--adapter {need}=...: unknown need {need!r}; needs are {', '.join(NEEDS)}")
    plan: list[PlannedStage] = []
    for need in needs.required():
        if need in chosen:
            spec = registry.adapters.get(chosen[need])
            if spec is None or spec.need != need:
                available = ", ".join(a.name for a in registry.adapters_for(need)) or "none installed"
                raise PlanError(
                    f"--adapter {need}={chosen[need]}: no adapter of that name serves {need} (available: {available})"
                )
        else:
            candidates = registry.adapters_for(need)
            if not candidates:
                first_party = FIRST_PARTY_ADAPTERS[need]
                raise MissingAdapterError(
                    f"the model needs an adapter for {need} ({_why(need, needs)}), and no installed plugin provides one. "
                    f"Install the first-party adapter: pip install \"neutone[{first_party}]\" "
                    f"(distribution neutone-adapter-{first_party})"
                )
            spec = candidates[0]
        given = options.pop(spec.name, {})
        unknown = sorted(set(given) - set(spec.options))
        if unknown:
            accepted = ", ".join(f"{k} ({v})" for k, v in spec.options.items()) or "none"
            raise PlanError(f"adapter {spec.name!r} has no option {', '.join(unknown)}; it accepts: {accepted}")
        plan.append(PlannedStage(spec, given))
    if options:
        planned = ", ".join(p.spec.name for p in plan)
        raise PlanError(f"options given for adapters not in the plan: {', '.join(sorted(options))} (plan: {planned})")
    return plan


def build_chain(wrapper: WaveformToWaveformBase, plan: list[PlannedStage]) -> nn.Module:
    """Nest the planned adapters around the wrapper, innermost last in ``plan``."""
    needs = ModelNeeds.of(wrapper)
    stage: nn.Module = ModelStage(wrapper)
    for planned in reversed(plan):
        stage = planned.spec.factory(needs, stage, planned.options)
    return stage
