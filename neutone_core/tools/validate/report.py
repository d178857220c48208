"""What validation found: one result per check, a failure with the host calls that reproduce it.

``neutone validate --json`` prints :meth:`ValidationReport.to_json` (schema
``"neutone-validate/1"``; fields are only ever added)::

    {
      "schema": "neutone-validate/1",
      "model": "path/to/model.nm",
      "strictness": 5, "seed": 0, "host": "python",        # or "native"
      "passed": false,
      "seconds": 12.3,
      "checks": [
        {"name": "host_sessions", "status": "fail",         # "pass", "fail" or "skip"
         "host": "python", "summary": "...", "seconds": 3.1,
         "reproduction": {                                  # failures found in a host call sequence
           "seed": 0, "sequence": "host session 17", "regenerate": "sessions.host_session(seed=0, index=17)",
           "failing_call": 3,                               # index into "calls"
           "calls": ["set_daw_sample_rate_and_buffer_size(44101, 700)", "forward(2 x 700, params (4, 700))", ...]},
         "details": {...}}                                  # check-specific figures (block times, operators)
      ]
    }
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

SCHEMA = "neutone-validate/1"
Status = Literal["pass", "fail", "skip"]


def counted(count: int, noun: str) -> str:
    """``"1 host setting"``, ``"3 host settings"``."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


@dataclass(frozen=True)
class Reproduction:
    """The host call sequence a failure happened in.

    Attributes:
        seed: the validation seed.
        sequence: which sequence, e.g. ``"host session 17"``.
        regenerate: the Python call that rebuilds the same calls, a function of a module of
            :mod:`neutone_core.tools.validate`, e.g. ``"sessions.host_session(seed=0, index=17)"``.
        calls: every call of the sequence up to the failing one, as the host makes it.
        failing_call: index of the failing call in ``calls``.
    """

    seed: int
    sequence: str
    regenerate: str
    calls: tuple[str, ...]
    failing_call: int


@dataclass(frozen=True)
class CheckResult:
    """One check's outcome: its name, pass/fail/skip, a one-line summary, where it ran."""

    name: str
    status: Status
    summary: str
    host: str = "python"
    reproduction: Reproduction | None = None
    details: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        """Whether the check did not fail (a skipped check did not fail)."""
        return self.status != "fail"

    def lines(self) -> list[str]:
        """The check's line and, for a failure in a host call sequence, the calls indented below it."""
        head = f"{self.status.upper():<4} {self.name}: {self.summary} [{self.seconds:.1f} s, {self.host}]"
        if self.reproduction is None:
            return [head]
        found = self.reproduction
        where = f"{found.sequence} ({found.regenerate}), call {found.failing_call}"
        lines = [head, f"     reproduce with seed {found.seed}, {where}:"]
        for index, call in enumerate(found.calls):
            marker = "->" if index == found.failing_call else "  "
            lines.append(f"     {marker} {index:>3} {call}")
        return lines


@dataclass
class ValidationReport:
    """Every check's result for one file."""

    model: str
    strictness: int
    seed: int
    host: str
    results: list[CheckResult]
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        """Whether no check failed."""
        return all(result.passed for result in self.results)

    @property
    def failures(self) -> list[CheckResult]:
        """The checks that failed, in order."""
        return [result for result in self.results if not result.passed]

    def __getitem__(self, name: str) -> CheckResult:
        for result in self.results:
            if result.name == name:
                return result
        raise KeyError(f"no check named {name!r}; checks are {[r.name for r in self.results]}")

    def lines(self) -> list[str]:
        """One line per check (a failure's call sequence indented below it), then the verdict."""
        lines = [line for result in self.results for line in result.lines()]
        verdict = "passed" if self.passed else f"FAILED {len(self.failures)} of {len(self.results)} checks"
        run = f"strictness {self.strictness}, seed {self.seed}, {self.host} host, {self.seconds:.1f} s"
        lines.append(f"{self.model}: {verdict} at {run}")
        return lines

    def to_json(self) -> dict[str, Any]:
        """The ``neutone-validate/1`` document (see the module docs)."""
        return {
            "schema": SCHEMA,
            "model": self.model,
            "strictness": self.strictness,
            "seed": self.seed,
            "host": self.host,
            "passed": self.passed,
            "seconds": self.seconds,
            "checks": [asdict(result) for result in self.results],
        }
