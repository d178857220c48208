"""Compose a wrapper with the adapters it needs, check it, write ``model.nm``, load it back.

The scripted graph is saved unconfigured (no stream buffers), so the file holds the code,
the model's weights and the metadata. Every export check runs on its own fresh load of the
written file; a check may add metadata (the sample sounds), and the file is written into
place only when every check passed, so a failing export never replaces a good ``model.nm``.
"""

from __future__ import annotations

import base64
import copy
import io
import json
import os
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from neutone_core.errors import ExportCheckError, ExportOptionsError, ModelFileError, ModelRuntimeError, NeutoneError
from neutone_core.host_io import HostIO
from neutone_core.metadata import MAX_SAMPLE_SOUNDS, build_metadata, metadata_json
from neutone_core.needs import StreamNeeds
from neutone_core.planner import PlannedStage, build_chain, plan_adapters
from neutone_core.plugins import Registry, get_registry
from neutone_core.root import NeutoneRoot
from neutone_core.scripting import freeze_model, script_module, torchscript_quietly
from neutone_core.wrapper import WaveformToWaveformBase

MODEL_FILE = "model.nm"
METADATA_FILE = "metadata.json"
SAMPLES_DIR = "samples"
CHECK_SEED = 0
"""torch's RNG is seeded with this before every check (stochastic models render alike)."""

SAMPLE_SOUNDS_CHECK = "sample_sounds"
REALTIME_CHECK = "realtime"
OFFLINE_CHECK = "offline_mode"


@dataclass
class ComposedModel:
    """A wrapper composed with its adapters: innermost record, plan, the root in memory (around
    the scripted chain) and scripted."""

    wrapper: WaveformToWaveformBase
    metadata: dict[str, Any]
    needs: StreamNeeds
    plan: list[PlannedStage]
    graph: NeutoneRoot
    scripted: torch.jit.ScriptModule


@dataclass
class ExportContext:
    """What an export check sees.

    Attributes:
        composed: the composed model (``composed.scripted`` is the in-memory scripted graph).
        path: the written file being checked.
        pristine: that file loaded once and never run; :meth:`fresh` copies it.
        loaded: a fresh copy of the file's module, for this check alone.
        metadata: the metadata read back from the file.
        sample_inputs: the user's own sample sounds, ``(audio (channels, n), rate Hz)``, or
            None for the built-in ones.
        max_sample_sounds: most sample sound pairs to store.
        strict: warnings fail the export (``submission=True``).
        allowed_operators: operators the ``operators`` check denies that the author allows by name.
        stored: metadata fields checks add to the final file (e.g. ``sample_sound_files``).
    """

    composed: ComposedModel
    path: Path
    pristine: torch.jit.ScriptModule
    loaded: torch.jit.ScriptModule
    metadata: dict[str, Any]
    sample_inputs: list[tuple[torch.Tensor, int]] | None = None
    max_sample_sounds: int = MAX_SAMPLE_SOUNDS
    strict: bool = False
    allowed_operators: frozenset[str] = frozenset()
    stored: dict[str, Any] = field(default_factory=dict)

    def store(self, field_name: str, value: Any) -> None:
        """Add a metadata field to the file written once every check passed."""
        self.stored[field_name] = value

    def fresh(self) -> torch.jit.ScriptModule:
        """Another fresh copy of the file's module (its state as loaded, its compiled code
        shared), for a render that must not see the state an earlier render left (a model
        without ``reset_model`` keeps it)."""
        return copy.deepcopy(self.pristine)


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
    wrapper.prepare_for_inference()
    for parameter in wrapper.parameters():
        parameter.requires_grad_(False)  # hosts run the model for inference only
    metadata = build_metadata(wrapper)
    needs = wrapper.neutone_stream_needs()
    plan = plan_adapters(needs, registry or get_registry(), adapters, adapter_options)
    what = f"{type(wrapper).__name__} with adapters {[p.spec.name for p in plan]}"
    defaults = wrapper.neutone_default_knobs()
    # the root holds its host I/O through an interface: scripted first, it keeps its own graph
    host = script_module(HostIO(build_chain(wrapper.neutone_model_stage(), plan), torch.tensor(defaults)), what)
    graph = NeutoneRoot(host, metadata, defaults, [p.spec.name for p in plan] + ["model"])
    scripted = script_module(graph, what)
    return ComposedModel(wrapper, metadata, needs, plan, graph, scripted)


