"""The core's export checks; :mod:`neutone_core.tools.checks.plugin` registers them.

Each entry of :data:`CHECK_MODULES` has ``NAME``, ``DESCRIPTION`` and ``check(context:
ExportContext) -> str``, which returns a one-line report (a line starting with
``"warning:"`` does not fail the export) or raises :class:`~neutone_core.errors.ExportCheckError`
saying what failed and why. Every check gets its own fresh load of the written file
(``context.loaded``). The export-only checks are modules here; the others are the checks of
``neutone validate`` (:mod:`neutone_core.tools.validate`) at its quick level, the same code.
"""

from neutone_core.tools.checks import allocations, delay, metadata, offline, partition, realtime, reload, sounds
from neutone_core.tools.validate import bad_input, contract, determinism, host_sessions, knobs, operators, reset
from neutone_core.tools.validate.for_export import declares_no_reset, exported

CHECK_MODULES = (
    exported(operators),
    metadata,
    exported(contract),
    reload,
    delay,
    partition,
    offline,
    exported(host_sessions),
    exported(reset, unless=declares_no_reset),
    exported(determinism),
    exported(bad_input),
    exported(knobs),
    allocations,
    realtime,
    sounds,
)
"""In the order they run: the operator scan first (nothing runs a file it refuses), cheap and
fundamental next, the sample sounds last."""
