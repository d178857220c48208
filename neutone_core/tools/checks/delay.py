"""The delay the model reports equals the delay an impulse measures: export's form of
:mod:`neutone_core.tools.validate.delay` at the quick level (the same code; its measurement
functions are importable from here too)."""

from neutone_core.tools.validate import delay as validate_delay
from neutone_core.tools.validate.delay import Measurement, is_stochastic, measure
from neutone_core.tools.validate.for_export import exported

NAME = validate_delay.NAME
DESCRIPTION = validate_delay.DESCRIPTION
check = exported(validate_delay).check

__all__ = ["DESCRIPTION", "NAME", "Measurement", "check", "is_stochastic", "measure"]
