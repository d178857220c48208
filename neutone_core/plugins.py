"""Plugin loading and the registry of what plugins provide.

Entry points of group ``"neutone"`` load once, lazily, each inside its own guard: a plugin
that fails to import is recorded (see :func:`plugin_failures`) and skipped. The environment
variable ``NEUTONE_LOAD_PLUGINS`` (comma-separated distribution names; empty = none)
restricts which distributions load.
"""

from __future__ import annotations

import importlib.metadata
import os
import traceback
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Callable

import pluggy

from neutone_core import hookspecs
from neutone_core.needs import NEEDS

ENTRY_POINT_GROUP = "neutone"
LOAD_ENV_VAR = "NEUTONE_LOAD_PLUGINS"
CORE_DISTRIBUTION = "neutone"

pm = pluggy.PluginManager("neutone")
pm.add_hookspecs(hookspecs)


@dataclass(frozen=True)
class Provenance:
    """Who registered something: plugin name and its distribution (name, version)."""

    plugin: str
    distribution: str
    version: str


@dataclass(frozen=True)
class AdapterSpec:
    """A registered adapter: serves one ``need`` with a stage built by ``factory``; ``offline``,
    when given, is its whole-signal form (for ``sample_rate``: ``offline(audio, in_rate,
    out_rate)``, audio ``(channels, n)``), used by tools such as ``neutone render``."""

    name: str
    need: str
    factory: Callable[..., Any]
    priority: int
    description: str
    options: dict[str, str]
    provenance: Provenance
    offline: Callable[..., Any] | None = None


@dataclass(frozen=True)
class FamilySpec:
    """A registered model family: ``build(source, options)`` returns a wrapper."""

    name: str
    build: Callable[..., Any]
    description: str
    options: dict[str, str]
    provenance: Provenance


@dataclass(frozen=True)
class CheckSpec:
    """A registered export check: ``check(context)`` returns a report line or raises."""

    name: str
    check: Callable[..., str]
    description: str
    provenance: Provenance


@dataclass(frozen=True)
class PluginFailure:
    """A plugin that could not be loaded or whose hook raised: where, and the error."""

    plugin: str
    distribution: str
    stage: str
    error: str
    traceback: str


@dataclass
class Registry:
    """Everything the loaded plugins registered, with name collisions recorded as failures."""

    adapters: dict[str, AdapterSpec] = field(default_factory=dict)
    families: dict[str, FamilySpec] = field(default_factory=dict)
    checks: dict[str, CheckSpec] = field(default_factory=dict)
    failures: list[PluginFailure] = field(default_factory=list)

    def adapters_for(self, need: str) -> list[AdapterSpec]:
        """Adapters serving ``need``, highest priority first (ties by name)."""
        return sorted((a for a in self.adapters.values() if a.need == need), key=lambda a: (-a.priority, a.name))


_state: dict[str, Any] = {"loaded": False, "failures": [], "distributions": {}}


def _allowed_distributions() -> set[str] | None:
    value = os.environ.get(LOAD_ENV_VAR)
    if value is None:
        return None
    return {name.strip() for name in value.split(",") if name.strip()}


def _failure(plugin: str, distribution: str, stage: str, exc: BaseException) -> PluginFailure:
    return PluginFailure(
        plugin=plugin,
        distribution=distribution,
        stage=stage,
        error=f"{type(exc).__name__}: {exc}",
        traceback="".join(traceback.format_exception(exc)),
    )


def load_plugins() -> None:
    """Load every ``"neutone"`` entry point once; failures are recorded, never raised."""
    if _state["loaded"]:
        return
    _state["loaded"] = True
    from neutone_core import builtin_checks

    pm.register(builtin_checks, name=CORE_DISTRIBUTION)
    _state["distributions"][CORE_DISTRIBUTION] = (CORE_DISTRIBUTION, _version(CORE_DISTRIBUTION))
    allowed = _allowed_distributions()
    for dist in importlib.metadata.distributions():
        dist_name = dist.metadata["Name"] or "?"
        for ep in dist.entry_points:
            if ep.group != ENTRY_POINT_GROUP:
                continue
            if allowed is not None and dist_name not in allowed:
                continue
            if pm.get_plugin(ep.name) is not None or pm.is_blocked(ep.name):
                continue
            try:
                plugin: ModuleType = ep.load()
                pm.register(plugin, name=ep.name)
            except Exception as exc:  # a broken plugin must never break the others
                _state["failures"].append(_failure(ep.name, dist_name, "import", exc))
                continue
            try:
                pm.check_pending()
            except pluggy.PluginValidationError as exc:  # a misspelled hook: loud, but only this plugin goes
                pm.unregister(name=ep.name)
                _state["failures"].append(_failure(ep.name, dist_name, "hook names", exc))
                continue
            _state["distributions"][ep.name] = (dist_name, dist.version)


