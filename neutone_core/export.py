"""Compose a wrapper with the adapters it needs, check it, write ``model.nm``, load it back."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from neutone_core.errors import ExportCheckError, ModelFileError, NeutoneError
from neutone_core.metadata import build_metadata, metadata_json
from neutone_core.needs import ModelNeeds
from neutone_core.planner import PlannedStage, build_chain, plan_adapters
from neutone_core.plugins import Registry, get_registry
from neutone_core.root import NeutoneRoot, set_metadata
from neutone_core.scripting import script_module, torchscript_quietly
from neutone_core.wrapper import WaveformToWaveformBase

MODEL_FILE = "model.nm"
METADATA_FILE = "metadata.json"
SAMPLE_SOUNDS_CHECK = "sample_sounds"
"""Skipping this check also skips rendering the sample sounds into the metadata."""


@dataclass
class ComposedModel:
    """A wrapper composed with its adapters: in-memory graph, scripted graph and plan."""

    wrapper: WaveformToWaveformBase
    metadata: dict[str, Any]
    needs: ModelNeeds
    plan: list[PlannedStage]
    graph: NeutoneRoot
    scripted: torch.jit.ScriptModule


@dataclass
class ExportContext:
    """What an export check sees: the composed model and the written file, reloaded with the
    metadata read back from it."""

    composed: ComposedModel
    path: Path
    loaded: torch.jit.ScriptModule
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class ExportResult:
    """Where the export went and what each check reported."""

    model_path: Path
    metadata_path: Path
    metadata: dict[str, Any]
    plan: list[PlannedStage]
    reports: dict[str, str] = field(default_factory=dict)


def compose(
    wrapper: WaveformToWaveformBase,
    adapters: dict[str, str] | None = None,
    adapter_options: dict[str, dict[str, str]] | None = None,
    registry: Registry | None = None,
) -> ComposedModel:
    """Validate the wrapper, plan its adapters and script the composed graph.

    Args:
        wrapper: the model wrapper.
        adapters: need -> adapter name, to override the planner's choice.
        adapter_options: adapter name -> option -> value.
        registry: plugins to plan from (default: the installed ones).
    """
    if not isinstance(wrapper, WaveformToWaveformBase):
        raise TypeError(f"expected a WaveformToWaveformBase subclass instance, got {type(wrapper).__name__}")
    wrapper.eval()
    metadata = build_metadata(wrapper)
    needs = ModelNeeds.of(wrapper)
    plan = plan_adapters(needs, registry or get_registry(), adapters, adapter_options)
    chain = build_chain(wrapper, plan)
    graph = NeutoneRoot(chain, metadata, [p.spec.name for p in plan] + ["model"])
    scripted = script_module(graph, f"{type(wrapper).__name__} with adapters {[p.spec.name for p in plan]}")
    return ComposedModel(wrapper, metadata, needs, plan, graph, scripted)


def add_sample_sounds(composed: ComposedModel) -> None:
    """Render the sample sounds through the scripted graph and store them in its metadata
    (the metadata dict and the root's metadata attributes, in memory and scripted)."""
    from neutone_core.sample_sounds import render_sample_sounds

    composed.metadata["sample_sound_files"] = render_sample_sounds(composed.scripted)
    set_metadata(composed.graph, composed.metadata)
    set_metadata(composed.scripted, composed.metadata)


def run_checks(context: ExportContext, registry: Registry, skip: set[str]) -> dict[str, str]:
    """Run every registered check not in ``skip``; the first failure raises ExportCheckError."""
    unknown = skip - set(registry.checks)
    if unknown:
        raise ExportCheckError(f"cannot skip unknown checks {sorted(unknown)}; checks are {sorted(registry.checks)}")
    reports: dict[str, str] = {}
    for name, spec in registry.checks.items():
        if name in skip:
            reports[name] = "skipped"
            continue
        try:
            reports[name] = spec.check(context)
        except ExportCheckError as exc:
            raise ExportCheckError(f"export check {name!r} failed: {exc}") from exc
        except NeutoneError:
            raise
        except Exception as exc:
            raise ExportCheckError(f"export check {name!r} raised {type(exc).__name__}: {exc}") from exc
    return reports


def save_neutone_model(
    wrapper: WaveformToWaveformBase,
    out_dir: str | os.PathLike[str],
    adapters: dict[str, str] | None = None,
    adapter_options: dict[str, dict[str, str]] | None = None,
    skip_checks: set[str] | None = None,
) -> ExportResult:
    """Export ``wrapper`` to ``out_dir/model.nm`` (TorchScript, metadata inside) and
    ``out_dir/metadata.json``.

    The sample sounds are rendered into the metadata first (unless ``"sample_sounds"`` is
    in ``skip_checks``). The file is written next to its destination and moved into place
    only when every export check passed, so a failing export never replaces a good
    ``model.nm``. ``ExportResult.reports`` holds each check's line (``"skipped"``, or a line
    starting with ``"warning:"`` for a check that passed with a warning).
    """
    registry = get_registry()
    skip = set(skip_checks or ())
    composed = compose(wrapper, adapters, adapter_options, registry)
    if SAMPLE_SOUNDS_CHECK not in skip:
        add_sample_sounds(composed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    text = metadata_json(composed.metadata)
    handle, temp_name = tempfile.mkstemp(prefix=".model-", suffix=".nm", dir=out)
    os.close(handle)
    temp = Path(temp_name)
    try:
        with torchscript_quietly():
            torch.jit.save(composed.scripted, str(temp), _extra_files={METADATA_FILE: text})
        loaded, stored_metadata = load_neutone_model(temp)
        reports = run_checks(ExportContext(composed, temp, loaded, stored_metadata), registry, skip)
        model_path = out / MODEL_FILE
        temp.chmod(0o644)
        temp.replace(model_path)
    finally:
        temp.unlink(missing_ok=True)
    metadata_path = out / METADATA_FILE
    metadata_path.write_text(text)
    return ExportResult(model_path, metadata_path, composed.metadata, composed.plan, reports)


def load_neutone_model(path: str | os.PathLike[str]) -> tuple[torch.jit.ScriptModule, dict[str, Any]]:
    """Load an exported ``model.nm``: the scripted root module and its metadata dict.

    Raises :class:`ModelFileError` when the file is missing, is not a TorchScript archive or
    holds no neutone metadata.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: no such file; export one with `neutone compose` or save_neutone_model()")
    extra = {METADATA_FILE: ""}
    try:
        with torchscript_quietly():
            module = torch.jit.load(str(path), map_location="cpu", _extra_files=extra)
    except Exception as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelFileError(
            f"{path}: not a TorchScript archive ({first_line}); the file is corrupt or not a model.nm, export it again"
        ) from exc
    text = extra[METADATA_FILE]
    if not text:
        raise ModelFileError(
            f"{path}: a TorchScript archive without {METADATA_FILE}; it was not exported by neutone, "
            "re-export it with `neutone compose`"
        )
    try:
        metadata = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ModelFileError(f"{path}: {METADATA_FILE} inside the archive is not valid JSON ({exc}); export it again") from exc
    return module, metadata
