"""The core's export checks, one module each; ``neutone_core.builtin_checks`` registers them.

Each module has ``NAME``, ``DESCRIPTION`` and ``check(context: ExportContext) -> str``, which
returns a one-line report (a line starting with ``"warning:"`` does not fail the export) or
raises :class:`~neutone_core.errors.ExportCheckError` saying what failed and why.
"""

from neutone_core.checks import allocations, delay, metadata, partition, realtime, reload, sounds

CHECK_MODULES = (metadata, reload, delay, partition, allocations, realtime, sounds)
"""In the order they run: cheap and fundamental first."""