def _version(dist_name: str) -> str:
    try:
        return importlib.metadata.version(dist_name)
    except importlib.metadata.PackageNotFoundError:
        return "0+unknown"


def provenance_of(plugin_name: str) -> Provenance:
    """The distribution behind a registered plugin (``"(in-process)"`` when registered by code)."""
    dist, version = _state["distributions"].get(plugin_name, ("(in-process)", ""))
    return Provenance(plugin=plugin_name, distribution=dist, version=version)


def plugin_failures() -> list[PluginFailure]:
    """Plugins that failed to import, after :func:`load_plugins`."""
    load_plugins()
    return list(_state["failures"])


def _call_each(hook_name: str, kwargs_for: Callable[[str], dict[str, Any]], failures: list[PluginFailure]) -> None:
    """Call each implementation of a registration hook in registration order (``tryfirst``
    first, ``trylast`` last), so on a name collision the earlier plugin keeps the name."""
    impls = getattr(pm.hook, hook_name).get_hookimpls()
    first = [i for i in impls if i.tryfirst]
    last = [i for i in impls if i.trylast]
    ordered = first + [i for i in impls if i not in first and i not in last] + last
    for impl in ordered:
        kwargs = kwargs_for(impl.plugin_name)
        try:
            impl.function(**{name: kwargs[name] for name in impl.argnames})
        except Exception as exc:  # a hook that raises is reported, the others still run
            failures.append(_failure(impl.plugin_name, provenance_of(impl.plugin_name).distribution, hook_name, exc))


def get_registry() -> Registry:
    """Load plugins if needed and collect what every registered plugin provides."""
    load_plugins()
    registry = Registry(failures=list(_state["failures"]))

    def collision(kind: str, name: str, first: Provenance, plugin: str) -> None:
        registry.failures.append(
            PluginFailure(
                plugin=plugin,
                distribution=provenance_of(plugin).distribution,
                stage=f"register {kind}",
                error=f"{kind} {name!r} is already registered by {first.distribution} ({first.plugin}); this one was skipped",
                traceback="",
            )
        )

    def adapter_register(plugin: str) -> dict[str, Any]:
        def register(
            name: str,
            need: str,
            factory: Callable[..., Any],
            priority: int = 0,
            description: str = "",
            options: dict[str, str] | None = None,
            offline: Callable[..., Any] | None = None,
        ) -> None:
            if need not in NEEDS:
                raise ValueError(f"adapter {name!r} serves unknown need {need!r}; needs are {', '.join(NEEDS)}")
            if name in registry.adapters:
                collision("adapter", name, registry.adapters[name].provenance, plugin)
                return
            registry.adapters[name] = AdapterSpec(
                name, need, factory, priority, description, dict(options or {}), provenance_of(plugin), offline
            )

        return {"register": register}

    def family_register(plugin: str) -> dict[str, Any]:
        def register(name: str, build: Callable[..., Any], description: str = "", options: dict[str, str] | None = None) -> None:
            if name in registry.families:
                collision("model family", name, registry.families[name].provenance, plugin)
                return
            registry.families[name] = FamilySpec(name, build, description, dict(options or {}), provenance_of(plugin))

        return {"register": register}

    def check_register(plugin: str) -> dict[str, Any]:
        def register(name: str, check: Callable[..., str], description: str = "") -> None:
            if name in registry.checks:
                collision("check", name, registry.checks[name].provenance, plugin)
                return
            registry.checks[name] = CheckSpec(name, check, description, provenance_of(plugin))

        return {"register": register}

    _call_each("register_adapters", adapter_register, registry.failures)
    _call_each("register_model_families", family_register, registry.failures)
    _call_each("register_checks", check_register, registry.failures)
    return registry


def plugin_names() -> list[str]:
    """Names of the registered plugins, core first."""
    load_plugins()
    return [name for name, _ in pm.list_name_plugin()]
