"""The core's export checks, one module each; :mod:`neutone_core.tools.checks.plugin` registers them.

Each module has ``NAME``, ``DESCRIPTION`` and ``check(context: ExportContext) -> str``, which
returns a one-line report (a line starting with ``"warning:"`` does not fail the export) or
raises :class:`~neutone_core.errors.ExportCheckError` saying what failed and why. Every check
gets its own fresh load of the written file (``context.loaded``).
"""

from neutone_core.tools.checks import allocations, delay, metadata, offline, partition, realtime, reload, sounds

CHECK_MODULES = (metadata, reload, delay, partition, offline, allocations, realtime, sounds)
"""In the order they run: cheap and fundamental first, the sample sounds last."""
