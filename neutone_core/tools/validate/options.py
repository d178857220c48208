"""What a validation run is asked to do: how hard, with which seed, in which host, with which limits."""

from __future__ import annotations

from dataclasses import dataclass, field

from neutone_core.errors import HostSettingError

MIN_STRICTNESS = 1
MAX_STRICTNESS = 10
DEFAULT_STRICTNESS = 5
QUICK_STRICTNESS = 1
"""The level export runs."""

FEWEST_SESSIONS = 10
MOST_SESSIONS = 10_000
"""Random host sessions at strictness 1 and 10; the levels between grow geometrically."""


@dataclass(frozen=True)
class Budget:
    """How much each check does at one strictness level.

    Attributes:
        sessions: random host sessions.
        delay_settings: random host settings measured beyond the fixed grid.
        reset_settings: host settings at which ``reset()`` is compared with a fresh load.
        repeat_sessions: host sessions run twice for determinism.
        bad_input_settings: host settings the bad-input sequence runs at.
        knob_settings: host settings the knob sequence runs at.
        realtime_blocks: timed blocks at 48 kHz / 512.
    """

    sessions: int
    delay_settings: int
    reset_settings: int
    repeat_sessions: int
    bad_input_settings: int
    knob_settings: int
    realtime_blocks: int


def budget(strictness: int) -> Budget:
    """The work of each check at ``strictness`` (1..10): 10 random sessions at 1, 10,000 at 10."""
    level = strictness - MIN_STRICTNESS
    span = MAX_STRICTNESS - MIN_STRICTNESS
    sessions = round(FEWEST_SESSIONS * (MOST_SESSIONS / FEWEST_SESSIONS) ** (level / span))
    return Budget(
        sessions=sessions,
        delay_settings=3 * level,
        reset_settings=1 + level,
        repeat_sessions=1 + level,
        bad_input_settings=1 + level // 2,
        knob_settings=1 + level // 2,
        realtime_blocks=100 + 100 * level,
    )


@dataclass(frozen=True)
class ValidationOptions:
    """Options of one validation run.

    Attributes:
        strictness: 1 (quick, what export runs) .. 10 (at least 10,000 random host sessions).
        seed: seeds every random choice (settings, blocks, signals) and torch's RNG.
        native: run the host sessions in the C++ native host instead of Python.
        allowed_operators: denied operators (or ``"__setstate__"``) the file may call anyway.
        max_allocations_per_call: fail ``realtime`` above this many tensor allocations per
            host call (None: report only).
        max_p99_load: fail ``realtime`` when the p99 of the blocks' thread CPU time exceeds
            this share of the block's duration (None: report only).
    """

    strictness: int = DEFAULT_STRICTNESS
    seed: int = 0
    native: bool = False
    allowed_operators: frozenset[str] = field(default_factory=frozenset)
    max_allocations_per_call: float | None = None
    max_p99_load: float | None = None

    def __post_init__(self) -> None:
        if not MIN_STRICTNESS <= self.strictness <= MAX_STRICTNESS:
            raise HostSettingError(f"strictness {self.strictness}: must be {MIN_STRICTNESS}..{MAX_STRICTNESS}")
        if self.max_allocations_per_call is not None and self.max_allocations_per_call < 0:
            raise HostSettingError(f"max_allocations_per_call {self.max_allocations_per_call}: must be >= 0")
        if self.max_p99_load is not None and self.max_p99_load <= 0:
            raise HostSettingError(f"max_p99_load {self.max_p99_load}: must be > 0 (1.0 = the whole block duration)")

    @property
    def budget(self) -> Budget:
        """The work of each check at this strictness."""
        return budget(self.strictness)
