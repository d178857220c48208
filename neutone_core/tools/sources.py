"""Turn a command-line source (``file.py:Name`` or a model family) into a wrapper."""

import importlib.util
import inspect
import re
import sys
from pathlib import Path

from neutone_core.errors import FamilyError
from neutone_core.plugins import Registry
from neutone_core.wrapper import WaveformToWaveformBase


def load_wrapper_from_file(source: str) -> WaveformToWaveformBase:
    """Load ``path/to/file.py:Name``: ``Name`` is a wrapper class (built with no arguments),
    a function returning a wrapper, or a wrapper instance."""
    path_text, sep, name = source.rpartition(":")
    if not sep or not path_text or not name:
        raise FamilyError(f"source {source!r}: expected path/to/file.py:ClassName (or :function returning a wrapper)")
    path = Path(path_text)
    if not path.is_file():
        raise FamilyError(f"source {source!r}: no such file {path}")
    module_name = "neutone_user_" + re.sub(r"\W", "_", path.stem)  # class names in the archive need identifiers
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise FamilyError(f"source {source!r}: {path} is not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise FamilyError(f"importing {path} failed: {type(exc).__name__}: {exc}") from exc
    target = getattr(module, name, None)
    if target is None:
        raise FamilyError(f"source {source!r}: {path} defines no {name!r}")
    if isinstance(target, WaveformToWaveformBase):
        return target
    if not callable(target):
        raise FamilyError(f"source {source!r}: {name} is a {type(target).__name__}, not a wrapper class or function")
    if inspect.isclass(target) and not issubclass(target, WaveformToWaveformBase):
        raise FamilyError(f"source {source!r}: {name} is not a WaveformToWaveformBase subclass")
    try:
        wrapper = target()
    except TypeError as exc:
        raise FamilyError(
            f"source {source!r}: calling {name}() failed ({exc}); point at a function that takes no arguments and "
            "returns the wrapper, e.g. file.py:build"
        ) from exc
    if not isinstance(wrapper, WaveformToWaveformBase):
        raise FamilyError(f"source {source!r}: {name}() returned {type(wrapper).__name__}, not a WaveformToWaveformBase")
    if inspect.isclass(target) and wrapper.model is None and _uses_its_model(target):
        raise FamilyError(
            f"source {source!r}: {name} wraps a model it is given ({name}(model), as with the Neutone SDK), and compose "
            f"cannot build that model. Add a function that builds both, e.g. `def build(): return {name}(MyModel())`, "
            f"and point compose at it: {path_text}:build"
        )
    return wrapper


def _uses_its_model(cls: type) -> bool:
    """Whether a wrapper class's own code reads ``self.model``."""
    for klass in cls.__mro__:
        if klass is WaveformToWaveformBase or klass.__module__.startswith(("torch", "neutone_core")):
            continue
        try:
            if "self.model" in inspect.getsource(klass):
                return True
        except (OSError, TypeError):
            continue
    return False


def build_from_family(registry: Registry, family: str, source: str, options: dict[str, str]) -> WaveformToWaveformBase:
    """Build a wrapper with a registered model family from ``source`` and its ``options``."""
    spec = registry.families.get(family)
    if spec is None:
        known = ", ".join(sorted(registry.families)) or "none installed"
        raise FamilyError(f"unknown model family {family!r} (installed: {known}); see `neutone plugins`")
    unknown = sorted(set(options) - set(spec.options))
    if unknown:
        accepted = ", ".join(f"{k} ({v})" for k, v in spec.options.items()) or "none"
        raise FamilyError(f"model family {family!r} has no option {', '.join(unknown)}; it accepts: {accepted}")
    wrapper = spec.build(source, options)
    if not isinstance(wrapper, WaveformToWaveformBase):
        raise FamilyError(f"model family {family!r} returned {type(wrapper).__name__}, not a WaveformToWaveformBase")
    return wrapper
