"""Plugin loading and the registry of what plugins provide.

Entry points of group ``"neutone"`` load once, lazily, each inside its own guard, in the order
of (distribution, entry point name) so that the outcome never depends on install order. A
plugin that fails to import, misspells a hook, takes a name already loaded, or whose hook
raises is recorded (see :func:`plugin_failures`) and skipped. ``NEUTONE_LOAD_PLUGINS``
(comma-separated distribution names; empty = none) restricts which distributions load;
the core's own entry points (distribution ``neutone``) always load.
"""

from __future__ import annotations

import importlib.metadata
import os
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

import pluggy

from neutone_core import hookspecs
from neutone_core.families import FamilyOption, family_options

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
    """A registered adapter: serves one ``need`` with a stage built by ``factory``.

    ``rank``, ``needed`` and ``outer`` are None for an adapter registered with the older form;
    it nests like the installed adapter of the same need that declares them.

    Attributes:
        name: the adapter's name (``--adapter NEED=NAME``, ``--adapter-option NAME.OPTION=V``).
        need: the need it serves: a host-contract property (``channels``, ``sample_rate``,
            ``buffer_size``, ``domain``) or any name a model may ask for in ``extra``.
        factory: ``factory(inner_needs, inner_stage, options) -> stage``.
        priority: the highest per need is planned unless the user names another.
        description: one line for ``neutone plugins``.
        options: accepted option name -> one-line description.
        provenance: who registered it.
        offline: its whole-signal form for tools (a ``sample_rate`` adapter:
            ``offline(audio, in_rate, out_rate)``, audio ``(channels, n)``), or None.
        rank: where it nests, larger = further out (mixer 300, resampler 200, FIFO 100).
        needed: ``needed(inner_needs) -> reason or None``: whether a stage is needed around a
            stage with these needs, and the one-line reason ``neutone inspect`` shows.
        outer: ``outer(inner_needs, options) -> StreamNeeds``: what the adapter asks of the
            stage outside it.
    """

    name: str
    need: str
    factory: Callable[..., Any]
    priority: int
    description: str
    options: dict[str, str]
    provenance: Provenance
    offline: Callable[..., Any] | None = None
    rank: int | None = None
    needed: Callable[..., str | None] | None = None
    outer: Callable[..., Any] | None = None

    @property
    def declares_nesting(self) -> bool:
        """Whether the spec says where it nests (the current registration form)."""
        return self.rank is not None and self.needed is not None and self.outer is not None


@dataclass(frozen=True)
class FamilySpec:
    """A registered model family: ``build(source, options)`` returns a wrapper; ``options``
    maps each accepted option to its :class:`~neutone_core.families.FamilyOption`."""

    name: str
    build: Callable[..., Any]
    description: str
    options: dict[str, FamilyOption]
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
    """A plugin that could not be loaded, or a hook of it that raised or was refused."""

    plugin: str
    distribution: str
    stage: str
    error: str
    traceback: str


@dataclass
class Registry:
    """Everything the loaded plugins registered, with refusals recorded as failures."""

    adapters: dict[str, AdapterSpec] = field(default_factory=dict)
    families: dict[str, FamilySpec] = field(default_factory=dict)
    checks: dict[str, CheckSpec] = field(default_factory=dict)
    failures: list[PluginFailure] = field(default_factory=list)
    family_claims: dict[str, list[Provenance]] = field(default_factory=dict)
    """Model family name -> every plugin that registered it (two or more: a collision)."""

    def adapters_for(self, need: str) -> list[AdapterSpec]:
        """Adapters serving ``need``, highest priority first (ties by name)."""
        return sorted((a for a in self.adapters.values() if a.need == need), key=lambda a: (-a.priority, a.name))

    def needs(self) -> list[str]:
        """Every need some registered adapter serves, sorted."""
        return sorted({a.need for a in self.adapters.values()})


@dataclass
class _LoadState:
    loaded: bool = False
    failures: list[PluginFailure] = field(default_factory=list)
    distributions: dict[str, tuple[str, str]] = field(default_factory=dict)
    commands: dict[str, list[str]] = field(default_factory=dict)


_state = _LoadState()


def _allowed_distributions() -> set[str] | None:
    value = os.environ.get(LOAD_ENV_VAR)
    if value is None:
        return None
    return {name.strip() for name in value.split(",") if name.strip()} | {CORE_DISTRIBUTION}


def _failure(plugin: str, distribution: str, stage: str, exc: BaseException) -> PluginFailure:
    return PluginFailure(
        plugin=plugin,
        distribution=distribution,
        stage=stage,
        error=f"{type(exc).__name__}: {exc}",
        traceback="".join(traceback.format_exception(exc)),
    )


