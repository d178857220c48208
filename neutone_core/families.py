"""What a model family plugin declares and relies on: typed options, and loading a TorchScript source.

A family registers ``register(name, build, description, options)``; each option is a
:class:`FamilyOption` (its type, default and one-line description) or, in the older form, a
plain description string (a text option the family receives only when given). At
``neutone compose SOURCE --family NAME --option KEY=VALUE`` the core parses every option,
fills in the defaults and lists every bad option at once; ``build(source, options)`` receives
the typed values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from neutone_core.errors import FamilyError
from neutone_core.scripting import torchscript_quietly

OPTION_TYPES: dict[type, str] = {str: "str", int: "int", float: "float", bool: "bool", list: "list"}
"""The types an option may have, by the name ``neutone plugins`` shows."""

_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")


@dataclass(frozen=True)
class FamilyOption:
    """One option a model family accepts, given as ``--option NAME=VALUE``.

    Attributes:
        description: one line for ``neutone plugins`` and ``neutone compose --help``.
        type: ``str``, ``int``, ``float``, ``bool`` (true/false, yes/no, on/off, 1/0) or ``list``
            (comma-separated text).
        default: the value the family receives when the option is not given; None: the option
            is left out of the family's options unless given.
        choices: the only values accepted (text options).
        minimum: smallest value accepted (numbers).
        maximum: largest value accepted (numbers).
    """

    description: str
    type: type = str
    default: Any = None
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None

    def __post_init__(self) -> None:
        if self.type not in OPTION_TYPES:
            raise ValueError(f"option type {self.type!r}: must be one of {', '.join(OPTION_TYPES.values())}")
        if self.default is not None:
            expected = (int, float) if self.type is float else self.type
            if not isinstance(self.default, expected) or (self.type is not bool and isinstance(self.default, bool)):
                raise ValueError(f"default {self.default!r}: not a {OPTION_TYPES[self.type]}")
            problem = self.problem(self.default)
            if problem:
                raise ValueError(f"default {self.default!r}: {problem}")

    def parse(self, text: str) -> Any:
        """The value of ``--option NAME=text``; raises ValueError saying what is expected."""
        if self.type is bool:
            if text.lower() not in _TRUE + _FALSE:
                raise ValueError("must be true or false")
            value: Any = text.lower() in _TRUE
        elif self.type is list:
            value = [item.strip() for item in text.split(",") if item.strip()]
        elif self.type in (int, float):
            try:
                value = self.type(text)
            except ValueError:
                raise ValueError(f"is not {'an integer' if self.type is int else 'a number'}") from None
        else:
            value = text
        problem = self.problem(value)
        if problem:
            raise ValueError(problem)
        return value

    def problem(self, value: Any) -> str:
        """What is wrong with a value for this option, or ``""``."""
        if self.choices and value not in self.choices:
            return f"must be one of {', '.join(self.choices)}"
        if self.minimum is not None and value < self.minimum:
            return f"must be >= {self.minimum:g}"
        if self.maximum is not None and value > self.maximum:
            return f"must be <= {self.maximum:g}"
        return ""

    def describe(self) -> str:
        """``"int 1..12, default 4"``: the type, the values accepted and the default."""
        kind = "|".join(self.choices) if self.choices else OPTION_TYPES[self.type]
        if self.minimum is not None and self.maximum is not None:
            kind += f" {self.minimum:g}..{self.maximum:g}"
        elif self.minimum is not None:
            kind += f" >= {self.minimum:g}"
        elif self.maximum is not None:
            kind += f" <= {self.maximum:g}"
        if self.default is None:
            return kind
        if self.type is bool:
            return f"{kind}, default {str(self.default).lower()}"
        return f"{kind}, default {','.join(self.default) if self.type is list else self.default}"

    def to_json(self) -> dict[str, Any]:
        """The option for ``neutone plugins --json``."""
        return {
            "type": OPTION_TYPES[self.type],
            "default": self.default,
            "choices": list(self.choices),
            "minimum": self.minimum,
            "maximum": self.maximum,
            "description": self.description,
        }


def family_options(options: Mapping[str, str | FamilyOption] | None) -> dict[str, FamilyOption]:
    """The options a family registers, each as a :class:`FamilyOption` (a bare description is a
    text option without default, the older form)."""
    declared: dict[str, FamilyOption] = {}
    for name, option in (options or {}).items():
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][\w.-]*", name):
            raise ValueError(f"option name {name!r}: use letters, digits, '_', '-' and '.'")
        if isinstance(option, str):
            option = FamilyOption(option)
        if not isinstance(option, FamilyOption):
            raise ValueError(f"option {name!r}: give a FamilyOption or a description string, got {type(option).__name__}")
        declared[name] = option
    return declared


def parse_family_options(declared: Mapping[str, FamilyOption], given: Mapping[str, str]) -> dict[str, Any]:
    """Every declared option's value: parsed from ``given`` text, else its default (left out
    when it has none). Raises :class:`FamilyError` listing every unknown or bad option."""
    problems = [f"no option {name!r}" for name in given if name not in declared]
    values: dict[str, Any] = {}
    for name, option in declared.items():
        if name in given:
            try:
                values[name] = option.parse(given[name])
            except ValueError as exc:
                problems.append(f"option {name}={given[name]!r} {exc}")
        elif option.default is not None:
            values[name] = list(option.default) if option.type is list else option.default
    if problems:
        accepted = "; ".join(f"{name} ({option.describe()}): {option.description}" for name, option in declared.items())
        raise FamilyError(f"{'; '.join(problems)}. It accepts: {accepted or 'no options'}")
    return values


_NEWER_FORMAT = re.compile(r"file with version (\d+), but the maximum supported version for reading is (\d+)")
_UNKNOWN_OPERATOR = re.compile(r"Unknown builtin op: ([\w:]+)")


def load_torchscript_source(source: str) -> torch.jit.ScriptModule:
    """Load the TorchScript file a family wraps, on the CPU. Raises :class:`FamilyError` saying
    what was expected: a file, a TorchScript archive, one the installed torch can read."""
    path = Path(source)
    if not path.is_file():
        raise FamilyError(f"no such file {path}; expected a TorchScript file (torch.jit.save)")
    try:
        with torchscript_quietly():
            return torch.jit.load(str(path), map_location="cpu")
    except Exception as exc:
        text = str(exc)
        installed = torch.__version__.split("+")[0]
        newer = _NEWER_FORMAT.search(text)
        if newer:
            raise FamilyError(
                f"the file was saved by a newer torch (archive format {newer.group(1)}; torch {installed} reads up to "
                f"{newer.group(2)}); expected a file scripted with torch <= {installed}: upgrade torch or re-export it"
            ) from exc
        operator = _UNKNOWN_OPERATOR.search(text)
        if operator:
            raise FamilyError(
                f"the file calls {operator.group(1)}, which torch {installed} lacks: it was scripted with a newer torch; "
                f"expected a file scripted with torch <= {installed}: upgrade torch or re-export it"
            ) from exc
        reason = text.strip().splitlines()[-1].split(". ")[0] if text.strip() else type(exc).__name__
        raise FamilyError(f"the file is not TorchScript ({reason}); expected one saved with torch.jit.save") from exc
