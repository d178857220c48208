"""The layout shows the architecture: imports run downward only, with no cycle anywhere.

Layers, lowest first: the core a plugin author relies on (``neutone_core`` modules: protocol,
hooks, planner, root, export), the host tools (``neutone_core.tools``), then the test kit
(``neutone_core.testing``) and the command line (``neutone_core.tools.cli``,
``neutone_core.__main__``). Every import counts, including those inside functions.
"""

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[1] / "neutone_core"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """Every ``neutone_core`` module a file imports, at any depth of its code: ``from a import
    b`` imports the submodule ``a.b`` if there is one, else names defined in ``a``."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("neutone_core"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("neutone_core"):
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if submodule in modules else node.module)
    return found


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    """Module -> the ``neutone_core`` modules it imports."""
    modules = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    return {name: {t for t in imports_of(path, set(modules)) if t in modules and t != name} for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle through each strongly connected knot of the graph (depth-first search)."""
    found: list[list[str]] = []
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                found.append(path[path.index(target) :] + [target])
            elif target not in state:
                visit(target)
        path.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found


def layer(module: str) -> int:
    if module in ("neutone_core.tools.cli", "neutone_core.__main__") or module.startswith("neutone_core.testing"):
        return 2
    if module.startswith("neutone_core.tools"):
        return 1
    return 0


def test_no_import_cycle(graph: dict[str, set[str]]) -> None:
    assert cycles(graph) == []


def test_the_cycle_finder_finds_one() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]


def test_imports_run_downward_only(graph: dict[str, set[str]]) -> None:
    upward = sorted((a, b) for a, targets in graph.items() for b in targets if layer(b) > layer(a))
    assert upward == [], "the core never imports the tools, the tools never the test kit or the CLI"


def test_the_core_holds_no_dsp() -> None:
    for path in PACKAGE.glob("*.py"):
        text = path.read_text()
        for marker in (r"torch\.fft", r"\bconv1d\b", r"\bsinc\b", r"\blfilter\b"):
            assert not re.search(marker, text), f"{path.name} matches {marker}: DSP belongs to an adapter"
