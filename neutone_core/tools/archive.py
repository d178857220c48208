"""What a ``model.nm`` asks of the LibTorch that loads it: the archive format version it records
and the operators that raised it.

torch writes the lowest format version a file's operators allow (3), raised by each operator
whose meaning changed since, to the version that changed it (``aten::div`` 4, ``aten::full`` 5,
``aten::linspace`` 8, ``aten::logspace`` 9, ``aten::gelu`` 10, as the installed torch's own
operator version map says). A LibTorch refuses a file whose format is above the highest it
reads ("Attempted to read a PyTorch file with version N, but the maximum supported version for
reading is M"), and a file calling an operator it lacks.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch

from neutone_core.errors import ModelFileError


def archive_format_version(path: str | Path) -> int:
    """The format version a TorchScript archive records (``ROOT/.data/version``, or
    ``ROOT/version`` in archives of format 5 and below)."""
    try:
        with zipfile.ZipFile(path) as archive:
            for name in archive.namelist():
                if name.split("/")[1:] in (["version"], [".data", "version"]):
                    return int(archive.read(name).strip())
    except (zipfile.BadZipFile, ValueError) as exc:
        raise ModelFileError(f"{path}: not a TorchScript archive ({exc}); export it again") from exc
    raise ModelFileError(f"{path}: a TorchScript archive without a format version record; export it again")


def format_raising_operators(operators: Iterable[str]) -> dict[str, int]:
    """Of ``operators`` (``aten::name``, without overloads), those whose meaning changed after
    format 3, each with the format version it needs, by name."""
    needed: dict[str, int] = {}
    for overload, entries in torch._C._get_operator_version_map().items():
        name = overload.split(".")[0]
        needed[name] = max([needed.get(name, 0), *(int(entry.bumped_at_version) for entry in entries)])
    return {name: needed[name] for name in sorted(set(operators)) if name in needed}


def archive_report(path: str | Path, operators: Iterable[str]) -> dict[str, Any]:
    """For ``neutone inspect``: the file's format version, the operators among ``operators``
    that raise it, and the highest version the installed torch writes."""
    installed = torch.__version__.split("+")[0]
    return {
        "format_version": archive_format_version(path),
        "raised_by": format_raising_operators(operators),
        "torch": installed,
        "torch_max_format_version": int(torch._C._get_max_operator_version()),
    }


def archive_line(report: dict[str, Any]) -> str:
    """``archive format 8 (aten::linspace 8, aten::full 5; torch 2.13.0 writes up to 10): ...``."""
    raised = ", ".join(f"{name} {version}" for name, version in sorted(report["raised_by"].items(), key=lambda kv: -kv[1]))
    why = f"{raised}; " if raised else ""
    return (
        f"archive format {report['format_version']} ({why}torch {report['torch']} writes up to "
        f"{report['torch_max_format_version']}): loads in a LibTorch reading format {report['format_version']} "
        "that has every operator the file calls"
    )
