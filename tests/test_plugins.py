import json
import os
import subprocess
import sys
from typing import Callable

import click
import pluggy
import pytest
from torch import nn

from neutone_core import MissingAdapterError, compose
from neutone_core.hookspecs import hookimpl
from neutone_core.needs import ModelNeeds
from neutone_core.plugins import get_registry, plugin_commands, plugin_failures, pm
from neutone_core.testing import PassThroughWrapper
from neutone_core.tools.cli import NeutoneGroup


def mixer_factory(needs: ModelNeeds, inner: nn.Module, options: dict[str, str]) -> nn.Module:
    from neutone_adapters.mixer import MixerStage

    return MixerStage(inner, needs.input_channels, needs.output_channels)


class PreferredMixer:
    """Registers a second channels adapter with a higher priority."""

    @staticmethod
    @hookimpl
    def register_adapters(register: Callable[..., None]) -> None:
        register("preferred-mixer", "channels", mixer_factory, priority=5, description="test")


def test_first_party_mixer_is_found_through_its_entry_point() -> None:
    registry = get_registry()
    mixer = registry.adapters["mixer"]
    assert mixer.need == "channels"
    assert mixer.provenance.distribution == "neutone-adapter-mixer"
    assert registry.checks["reload_identical"].provenance.distribution == "neutone"


def test_highest_priority_adapter_is_planned_and_unregistered_after(register_plugin) -> None:
    register_plugin(PreferredMixer(), "preferred")
    registry = get_registry()
    assert [a.name for a in registry.adapters_for("channels")][:2] == ["preferred-mixer", "mixer"]
    assert registry.adapters["preferred-mixer"].provenance.distribution == "(in-process)"
    assert compose(PassThroughWrapper()).graph.stage_names == ["preferred-mixer", "model"]
    assert compose(PassThroughWrapper(), adapters={"channels": "mixer"}).graph.stage_names == ["mixer", "model"]


def test_registered_test_plugins_do_not_leak() -> None:
    assert "preferred-mixer" not in get_registry().adapters


def test_name_collision_keeps_the_first_and_reports_the_second(register_plugin) -> None:
    class Duplicate:
        @staticmethod
        @hookimpl
        def register_adapters(register: Callable[..., None]) -> None:
            register("mixer", "channels", mixer_factory)

    register_plugin(Duplicate(), "duplicate")
    registry = get_registry()
    assert registry.adapters["mixer"].provenance.distribution == "neutone-adapter-mixer"
    [failure] = [f for f in registry.failures if f.plugin == "duplicate"]
    assert "adapter 'mixer' is already registered by neutone-adapter-mixer" in failure.error


def test_a_hook_that_raises_is_reported_and_the_others_still_register(register_plugin) -> None:
    class Raises:
        @staticmethod
        @hookimpl
        def register_adapters(register: Callable[..., None]) -> None:
            raise RuntimeError("cannot find my tables")

    register_plugin(Raises(), "raises")
    registry = get_registry()
    [failure] = [f for f in registry.failures if f.plugin == "raises"]
    assert failure.stage == "register_adapters"
    assert failure.error == "RuntimeError: cannot find my tables"
    assert "mixer" in registry.adapters


def test_a_new_need_without_nesting_is_refused_only_for_models_that_need_it(register_plugin) -> None:
    class UnknownNeed:
        @staticmethod
        @hookimpl
        def register_adapters(register: Callable[..., None]) -> None:
            register("warp", "time_travel", mixer_factory)

    register_plugin(UnknownNeed(), "unknown-need")
    assert get_registry().adapters["warp"].need == "time_travel"
    assert compose(PassThroughWrapper()).graph.stage_names == ["mixer", "model"], "other models are not affected"
    with pytest.raises(MissingAdapterError, match=r"adapter 'warp' \(\(in-process\)\) serves 'time_travel' without saying where"):
        compose(PassThroughWrapper(extra_needs={"time_travel": True}))


def test_rank_needed_and_outer_come_together(register_plugin) -> None:
    class HalfDeclared:
        @staticmethod
        @hookimpl
        def register_adapters(register: Callable[..., None]) -> None:
            register("half", "time_travel", mixer_factory, rank=5)

    register_plugin(HalfDeclared(), "half-declared")
    [failure] = [f for f in get_registry().failures if f.plugin == "half-declared"]
    assert "pass rank, needed and outer together" in failure.error


def test_misspelled_hook_fails_loudly() -> None:
    class Misspelled:
        @staticmethod
        @hookimpl
        def register_adaptors(register: Callable[..., None]) -> None:
            """Misspelled on purpose."""

    pm.register(Misspelled(), name="misspelled")
    try:
        with pytest.raises(pluggy.PluginValidationError, match="register_adaptors"):
            pm.check_pending()
    finally:
        pm.unregister(name="misspelled")


def _plugins_json(env_value: str | None) -> dict:
    env = dict(os.environ)
    env.pop("NEUTONE_LOAD_PLUGINS", None)
    if env_value is not None:
        env["NEUTONE_LOAD_PLUGINS"] = env_value
    out = subprocess.run(
        [sys.executable, "-m", "neutone_core", "plugins", "--json"], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def test_environment_variable_restricts_which_distributions_load() -> None:
    everything = {p["distribution"] for p in _plugins_json(None)["plugins"]}
    assert {"neutone", "neutone-adapter-mixer", "neutone-torchscript"} <= everything
    assert {p["distribution"] for p in _plugins_json("")["plugins"]} == {"neutone"}
    assert {p["distribution"] for p in _plugins_json("neutone-adapter-mixer")["plugins"]} == {"neutone", "neutone-adapter-mixer"}


def test_a_failing_commands_hook_is_reported_by_neutone_plugins(register_plugin) -> None:
    class BrokenCommands:
        @staticmethod
        @hookimpl
        def register_commands(cli: click.Group) -> None:
            raise RuntimeError("click is too old")

    register_plugin(BrokenCommands(), "broken-commands")
    group = NeutoneGroup(name="neutone")
    group.list_commands(click.Context(group))
    [failure] = [f for f in plugin_failures() if f.plugin == "broken-commands"]
    assert (failure.stage, failure.error) == ("register_commands", "RuntimeError: click is too old")
    assert plugin_commands()["torchscript"] == ["torchscript-info"]
