"""Two runs of the same host calls with the same seed give identical output.

The first host sessions of the seed run on two fresh loads at once (two host processes in the
native host), torch's RNG seeded alike, and every result must be equal bit for bit: the same
code runs on the same data. A model reading memory it never wrote, or its own address, differs.
"""

from __future__ import annotations

from neutone_core.tools.validate.model_file import ModelFile
from neutone_core.tools.validate.options import ValidationOptions
from neutone_core.tools.validate.outputs import first_problem, output_difference, problem_result
from neutone_core.tools.validate.report import CheckResult, counted
from neutone_core.tools.validate.runners import NATIVE, PYTHON, run_sequences
from neutone_core.tools.validate.sessions import host_session

NAME = "deterministic"
DESCRIPTION = "the same host calls with the same seed give identical output, run after run"


def check(model: ModelFile, options: ValidationOptions) -> CheckResult:
    """Run the budget's repeat sessions twice, side by side, and compare every result."""
    host = NATIVE if options.native else PYTHON
    count = options.budget.repeat_sessions
    first = run_sequences(model, (host_session(options.seed, i) for i in range(count)), options.native, options.seed)
    second = run_sequences(model, (host_session(options.seed, i) for i in range(count)), options.native, options.seed)
    compared = 0
    for ours, theirs in zip(first, second, strict=False):
        for run in (ours, theirs):
            problem = first_problem(run)
            if problem is not None:
                return problem_result(NAME, run.sequence, problem, options.seed, host)
        for index, (a, b) in enumerate(zip(ours.result.results, theirs.result.results, strict=True)):
            difference = output_difference(a, b)
            if difference:
                return CheckResult(
                    NAME, "fail", f"two runs of the same calls differ {difference} at {ours.sequence.describe(index)}: the "
                    "output depends on something besides the input, the knobs and the seed (uninitialised memory?)",
                    host, ours.sequence.reproduction(options.seed, index),
                )
        compared += 1
    return CheckResult(NAME, "pass", f"{counted(compared, 'host session')} run twice give identical output", host)
