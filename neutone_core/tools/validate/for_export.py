"""The battery's quick level as export checks: each export runs them on the file it wrote.

:class:`ExportedCheck` has the shape of an export check module (``NAME``, ``DESCRIPTION``,
``check(context)``): it reads the export's file as validation does, runs the check at
strictness 1 with export's seed and the operators the author allowed, and turns a failure
into :class:`~neutone_core.errors.ExportCheckError` with the host calls that reproduce it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from neutone_core.errors import ExportCheckError
from neutone_core.export import CHECK_SEED, ExportContext
from neutone_core.tools.validate.model_file import loaded_model_file
from neutone_core.tools.validate.options import QUICK_STRICTNESS, ValidationOptions
from neutone_core.tools.validate.report import CheckResult
from neutone_core.wrapper import WaveformToWaveformBase

SHOWN_CALLS = 8
"""Most host calls a one-line failure lists: the first ones and the failing one, the rest elided."""


def failure_line(result: CheckResult) -> str:
    """A failed check's summary and, when it has one, its reproduction, on one line."""
    found = result.reproduction
    if found is None:
        return result.summary
    shown = list(found.calls[: found.failing_call + 1])
    if len(shown) > SHOWN_CALLS:
        elided = len(shown) - SHOWN_CALLS + 1
        shown = [*shown[: SHOWN_CALLS - 2], f"... {elided} more calls ...", shown[-1]]
    calls = "; ".join(shown)
    return f"{result.summary}; reproduce with seed {found.seed}, {found.sequence} ({found.regenerate}): {calls}"


def declares_no_reset(context: ExportContext) -> str:
    """Why export does not compare a model's state after ``reset()`` (``""``: it does): its wrapper
    has no ``reset_model``, which the Neutone SDK allows (``neutone validate`` still compares)."""
    if type(context.composed.wrapper).reset_model is not WaveformToWaveformBase.reset_model:
        return ""
    return (
        "not compared: the model has no reset_model (the Neutone SDK allows that); "
        "neutone validate shows what survives reset()"
    )


@dataclass(frozen=True)
class ExportedCheck:
    """A validation check in the shape of an export check module; ``unless(context)`` gives a
    reason not to run it for an export (``""``: run it)."""

    NAME: str
    DESCRIPTION: str
    run: Callable[..., CheckResult]
    unless: Callable[[ExportContext], str] | None = None

    def check(self, context: ExportContext) -> str:
        """Run the check at strictness 1 on the export's file; its summary, or raise."""
        reason = self.unless(context) if self.unless is not None else ""
        if reason:
            return reason
        model = loaded_model_file(context.path, context.pristine, context.metadata)
        options = ValidationOptions(QUICK_STRICTNESS, CHECK_SEED, allowed_operators=frozenset(context.allowed_operators))
        result = self.run(model, options)
        if not result.passed:
            raise ExportCheckError(failure_line(result))
        return result.summary


def exported(module: object, unless: Callable[[ExportContext], str] | None = None) -> ExportedCheck:
    """A validation check module (``NAME``, ``DESCRIPTION``, ``check(model, options)``) as an export check."""
    return ExportedCheck(module.NAME, module.DESCRIPTION, module.check, unless)  # type: ignore[attr-defined]
