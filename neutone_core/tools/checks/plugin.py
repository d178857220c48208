"""Export checks the core always provides (registered last, like any plugin's)."""

from __future__ import annotations

from typing import Callable

from neutone_core.hookspecs import hookimpl
from neutone_core.tools.checks import CHECK_MODULES


@hookimpl(trylast=True)
def register_checks(register: Callable[..., None]) -> None:
    """The core's own checks, one per module of :mod:`neutone_core.tools.checks`."""
    for module in CHECK_MODULES:
        register(module.NAME, module.check, module.DESCRIPTION)
