"""``neutone validate``: stress any ``model.nm`` the way plugin validators stress plugins.

A battery of named checks (:data:`~neutone_core.tools.validate.battery.CHECKS`), each a plain
function of the file, usable from pytest::

    from neutone_core.tools.validate import validate

    def test_my_model_passes_neutone_validate():
        report = validate("out/model.nm", strictness=2)
        assert report.passed, "\\n".join(report.lines())

Modules: :mod:`.model_file` (read, then load), :mod:`.options` (strictness and limits),
:mod:`.sessions` (random host call sequences), :mod:`.runners` (Python and native hosts),
:mod:`.outputs` (what every call must return), :mod:`.report`, :mod:`.battery` (the order and
:func:`validate`), and one module per check: :mod:`.operators`, :mod:`.contract`,
:mod:`.host_sessions`, :mod:`.delay`, :mod:`.reset`, :mod:`.determinism`, :mod:`.bad_input`,
:mod:`.knobs`, :mod:`.realtime`. Export runs the same checks at strictness 1
(:mod:`.for_export`).
"""

from neutone_core.tools.validate.battery import CHECKS, validate
from neutone_core.tools.validate.model_file import ModelFile, read_model_file
from neutone_core.tools.validate.options import DEFAULT_STRICTNESS, MAX_STRICTNESS, MIN_STRICTNESS, ValidationOptions, budget
from neutone_core.tools.validate.report import CheckResult, Reproduction, ValidationReport

__all__ = [
    "CHECKS",
    "DEFAULT_STRICTNESS",
    "MAX_STRICTNESS",
    "MIN_STRICTNESS",
    "CheckResult",
    "ModelFile",
    "Reproduction",
    "ValidationOptions",
    "ValidationReport",
    "budget",
    "read_model_file",
    "validate",
]
