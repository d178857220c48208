"""TorchScript compilation, freezing and failures, with errors that point at the user's code."""

from __future__ import annotations

import ast
import contextlib
import inspect
import io
import re
import textwrap
import types
import warnings
from collections.abc import Iterator
from pathlib import Path

import torch
from torch import nn

from neutone_core.errors import ExportOptionsError, ScriptingError

_DEPRECATION = r"`torch\.jit\.\w+` is deprecated"
_GENERIC_FIX = (
    "use only TorchScript-supported Python in the methods the graph calls "
    "(do_forward_pass, aggregate_params, calc_model_delay_samples, reset_model, "
    "set_model_sample_rate_and_buffer_size, and what they call) and annotate their argument types."
)
_FIXES = {
    "Expected a default value of type": (
        "remove the `= None` default (the Neutone SDK README's first example has one): "
        "the graph always passes params, so write `params: Dict[str, Tensor]`."
    ),
    "cannot be used as a value. Perhaps it is a closed over global variable": (
        "compiled methods cannot read module-level constants: store the value on the module in __init__ "
        "(`self.ratio = RATIO`) and read `self.ratio`, or write the number itself."
    ),
}
"""TorchScript message fragment -> the fix for that common mistake."""
_LOCATION = re.compile(r'File "([^"]+)", line (\d+)(?:, in (\w+))?')
_SCRIPTABLE_MODULES = ("torch", "math", "typing", "neutone_core", "neutone_adapters", "neutone_blocks", "builtins")
"""Top-level modules whose names a scripted method may use; anything else (numpy, scipy, ...)
cannot be compiled."""


@contextlib.contextmanager
def torchscript_quietly() -> Iterator[None]:
    """Silence only TorchScript's own deprecation notice; every other warning stays visible."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_DEPRECATION, category=DeprecationWarning)
        yield


def _own_functions(module: nn.Module) -> Iterator[tuple[type, str, types.FunctionType]]:
    """``(class, name, function)`` for every method defined in the classes of a module tree."""
    seen: set[tuple[type, str]] = set()
    for sub in module.modules():
        for cls in type(sub).__mro__:
            if cls.__module__.startswith("torch."):
                continue
            for name, func in vars(cls).items():
                if isinstance(func, types.FunctionType) and (cls, name) not in seen:
                    seen.add((cls, name))
                    yield cls, name, func


def _method_at(file: str, line: int, module: nn.Module) -> str | None:
    """``Class.method`` of a module in ``module``'s tree whose source spans ``file:line``."""
    for cls, name, func in _own_functions(module):
        try:
            source_file = inspect.getsourcefile(func)
            lines, start = inspect.getsourcelines(func)
        except (OSError, TypeError):
            continue
        if source_file and Path(source_file).resolve() == Path(file).resolve() and start <= line < start + len(lines):
            return f"{cls.__name__}.{name}"
    return None


def unscriptable_calls(module: nn.Module) -> list[str]:
    """Where the user's methods in a module tree (not neutone's, not constructors) use a module
    TorchScript cannot compile (numpy, ...): ``"Class.method (file, line N) uses np.tanh"``,
    one per method."""
    found = []
    for cls, name, func in _own_functions(module):
        if name.startswith("__") or cls.__module__.split(".")[0] in _SCRIPTABLE_MODULES:
            continue
        try:
            source = textwrap.dedent(inspect.getsource(func))
            file = inspect.getsourcefile(func)
            _, start = inspect.getsourcelines(func)
        except (OSError, TypeError):
            continue
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                target = func.__globals__.get(node.value.id)
                if isinstance(target, types.ModuleType) and target.__name__.split(".")[0] not in _SCRIPTABLE_MODULES:
                    found.append(
                        f"{cls.__name__}.{name} ({file}, line {start + node.lineno - 1}) uses {node.value.id}.{node.attr}"
                    )
                    break
    return found


def unloadable_class_names(module: nn.Module) -> list[str]:
    """Classes of a module tree whose module name is not dotted Python identifiers: a Python
    class from a file ``overdrive-random.py`` imported as such, or a module already scripted
    (e.g. loaded from a TorchScript file) from such a file. TorchScript saves them under that
    name and cannot always load the archive back."""
    names = []
    for sub in module.modules():
        if isinstance(sub, torch.jit.ScriptModule):
            qualified = sub._c._type().qualified_name()  # a class scripted from __main__: "__torch__.Name"
            module_name, _, class_name = qualified.removeprefix("__torch__.").rpartition(".")
        else:
            module_name, class_name = type(sub).__module__, type(sub).__qualname__
        if module_name and not all(part.isidentifier() for part in module_name.split(".")):
            names.append(f"{class_name} (module {module_name!r})")
    return sorted(set(names))