def _entry_points() -> list[tuple[str, str, importlib.metadata.EntryPoint]]:
    """``(distribution, version, entry point)`` of the group, sorted by distribution then name;
    a distribution found twice on the path counts once (the first found)."""
    found: dict[tuple[str, str], tuple[str, str, importlib.metadata.EntryPoint]] = {}
    for dist in importlib.metadata.distributions():
        dist_name = dist.metadata["Name"] or "?"
        for ep in dist.entry_points:
            if ep.group == ENTRY_POINT_GROUP:
                found.setdefault((dist_name, ep.name), (dist_name, dist.version, ep))
    return [found[key] for key in sorted(found)]


def load_plugins() -> None:
    """Load every ``"neutone"`` entry point once; failures are recorded, never raised."""
    if _state.loaded:
        return
    _state.loaded = True
    allowed = _allowed_distributions()
    for dist_name, version, ep in _entry_points():
        if allowed is not None and dist_name not in allowed:
            continue
        if pm.get_plugin(ep.name) is not None or pm.is_blocked(ep.name):
            holder = _state.distributions.get(ep.name, ("(in-process)", ""))[0]
            _state.failures.append(
                PluginFailure(ep.name, dist_name, "load", f"entry point name {ep.name!r} is taken by {holder}; skipped", "")
            )
            continue
        try:
            plugin = ep.load()
            pm.register(plugin, name=ep.name)
        except Exception as exc:  # a broken plugin must never break the others
            _state.failures.append(_failure(ep.name, dist_name, "import", exc))
            continue
        try:
            pm.check_pending()
        except pluggy.PluginValidationError as exc:  # a misspelled hook: loud, but only this plugin goes
            pm.unregister(name=ep.name)
            _state.failures.append(_failure(ep.name, dist_name, "hook names", exc))
            continue
        _state.distributions[ep.name] = (dist_name, version)


def provenance_of(plugin_name: str) -> Provenance:
    """The distribution behind a registered plugin (``"(in-process)"`` when registered by code)."""
    dist, version = _state.distributions.get(plugin_name, ("(in-process)", ""))
    return Provenance(plugin=plugin_name, distribution=dist, version=version)


def plugin_failures() -> list[PluginFailure]:
    """Plugins that failed to load, or whose commands hook failed, after :func:`load_plugins`."""
    load_plugins()
    return list(_state.failures)


def record_commands(plugin_name: str, commands: list[str]) -> None:
    """Remember the command names a plugin's ``register_commands`` added."""
    _state.commands[plugin_name] = list(commands)


def record_failure(plugin_name: str, stage: str, exc: BaseException) -> None:
    """Record a failure of a loaded plugin outside registration (e.g. ``register_commands``)."""
    _state.failures.append(_failure(plugin_name, provenance_of(plugin_name).distribution, stage, exc))


def unregister(plugin_name: str) -> None:
    """Remove a plugin registered in-process, with the failures and commands recorded for it."""
    pm.unregister(name=plugin_name)
    _state.failures[:] = [f for f in _state.failures if f.plugin != plugin_name]
    _state.commands.pop(plugin_name, None)


def plugin_commands() -> dict[str, list[str]]:
    """Plugin name -> the command names it added (after the CLI loaded them)."""
    return dict(_state.commands)


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
    registry = Registry(failures=list(_state.failures))

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
            rank: int | None = None,
            needed: Callable[..., str | None] | None = None,
            outer: Callable[..., Any] | None = None,
        ) -> None:
            if not isinstance(need, str) or not need:
                raise ValueError(f"adapter {name!r}: need must be a non-empty string, got {need!r}")
            given = [rank is not None, needed is not None, outer is not None]
            if any(given) and not all(given):
                raise ValueError(
                    f"adapter {name!r}: pass rank, needed and outer together (or none, to nest like the {need} adapter)"
                )
            if name in registry.adapters:
                collision("adapter", name, registry.adapters[name].provenance, plugin)
                return
            registry.adapters[name] = AdapterSpec(
                name,
                need,
                factory,
                priority,
                description,
                dict(options or {}),
                provenance_of(plugin),
                offline,
                rank,
                needed,
                outer,
            )

        return {"register": register}

    def family_register(plugin: str) -> dict[str, Any]:
        def register(
            name: str, build: Callable[..., Any], description: str = "", options: dict[str, Any] | None = None
        ) -> None:
            declared = family_options(options)
            registry.family_claims.setdefault(name, []).append(provenance_of(plugin))
            if name in registry.families:
                collision("model family", name, registry.families[name].provenance, plugin)
                return
            registry.families[name] = FamilySpec(name, build, description, declared, provenance_of(plugin))

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
    """Names of the registered plugins, in load order."""
    load_plugins()
    return [name for name, _ in pm.list_name_plugin()]