def load_bytes(data: bytes) -> torch.jit.ScriptModule:
    """A fresh root module from archive bytes."""
    with torchscript_quietly():
        return torch.jit.load(io.BytesIO(data), map_location="cpu")


def archive_bytes(module: torch.jit.ScriptModule, metadata: dict[str, Any]) -> bytes:
    """The ``.nm`` archive of ``module`` with ``metadata`` as its ``metadata.json``."""
    buffer = io.BytesIO()
    with torchscript_quietly():
        torch.jit.save(module, buffer, _extra_files={METADATA_FILE: metadata_json(metadata)})
    return buffer.getvalue()


def run_checks(
    context: ExportContext,
    registry: Registry,
    skip: set[str],
    on_report: Callable[[str, str], None] | None = None,
) -> dict[str, str]:
    """Run every registered check not in ``skip``, each on a fresh copy of the file's module
    with torch's RNG seeded alike; the first failure raises :class:`ExportCheckError` (a
    warning too when ``context.strict``), a model raising names the check.
    ``on_report(name, line)`` hears each result as it comes."""
    unknown = skip - set(registry.checks)
    if unknown:
        raise ExportCheckError(f"cannot skip unknown checks {sorted(unknown)}; checks are {sorted(registry.checks)}")
    reports: dict[str, str] = {}
    for name, spec in registry.checks.items():
        if name in skip:
            report = "skipped"
        else:
            context.loaded = context.fresh()
            torch.manual_seed(CHECK_SEED)
            try:
                report = spec.check(context)
            except ExportCheckError as exc:
                raise ExportCheckError(f"export check {name!r} failed: {exc}") from exc
            except ModelRuntimeError as exc:
                raise ModelRuntimeError(f"export check {name!r}: {exc}") from exc
            except NeutoneError:
                raise
            except Exception as exc:
                raise ExportCheckError(f"export check {name!r} raised {type(exc).__name__}: {exc}") from exc
            if context.strict and report.startswith("warning:"):
                raise ExportCheckError(f"export check {name!r} warned and this is a submission: {report}")
        reports[name] = report
        if on_report is not None:
            on_report(name, report)
    return reports


def _sample_inputs(audio_sample_pairs: list[Any] | None) -> list[tuple[torch.Tensor, int]] | None:
    """The inputs of the user's sample pairs (objects with ``.input.audio``, ``.input.sr``)."""
    if audio_sample_pairs is None:
        return None
    inputs = []
    for i, pair in enumerate(audio_sample_pairs):
        sample = getattr(pair, "input", None)
        if sample is None or not hasattr(sample, "audio") or not hasattr(sample, "sr"):
            raise ExportOptionsError(
                f"audio_sample_pairs[{i}] is a {type(pair).__name__}; pass AudioSamplePair(input, output) objects "
                "(neutone_core.tools.audio)"
            )
        inputs.append((sample.audio, int(sample.sr)))
    return inputs


def dump_sample_sounds(metadata: dict[str, Any], out_dir: Path) -> list[Path]:
    """Write each stored sample pair as ``samples/sample_in_<i>.wav`` and ``sample_out_<i>.wav``."""
    folder = out_dir / SAMPLES_DIR
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for i, pair in enumerate(metadata["sample_sound_files"]):
        for side in ("in", "out"):
            path = folder / f"sample_{side}_{i}.wav"
            path.write_bytes(base64.b64decode(pair[side]))
            written.append(path)
    return written


