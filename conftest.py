"""Fixtures shared by every test folder: in-process plugins that are always unregistered."""

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from neutone_core.plugins import load_plugins, pm, unregister

EXAMPLES = Path(__file__).parent / "examples"


@pytest.fixture
def register_plugin() -> Iterator[Callable[[Any, str], Any]]:
    """Register plugin objects for one test; each is unregistered afterwards, with whatever
    failures were recorded for it."""
    load_plugins()
    names: list[str] = []

    def register(plugin: Any, name: str) -> Any:
        pm.register(plugin, name=name)
        names.append(name)
        return plugin

    yield register
    for name in names:
        unregister(name)


@pytest.fixture
def clipper_wrapper() -> Any:
    """The clipper from the Neutone SDK README (examples/clipper.py)."""
    from neutone_core.tools.sources import load_wrapper_from_file

    return load_wrapper_from_file(str(EXAMPLES / "clipper.py") + ":ClipperModelWrapper")


NUMERICS_SENSITIVE = (
    "neutone_adapters/",
    "plugins/neutone-blocks/",
    "plugins/neutone-knob-smoother/",
    "plugins/neutone-nn-tilde/",
    "plugins/neutone-ronn/",
    "tests/test_checks.py",
    "tests/test_export.py",
    "tests/test_host_robustness.py",
    "tests/test_invariants.py",
    "tests/test_sdk_compatibility.py",
    "tests/test_validate.py",
)
"""Tests whose results depend on float kernels (block sizes, matrix shapes, DSP): `make test`
also runs them under torch's portable kernels and MKL's compatible code path
(``-m numerics``), so a result that holds on one instruction set only shows up here."""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the numerics-sensitive tests ``numerics``."""
    root = Path(config.rootpath)
    for item in items:
        relative = Path(item.path).relative_to(root).as_posix()
        if relative.startswith(NUMERICS_SENSITIVE):
            item.add_marker(pytest.mark.numerics)
