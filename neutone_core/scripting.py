"""TorchScript compilation, saving and loading with errors that point at the user's code."""

from __future__ import annotations

import contextlib
import inspect
import re
import warnings
from collections.abc import Iterator
from pathlib import Path

import torch
from torch import nn

from neutone_core.errors import ScriptingError

_DEPRECATION = r"`torch\.jit\.\w+` is deprecated"
_GENERIC_FIX = (
    "use only TorchScript-supported Python in the methods the graph calls "
    "(do_forward_pass, aggregate_params, calc_model_delay_samples, reset_model, "
    "set_model_sample_rate_and_buffer_size) and annotate their argument types."
)
_FIXES = {
    "Expected a default value of type": (
        "remove the `= None` default (the Neutone SDK README's first example has one): "
        "the graph always passes params, so write `params: Dict[str, Tensor]`."
    ),
}
"""TorchScript message fragment -> the fix for that common mistake."""
_LOCATION = re.compile(r'File "([^"]+)", line (\d+)')


@contextlib.contextmanager
def torchscript_quietly() -> Iterator[None]:
    """Silence only TorchScript's own deprecation notice; every other warning stays visible."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_DEPRECATION, category=DeprecationWarning)
        yield


def _method_at(file: str, line: int, module: nn.Module) -> str | None:
    """``Class.method`` of a module in ``module``'s tree whose source spans ``file:line``."""
    for sub in module.modules():
        cls = type(sub)
        for name, func in inspect.getmembers(cls, inspect.isfunction):
            try:
                source_file = inspect.getsourcefile(func)
                lines, start = inspect.getsourcelines(func)
            except (OSError, TypeError):
                continue
            if source_file and Path(source_file).resolve() == Path(file).resolve() and start <= line < start + len(lines):
                return f"{cls.__name__}.{name}"
    return None


def script_module(module: nn.Module, what: str) -> torch.jit.ScriptModule:
    """Compile ``module`` with TorchScript; on failure raise :class:`ScriptingError` naming the
    method and line of the user's code and TorchScript's own message."""
    try:
        with torchscript_quietly():
            return torch.jit.script(module)
    except Exception as exc:
        message = str(exc).strip()
        locations = [(f, int(n)) for f, n in _LOCATION.findall(message)]
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
        raise ScriptingError(f"TorchScript could not compile {what}{where}:\n{message}\nFix: {fix}") from exc