def script_module(module: nn.Module, what: str) -> torch.jit.ScriptModule:
    """Compile ``module`` with TorchScript; on failure raise :class:`ScriptingError` naming the
    method and line of the user's code and TorchScript's own message."""
    unloadable = unloadable_class_names(module)
    if unloadable:
        raise ScriptingError(
            f"cannot export {what}: {', '.join(unloadable)} would be saved under a module name that is not a Python "
            "identifier, and the file could not be loaded back. Rename the file (underscores, not dashes), or export "
            "with `neutone compose path/to/file.py:Name`, which imports it under a valid name; a TorchScript file "
            "scripted from such a module must be scripted again from one whose name is an identifier"
        )
    try:
        with torchscript_quietly():
            return torch.jit.script(module)
    except Exception as exc:
        message = str(exc).strip()
        locations = [(f, int(n)) for f, n, _ in _LOCATION.findall(message)]
        where = ""
        for file, line in locations:
            method = _method_at(file, line, module)
            if method is not None:
                where = f" in {method} ({file}, line {line})"
                break
        else:
            if locations:
                where = f" at {locations[0][0]}, line {locations[0][1]}"
        fix = next((fix for fragment, fix in _FIXES.items() if fragment in message), _GENERIC_FIX)
        if not locations:
            calls = unscriptable_calls(module)
            if calls:
                where = f" in {calls[0].split(' uses ')[0]}"
                fix = (
                    f"{'; '.join(calls)}: TorchScript compiles torch operations only, so write these with torch "
                    "(e.g. torch.tanh for np.tanh) or compute them before export."
                )
        raise ScriptingError(f"TorchScript could not compile {what}{where}:\n{message}\nFix: {fix}") from exc


def enclosing_function(file: str, line: int) -> str | None:
    """``Class.method`` (or ``function``) of the source file ``file`` whose body holds ``line``."""
    try:
        tree = ast.parse(Path(file).read_text())
    except (OSError, SyntaxError, ValueError):
        return None
    found: str | None = None

    def visit(node: ast.AST, prefix: str) -> None:
        nonlocal found
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = f"{prefix}{child.name}"
                if child.lineno <= line <= (child.end_lineno or child.lineno):
                    if not isinstance(child, ast.ClassDef):
                        found = name
                    visit(child, f"{name}.")

    visit(tree, "")
    return found


def describe_script_failure(exc: BaseException) -> str:
    """One line for an exception raised inside a scripted graph: the innermost frame of the
    original code (``Class.method (file, line N)``) and the exception itself."""
    text = str(exc).strip()
    original = text.split("original code (most recent call last):")[-1]
    frames = _LOCATION.findall(original)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    last = lines[-1] if lines else type(exc).__name__
    last = re.sub(r"^builtins\.", "", last)
    if not frames or "Traceback of TorchScript" not in text:
        return f"{type(exc).__name__}: {last}" if ":" not in last else last
    file, line, function = frames[-1]
    where = enclosing_function(file, int(line)) or function or "?"
    return f"{where} ({file}, line {line}): {last}"


def freeze_model(model: nn.Module, optimize: bool) -> torch.jit.ScriptModule:
    """A wrapper's ``model`` submodule scripted and frozen (weights become constants), every
    compiled method and plain attribute kept; ``optimize`` adds ``optimize_for_inference``.
    The frozen module is saved and loaded back, so it joins a wrapper as a loaded
    TorchScript file does."""
    with torchscript_quietly():
        scripted = model if isinstance(model, torch.jit.ScriptModule) else script_module(model, type(model).__name__)
        scripted.eval()
        methods = [name for name in scripted._c._method_names() if name != "forward"]
        kept = [
            name
            for name, value in vars(model).items()
            if not name.startswith("_") and isinstance(value, (int, float, bool, str, list, tuple))
        ]
        try:
            frozen = torch.jit.freeze(scripted, preserved_attrs=methods + kept)
            if optimize:
                frozen = torch.jit.optimize_for_inference(frozen, other_methods=methods)
            buffer = io.BytesIO()
            torch.jit.save(frozen, buffer)
            buffer.seek(0)
            frozen = torch.jit.load(buffer)
        except Exception as exc:
            raise ExportOptionsError(
                f"freeze{'/optimize' if optimize else ''} failed on {type(model).__name__}: {exc}; "
                "export without freeze (the model still runs scripted)"
            ) from exc
    return frozen
