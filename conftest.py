"""Fixtures shared by every test folder: in-process plugins that are always unregistered."""

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from neutone_core.plugins import load_plugins, pm

EXAMPLES = Path(__file__).parent / "examples"


@pytest.fixture
def register_plugin() -> Iterator[Callable[[Any, str], Any]]:
    """Register plugin objects for one test; each is unregistered afterwards."""
    load_plugins()
    names: list[str] = []

    def register(plugin: Any, name: str) -> Any:
        pm.register(plugin, name=name)
        names.append(name)
        return plugin

    yield register
    for name in names:
        pm.unregister(name=name)


@pytest.fixture
def clipper_wrapper() -> Any:
    """The clipper from the Neutone SDK README (examples/clipper.py)."""
    from neutone_core.tools.sources import load_wrapper_from_file

    return load_wrapper_from_file(str(EXAMPLES / "clipper.py") + ":ClipperModelWrapper")
