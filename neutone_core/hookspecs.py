"""The hooks a neutone plugin implements (pluggy project ``"neutone"``).

Each hook hands the plugin a ``register`` callback; the core records which distribution
registered what and decides what a name collision means. Hooks only ever gain arguments.
Plugin authors import the marker from the package: ``from neutone_core import hookimpl``.
"""

from typing import Any, Callable

import click
import pluggy

hookspec = pluggy.HookspecMarker("neutone")
hookimpl = pluggy.HookimplMarker("neutone")


@hookspec
def register_adapters(register: Callable[..., None]) -> None:
    """Register stream adapters with ``register(name, need, factory, ...)``.

    The full signature: ``register(name, need, factory, priority=0, description="",
    options=None, offline=None, rank=None, needed=None, outer=None)``.

    ``need`` names what the adapter serves: a host-contract property (``"channels"``,
    ``"sample_rate"``, ``"buffer_size"``, ``"domain"``) or any extra need a model declares.
    ``rank`` (larger = further out), ``needed(inner: StreamNeeds) -> str | None`` (the reason
    the stage is needed, or None) and ``outer(inner: StreamNeeds, options) -> StreamNeeds``
    (what it asks of the stage outside it) say where it nests; left out, the adapter nests
    like the installed adapter of the same need that gives them.
    ``factory(inner: StreamNeeds, inner_stage: nn.Module, options: dict[str, str]) -> nn.Module``
    returns a TorchScript-compatible stage (see ``neutone_core.stage``); ``options`` maps each
    accepted option name to a one-line description; ``offline`` is the adapter's whole-signal
    form for tools (a ``sample_rate`` adapter: ``offline(audio, in_rate, out_rate)``).
    """


@hookspec
def register_model_families(register: Callable[..., None]) -> None:
    """Register model families: ``register(name, build, description="", options=None)``.

    ``build(source: str, options: dict[str, Any]) -> WaveformToWaveformBase`` makes a wrapper
    from a source such as a checkpoint, a config or a TorchScript file, and raises
    ``FamilyError`` saying what it expected when the source does not fit. ``options`` maps each
    accepted option name to a ``FamilyOption`` (type, default, description): ``build``
    receives the parsed values, defaults filled in. A plain description string (the older
    form) declares a text option passed only when given.
    """


@hookspec
def register_checks(register: Callable[..., None]) -> None:
    """Register export checks: ``register(name, check, description="")``.

    ``check(context: ExportContext) -> str`` returns a one-line report or raises
    ``ExportCheckError`` naming what failed and why.
    """


@hookspec
def register_commands(cli: click.Group) -> Any:
    """Add commands to the ``neutone`` command line group."""
