"""Test tools for models and plugins: a configurable pass-through wrapper, an allocation
counter, the stage conformance kit (:func:`check_stage`, :func:`check_adapter`) and the model
family kit (:func:`check_family`).

Used by neutone's own tests and export checks; plugin authors use them in theirs.
"""

from neutone_core.testing.conformance import StageReport, check_adapter, check_stage, drive, pattern_blocks
from neutone_core.testing.families import FamilyCheck, HostCheck, check_family
from neutone_core.testing.graphs import eager_graph
from neutone_core.testing.wrappers import PassThroughWrapper
from neutone_core.tools.profiling import count_allocations

__all__ = [
    "FamilyCheck",
    "HostCheck",
    "PassThroughWrapper",
    "StageReport",
    "check_adapter",
    "check_family",
    "check_stage",
    "count_allocations",
    "drive",
    "eager_graph",
    "pattern_blocks",
]
