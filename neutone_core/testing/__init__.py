"""Test tools for models and plugins: a configurable pass-through wrapper, an allocation
counter and the stage conformance kit (:func:`check_stage`, :func:`check_adapter`).

Used by neutone's own tests and export checks; plugin authors use them in theirs.
"""

from neutone_core.testing.conformance import StageReport, check_adapter, check_stage, drive, pattern_blocks
from neutone_core.testing.graphs import eager_graph
from neutone_core.testing.wrappers import PassThroughWrapper
from neutone_core.tools.profiling import count_allocations

__all__ = [
    "PassThroughWrapper",
    "StageReport",
    "check_adapter",
    "check_stage",
    "count_allocations",
    "drive",
    "eager_graph",
    "pattern_blocks",
]
