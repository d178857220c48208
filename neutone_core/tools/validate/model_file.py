"""The file under validation: read before loading, loaded once, copied fresh for each run.

Loading a TorchScript archive runs its ``__setstate__`` methods, so :func:`read_model_file`
lists those in the archive's code before anything is loaded, and loads the file only when
there are none (or the caller allows them by name, see :mod:`.operators`).
"""

from __future__ import annotations

import copy
import json
import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from neutone_core.errors import ModelFileError
from neutone_core.export import METADATA_FILE
from neutone_core.scripting import torchscript_quietly

SETSTATE = "__setstate__"
_SETSTATE_DEFINITION = re.compile(r"def __setstate__\(self: ([\w.]+)")


@dataclass
class ModelFile:
    """A ``.nm`` file as validation sees it.

    Attributes:
        path: the file.
        metadata: its ``metadata.json`` (None when the archive holds none or it is not JSON).
        metadata_problem: why ``metadata`` is None (``""`` when it is not).
        setstate_classes: classes whose ``__setstate__`` ``torch.jit.load`` would run.
        pristine: the module as loaded, never run (None when the file was not loaded);
            :meth:`fresh` copies it.
        load_problem: why the file was not loaded (``""`` when it was).
    """

    path: Path
    metadata: dict[str, Any] | None
    metadata_problem: str
    setstate_classes: list[str]
    pristine: torch.jit.ScriptModule | None = None
    load_problem: str = ""

    def fresh(self) -> torch.jit.ScriptModule:
        """A copy of the loaded module in its state as loaded, compiled code shared."""
        if self.pristine is None:
            raise ModelFileError(f"{self.path} was not loaded: {self.load_problem}")
        return copy.deepcopy(self.pristine)

    @property
    def native_sample_rates(self) -> list[int]:
        """The model's native rates (Hz) from its metadata, else from the root (empty = any)."""
        return self._native("native_sample_rates", "get_native_sample_rates")

    @property
    def native_buffer_sizes(self) -> list[int]:
        """The model's native block sizes (samples) from its metadata, else from the root (empty = any)."""
        return self._native("native_buffer_sizes", "get_native_buffer_sizes")

    def _native(self, field: str, getter: str) -> list[int]:
        if self.metadata is not None and isinstance(self.metadata.get(field), list):
            return [int(value) for value in self.metadata[field]]
        if self.pristine is not None and hasattr(self.pristine, getter):
            return [int(value) for value in getattr(self.pristine, getter)()]
        return []


def _archive_texts(path: Path) -> tuple[str | None, list[str]]:
    """The archive's ``metadata.json`` text (None if absent) and its TorchScript code files' texts."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            metadata = [name for name in names if name.endswith("/extra/" + METADATA_FILE)]
            sources = [name for name in names if "/code/" in name and name.endswith(".py")]
            code = [archive.read(name).decode("utf-8", errors="replace") for name in sources]
            return (archive.read(metadata[0]).decode("utf-8", errors="replace") if metadata else None), code
    except (OSError, zipfile.BadZipFile) as exc:
        raise ModelFileError(f"{path}: not a TorchScript archive ({exc}); the file is corrupt or not a model.nm") from exc


def loaded_model_file(path: Path, pristine: torch.jit.ScriptModule, metadata: dict[str, Any]) -> ModelFile:
    """A file already loaded (as export loads what it wrote), with its ``__setstate__`` classes listed."""
    _, code = _archive_texts(path)
    return ModelFile(path, metadata, "", _setstate_classes(code), pristine)


def _setstate_classes(code: list[str]) -> list[str]:
    return sorted({match for text in code for match in _SETSTATE_DEFINITION.findall(text)})


def read_model_file(path: str | os.PathLike[str], allow_setstate: bool = False) -> ModelFile:
    """Read ``path`` (a ``.nm`` file or a folder holding ``model.nm``) and load it unless its
    code defines ``__setstate__`` and ``allow_setstate`` is False.

    Raises :class:`ModelFileError` when the file is missing or not a zip archive; a file that
    fails to load comes back with ``load_problem`` set, for the checks to report."""
    path = Path(path)
    if path.is_dir():
        path = path / "model.nm"
    if not path.is_file():
        raise ModelFileError(f"{path}: no such file; pass an exported model.nm")
    metadata_text, code = _archive_texts(path)
    metadata: dict[str, Any] | None = None
    metadata_problem = ""
    if metadata_text is None:
        metadata_problem = f"the archive holds no {METADATA_FILE}: it was not exported by neutone or the Neutone SDK"
    else:
        try:
            metadata = json.loads(metadata_text)
        except json.JSONDecodeError as exc:
            metadata_problem = f"the archive's {METADATA_FILE} is not valid JSON ({exc})"
    setstate = _setstate_classes(code)
    model = ModelFile(path, metadata, metadata_problem, setstate)
    if setstate and not allow_setstate:
        model.load_problem = (
            f"its code defines {SETSTATE} ({', '.join(setstate)}), which torch.jit.load runs before anything can look at "
            f"the file; not loaded (allow {SETSTATE!r} by name to load it anyway)"
        )
        return model
    try:
        with torchscript_quietly():
            model.pristine = torch.jit.load(str(path), map_location="cpu")
    except Exception as exc:
        first = str(exc).strip().splitlines()
        model.load_problem = f"torch.jit.load failed: {first[-1] if first else type(exc).__name__}"
    return model
