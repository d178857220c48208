"""The planner: folds from the model outward, nesting each adapter the stream needs.

Start from the wrapper's innermost record (what ``do_forward_pass`` needs). Take one adapter
per need (the highest priority unless the user names one), innermost rank first; each that
is needed for the record so far wraps the chain and replaces the record with what it asks of
the stage outside it. The outermost record must meet the host contract
(:data:`~neutone_core.needs.HOST_STREAM`); what it does not meet names the distribution to
install. A factory receives the record of its inner stage.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from torch import nn

from neutone_core.distributions import install_command
from neutone_core.errors import MissingAdapterError, PlanError
from neutone_core.needs import StreamNeeds, UnmetProperty, unmet_host_properties
from neutone_core.plugins import AdapterSpec, Registry


@dataclass(frozen=True)
class PlannedStage:
    """One adapter of the plan: its spec, options, the record of the stage it wraps and why."""

    spec: AdapterSpec
    options: dict[str, str]
    inner_needs: StreamNeeds
    reason: str


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


def _with_nesting(spec: AdapterSpec, registry: Registry) -> AdapterSpec | None:
    """A spec registered with the older form nests like the highest-priority adapter of its
    need that says where it nests; None when no adapter of the need does."""
    if spec.declares_nesting:
        return spec
    model = next((a for a in registry.adapters_for(spec.need) if a.declares_nesting), None)
    if model is None:
        return None
    return replace(spec, rank=model.rank, needed=model.needed, outer=model.outer)


def _chosen_specs(registry: Registry, chosen: dict[str, str]) -> tuple[list[AdapterSpec], dict[str, AdapterSpec]]:
    """One spec per need (the user's choice or the highest priority), innermost rank first;
    and, by need, the chosen specs that cannot be placed (older form, no sibling to nest like)."""
    needs = registry.needs()
    for need, name in chosen.items():
        spec = registry.adapters.get(name)
        if spec is None or spec.need != need:
            available = ", ".join(a.name for a in registry.adapters_for(need)) or "none installed"
            known = f"; needs served here: {', '.join(needs)}" if need not in needs else ""
            raise PlanError(f"--adapter {need}={name}: no adapter of that name serves {need} (available: {available}){known}")
    placed: list[AdapterSpec] = []
    unplaceable: dict[str, AdapterSpec] = {}
    for need in needs:
        spec = registry.adapters[chosen[need]] if need in chosen else registry.adapters_for(need)[0]
        nested = _with_nesting(spec, registry)
        if nested is None:
            unplaceable[need] = spec
        else:
            placed.append(nested)
    return sorted(placed, key=lambda s: (s.rank, s.need)), unplaceable


def _missing(
    unmet: list[UnmetProperty], registry: Registry, unplaceable: dict[str, AdapterSpec], outermost: StreamNeeds
) -> MissingAdapterError:
    lines = []
    for prop in unmet:
        installed = registry.adapters_for(prop.need)
        if prop.need in unplaceable:
            spec = unplaceable[prop.need]
            lines.append(
                f"{prop.explanation}: adapter {spec.name!r} ({spec.provenance.distribution}) serves {prop.need!r} without "
                "saying where it nests, and no installed adapter of that need does; it must register with rank=, needed= "
                "and outer="
            )
        elif installed:
            lines.append(
                f"{prop.explanation}: the installed {prop.need} adapter {installed[0].name!r} "
                f"({installed[0].provenance.distribution}) did not serve it at its rank"
            )
        elif prop.first_party:
            lines.append(
                f"{prop.explanation}: no installed plugin serves {prop.need}. Install the first-party adapter "
                f"neutone-adapter-{prop.first_party}: {install_command(f'neutone-adapter-{prop.first_party}', prop.first_party)}"
            )
        else:
            lines.append(f"{prop.explanation}: no installed plugin serves the need {prop.need!r}; install a plugin that does")
    return MissingAdapterError(
        f"the model needs what the host does not offer ({outermost.describe()}):\n" + "\n".join(f"  - {line}" for line in lines)
    )


def plan_adapters(
    innermost: StreamNeeds,
    registry: Registry,
    chosen: dict[str, str] | None = None,
    options: dict[str, dict[str, str]] | None = None,
) -> list[PlannedStage]:
    """Fold the adapters the stream needs around the model; the plan is outermost first.

    Args:
        innermost: what the model's stage needs (the wrapper's record).
        registry: what the installed plugins provide.
        chosen: need -> adapter name, overriding the highest-priority choice.
        options: adapter name -> option -> value, checked against what the adapter accepts.
    """
    options = dict(options or {})
    needs = innermost
    plan: list[PlannedStage] = []
    specs, unplaceable = _chosen_specs(registry, dict(chosen or {}))
    for spec in specs:
        reason = spec.needed(needs)
        if reason is None:
            continue
        given = options.pop(spec.name, {})
        unknown = sorted(set(given) - set(spec.options))
        if unknown:
            accepted = ", ".join(f"{k} ({v})" for k, v in spec.options.items()) or "none"
            raise PlanError(f"adapter {spec.name!r} has no option {', '.join(unknown)}; it accepts: {accepted}")
        plan.append(PlannedStage(spec, given, needs, reason))
        needs = spec.outer(needs, given)
    unmet = unmet_host_properties(needs)
    if unmet:
        raise _missing(unmet, registry, unplaceable, needs)
    if options:
        planned = ", ".join(p.spec.name for p in plan) or "no adapter"
        raise PlanError(f"options given for adapters not in the plan: {', '.join(sorted(options))} (plan: {planned})")
    return plan[::-1]


def build_chain(model_stage: nn.Module, plan: list[PlannedStage]) -> nn.Module:
    """Nest the planned adapters (outermost first in ``plan``) around the model's stage."""
    stage = model_stage
    for planned in reversed(plan):
        stage = planned.spec.factory(planned.inner_needs, stage, planned.options)
    return stage
