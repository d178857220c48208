"""Turn a command-line source (``file.py:Name`` or a model family's source) into a wrapper, with the
metadata given at compose applied."""

import importlib.util
import inspect
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType

from neutone_core.errors import FamilyError
from neutone_core.families import parse_family_options
from neutone_core.plugins import FamilySpec, Registry
from neutone_core.tools.metadata_overrides import METADATA_OPTIONS, read_metadata_file, split_metadata_options, with_metadata
from neutone_core.wrapper import WaveformToWaveformBase


def import_file(path: Path) -> ModuleType:
    """Import the Python file ``path`` as module ``neutone_user_<stem>`` (characters that are not
    identifier characters, such as dashes, become underscores): TorchScript saves a class under
    its module's name and loads only names made of identifiers. Raises :class:`FamilyError`
    naming the file when it is not Python or raises while importing."""
    module_name = "neutone_user_" + re.sub(r"\W", "_", path.stem)
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise FamilyError(f"{path} is not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise FamilyError(f"importing {path} failed: {type(exc).__name__}: {exc}") from exc
    return module


def load_wrapper_from_file(source: str) -> WaveformToWaveformBase:
    """Load ``path/to/file.py:Name``: ``Name`` is a wrapper class (built with no arguments),
    a function returning a wrapper, or a wrapper instance."""
    path_text, sep, name = source.rpartition(":")
    if not sep or not path_text or not name:
        raise FamilyError(f"source {source!r}: expected path/to/file.py:ClassName (or :function returning a wrapper)")
    path = Path(path_text)
    if not path.is_file():
        raise FamilyError(f"source {source!r}: no such file {path}")
    module = import_file(path)
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


def build_from_family(registry: Registry, family: str, source: str, options: Mapping[str, str]) -> WaveformToWaveformBase:
    """Build a wrapper with a registered model family from ``source`` and its ``--option`` text.

    The options are parsed and checked against the family's declaration (every bad one listed
    at once); a family registered by two distributions, or one that fails on the source, is one
    :class:`FamilyError` naming the family, the source and what was expected.
    """
    spec = registry.families.get(family)
    if spec is None:
        known = ", ".join(sorted(registry.families)) or "none installed"
        raise FamilyError(f"unknown model family {family!r} (installed: {known}); see `neutone plugins`")
    claims = registry.family_claims.get(family, [])
    if len(claims) > 1:
        holders = " and ".join(f"{c.distribution} (plugin {c.plugin})" for c in claims)
        raise FamilyError(
            f"model family {family!r} is registered by {holders}; uninstall one of them (pip uninstall {claims[-1].distribution})"
        )
    reserved = sorted(set(spec.options) & set(METADATA_OPTIONS))
    if reserved:
        raise FamilyError(
            f"model family {family!r} ({spec.provenance.distribution}) declares option {', '.join(reserved)}, a metadata "
            "field every compose takes; the family must rename it"
        )
    try:
        values = parse_family_options(spec.options, options)
    except FamilyError as exc:
        raise FamilyError(f"model family {family!r}: {exc}") from exc
    try:
        wrapper = spec.build(source, values)
    except FamilyError as exc:
        raise FamilyError(f"model family {family!r} cannot build from {source!r}: {exc}") from exc
    except Exception as exc:  # a family's own failure still names the family and the source
        raise FamilyError(f"model family {family!r} failed on {source!r}: {type(exc).__name__}: {exc}") from exc
    if not isinstance(wrapper, WaveformToWaveformBase):
        raise FamilyError(f"model family {family!r} returned {type(wrapper).__name__}, not a WaveformToWaveformBase")
    return wrapper


def build_wrapper(
    registry: Registry,
    source: str,
    family: str | None = None,
    options: Mapping[str, str] | None = None,
    metadata_file: str | Path | None = None,
) -> WaveformToWaveformBase:
    """The wrapper ``neutone compose SOURCE [--family NAME] [--option KEY=VALUE]... [--meta FILE]``
    exports: built by the family (or loaded from ``file.py:Name``), with the metadata of the
    file and of the metadata options (which win) applied and validated."""
    metadata, family_options = split_metadata_options(options or {})
    if metadata_file is not None:
        metadata = {**read_metadata_file(metadata_file), **metadata}
    if family is not None:
        wrapper = build_from_family(registry, family, source, family_options)
    elif family_options:
        raise FamilyError(
            f"option {', '.join(sorted(family_options))} needs --family; without one only metadata options apply "
            f"({', '.join(METADATA_OPTIONS)})"
        )
    else:
        wrapper = load_wrapper_from_file(source)
    return with_metadata(wrapper, metadata) if metadata else wrapper


def family_lines(spec: FamilySpec) -> list[str]:
    """What ``neutone plugins`` and ``neutone compose --help`` say of a family: its name and
    description, then one line per option with its type, values and default."""
    lines = [f"{spec.name}: {spec.description}".rstrip(": ")]
    lines.extend(f"  {name} ({option.describe()}): {option.description}" for name, option in spec.options.items())
    return lines


def metadata_option_lines() -> list[str]:
    """The metadata options every compose accepts, one line each."""
    return [f"{name} ({option.describe()}): {option.description}" for name, option in METADATA_OPTIONS.items()]
