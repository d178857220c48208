"""The checks in the order they run, and :func:`validate`, which runs them on one file.

The operator scan runs first and nothing runs the model when it fails: a file that may read
or write files is not executed. The host contract comes next; the checks that call the
model's methods run only when it holds. A model that crashes the native host would crash this
process too, so nothing runs after a check that saw it crash.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from types import ModuleType

import torch

from neutone_core.errors import NeutoneError
from neutone_core.scripting import describe_script_failure
from neutone_core.tools.bench import torch_threads
from neutone_core.tools.native.build import build_native_host
from neutone_core.tools.validate import (
    bad_input,
    contract,
    delay,
    determinism,
    host_sessions,
    knobs,
    operators,
    realtime,
    reset,
)
from neutone_core.tools.validate.model_file import SETSTATE, ModelFile, read_model_file
from neutone_core.tools.validate.options import DEFAULT_STRICTNESS, ValidationOptions
from neutone_core.tools.validate.outputs import CRASH
from neutone_core.tools.validate.report import CheckResult, ValidationReport
from neutone_core.tools.validate.runners import NATIVE, PYTHON

CHECKS: tuple[ModuleType, ...] = (operators, contract, host_sessions, delay, reset, determinism, bad_input, knobs, realtime)
"""Each module has ``NAME``, ``DESCRIPTION`` and ``check(model: ModelFile, options) -> CheckResult``."""


def run_check(check: ModuleType, model: ModelFile, options: ValidationOptions) -> CheckResult:
    """One check with torch's RNG seeded, timed; a check that raises fails with the exception."""
    started = time.perf_counter()
    torch.manual_seed(options.seed)
    try:
        result = check.check(model, options)
    except NeutoneError as exc:
        result = CheckResult(check.NAME, "fail", str(exc))
    except Exception as exc:
        result = CheckResult(check.NAME, "fail", f"the model raised: {describe_script_failure(exc)}")
    return replace(result, seconds=time.perf_counter() - started)


def run_battery(
    model: ModelFile, options: ValidationOptions, on_result: Callable[[CheckResult], None] | None = None
) -> list[CheckResult]:
    """Every check of :data:`CHECKS` in order, on one intra-op thread as a plugin runs a model,
    skipping those that would run a file that failed the operator scan or the host contract, or
    that crashed the native host."""
    results: list[CheckResult] = []
    blocked = ""
    with torch_threads(1):
        for check in CHECKS:
            if blocked:
                result = CheckResult(check.NAME, "skip", f"not run: {blocked}")
            else:
                result = run_check(check, model, options)
                if check in (operators, contract) and not result.passed:
                    blocked = f"the {result.name} check failed"
                elif result.details.get("host_failure") == CRASH:
                    blocked = f"the model crashed the native host in {result.name} (in this process it would crash validate)"
            results.append(result)
            if on_result is not None:
                on_result(result)
    return results


def validate(
    path: str | os.PathLike[str],
    strictness: int = DEFAULT_STRICTNESS,
    seed: int = 0,
    native: bool = False,
    allowed_operators: Iterable[str] = (),
    max_allocations_per_call: float | None = None,
    max_p99_load: float | None = None,
    on_result: Callable[[CheckResult], None] | None = None,
) -> ValidationReport:
    """Validate any ``.nm`` file as a plugin validator does; the report of every check.

    Args:
        path: the file (or a folder holding ``model.nm``).
        strictness: 1 (what export runs) .. 10 (at least 10,000 random host sessions).
        seed: seeds every random choice; the same seed repeats the same host calls.
        native: run the host sessions in the C++ native host (built on first use).
        allowed_operators: denied operators the file may call anyway, by name.
        max_allocations_per_call: fail ``realtime`` above this many allocations per call.
        max_p99_load: fail ``realtime`` when the p99 block CPU time exceeds this share of the block.
        on_result: hears each check's result as it comes.

    >>> report = validate("model.nm", strictness=2)  # doctest: +SKIP
    >>> assert report.passed, "\\n".join(report.lines())  # doctest: +SKIP
    """
    options = ValidationOptions(
        strictness, seed, native, frozenset(allowed_operators), max_allocations_per_call, max_p99_load
    )
    started = time.perf_counter()
    if native:
        build_native_host()
    model = read_model_file(path, allow_setstate=SETSTATE in options.allowed_operators)
    results = run_battery(model, options, on_result)
    host = NATIVE if native else PYTHON
    return ValidationReport(str(model.path), strictness, seed, host, results, time.perf_counter() - started)