def save_neutone_model(
    model: WaveformToWaveformBase,
    root_dir: str | os.PathLike[str],
    dump_samples: bool = False,
    submission: bool = False,
    audio_sample_pairs: list[Any] | None = None,
    max_n_samples: int = MAX_SAMPLE_SOUNDS,
    freeze: bool = False,
    optimize: bool = False,
    speed_benchmark: bool = True,
    test_offline_mode: bool = True,
    *,
    adapters: dict[str, str] | None = None,
    adapter_options: dict[str, dict[str, str]] | None = None,
    skip_checks: set[str] | None = None,
    on_report: Callable[[str, str], None] | None = None,
    allow_operators: Iterable[str] = (),
) -> ExportResult:
    """Export ``model`` to ``root_dir/model.nm`` (TorchScript, metadata inside) and
    ``root_dir/metadata.json``; the arguments the Neutone SDK's function takes mean:

    Args:
        model: the wrapper.
        root_dir: output folder (created).
        dump_samples: also write the stored sample sounds as WAV files in ``root_dir/samples``.
        submission: the file is meant for publication: a check's warning fails the export;
            needs ``dump_samples`` and ``test_offline_mode``.
        audio_sample_pairs: your own sample sounds (``AudioSamplePair`` objects): their inputs
            are rendered through the exported file and stored instead of the built-in sounds.
        max_n_samples: most sample pairs stored (at most 3).
        freeze: freeze the wrapper's ``model`` submodule (``torch.jit.freeze``: weights
            become constants) before composing; the adapters are never frozen.
        optimize: also ``torch.jit.optimize_for_inference`` on it (implies ``freeze``).
        speed_benchmark: run the ``realtime`` check.
        test_offline_mode: run the ``offline_mode`` check (``forward_offline`` equals streaming).
        adapters: need -> adapter name, overriding the planner's choice.
        adapter_options: adapter name -> option -> value.
        skip_checks: export checks not to run (skipping ``sample_sounds`` stores no sounds).
        on_report: ``on_report(check_name, line)`` as each check finishes.
        allow_operators: operators the ``operators`` check refuses (they touch files, processes
            or the network) that this model may call anyway, by name (e.g. ``"aten::from_file"``).
    """
    if submission and not (dump_samples and test_offline_mode):
        raise ExportOptionsError("submission=True needs dump_samples=True and test_offline_mode=True (as the Neutone SDK)")
    if not 0 <= max_n_samples <= MAX_SAMPLE_SOUNDS:
        raise ExportOptionsError(f"max_n_samples={max_n_samples}: the metadata holds 0..{MAX_SAMPLE_SOUNDS} sample pairs")
    skip = set(skip_checks or ())
    if not speed_benchmark:
        skip.add(REALTIME_CHECK)
    if not test_offline_mode:
        skip.add(OFFLINE_CHECK)
    if freeze or optimize:
        if model.model is None:
            raise ExportOptionsError("freeze/optimize act on the wrapper's model submodule, and this wrapper has none")
        model.model = freeze_model(model.model, optimize)
    registry = get_registry()
    composed = compose(model, adapters, adapter_options, registry)
    out = Path(root_dir)
    out.mkdir(parents=True, exist_ok=True)
    pristine = archive_bytes(composed.scripted, composed.metadata)
    handle, temp_name = tempfile.mkstemp(prefix=".model-", suffix=".nm", dir=out)
    temp = Path(temp_name)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(pristine)
        pristine_module = load_bytes(pristine)
        context = ExportContext(
            composed,
            temp,
            pristine_module,
            pristine_module,
            composed.metadata,
            sample_inputs=_sample_inputs(audio_sample_pairs),
            max_sample_sounds=max_n_samples,
            strict=submission,
            allowed_operators=frozenset(allow_operators),
        )
        reports = run_checks(context, registry, skip, on_report)
        metadata = {**composed.metadata, **context.stored}
        if context.stored:
            temp.write_bytes(archive_bytes(load_bytes(pristine), metadata))
        temp.chmod(0o644)
        temp.replace(out / MODEL_FILE)
    finally:
        temp.unlink(missing_ok=True)
    metadata_path = out / METADATA_FILE
    metadata_path.write_text(metadata_json(metadata))
    if dump_samples:
        dump_sample_sounds(metadata, out)
    return ExportResult(out / MODEL_FILE, metadata_path, metadata, composed.plan, reports)


def load_neutone_model(path: str | os.PathLike[str]) -> tuple[torch.jit.ScriptModule, dict[str, Any]]:
    """Load an exported ``model.nm`` (or the folder holding one): the scripted root module and
    its metadata dict.

    Raises :class:`ModelFileError` when the file is missing, is not a TorchScript archive or
    holds no neutone metadata.
    """
    path = Path(path)
    if path.is_dir():
        if not (path / MODEL_FILE).is_file():
            raise ModelFileError(f"{path} is a folder without {MODEL_FILE}; pass the model file, e.g. {path / MODEL_FILE}")
        path = path / MODEL_FILE
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
