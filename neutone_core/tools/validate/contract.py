"""The host contract: every method Neutone FX calls, with the types it calls it with, and valid metadata.

:data:`HOST_METHODS` is the contract in one place: each method's argument types (those after
the first ones the host passes must have defaults) and its return type, as TorchScript
writes them in the method's schema.
"""

from __future__ import annotations

import json
import math
from typing import Any

import torch

from neutone_core.metadata import validate_metadata
from neutone_core.parameters import MAX_N_PARAMS
from neutone_core.tools.validate.model_file import ModelFile
from neutone_core.tools.validate.options import ValidationOptions
from neutone_core.tools.validate.report import CheckResult

NAME = "host_contract"
DESCRIPTION = "every method Neutone FX calls is there with the right types; the metadata is valid"

TENSOR = "Tensor"
OPTIONAL_TENSOR = "Optional[Tensor]"
OPTIONAL_INT = "Optional[int]"

HOST_METHODS: dict[str, tuple[tuple[str, ...], int, str]] = {
    "forward": ((TENSOR, OPTIONAL_TENSOR), 1, TENSOR),
    "forward_bt": ((TENSOR, OPTIONAL_TENSOR), 1, OPTIONAL_TENSOR),
    "forward_offline": ((TENSOR, OPTIONAL_TENSOR), 1, TENSOR),
    "set_daw_sample_rate_and_buffer_size": (("int", "int", OPTIONAL_INT, OPTIONAL_INT), 2, "int"),
    "reset": ((), 0, "NoneType"),
    "is_resampling": ((), 0, "bool"),
    "calc_buffering_delay_samples": ((), 0, "int"),
    "calc_model_delay_samples": ((), 0, "int"),
    "is_input_mono": ((), 0, "bool"),
    "is_output_mono": ((), 0, "bool"),
    "get_native_sample_rates": ((), 0, "List[int]"),
    "get_native_buffer_sizes": ((), 0, "List[int]"),
    "get_preserved_attributes": ((), 0, "List[str]"),
    "to_metadata": ((), 0, "Dict[str, Any]"),
    "get_metadata_json": ((), 0, "str"),
    "get_wet_default_value": ((), 0, "float"),
    "get_dry_default_value": ((), 0, "float"),
    "get_input_gain_default_value": ((), 0, "float"),
    "get_output_gain_default_value": ((), 0, "float"),
    "get_default_param_values": ((), 0, TENSOR),
}
"""Method -> (argument types after ``self``, how many the host passes, return type)."""

UNIT_GETTERS = ("get_wet_default_value", "get_dry_default_value", "get_input_gain_default_value", "get_output_gain_default_value")


def method_problem(module: torch.jit.ScriptModule, name: str) -> str:
    """What is wrong with one contract method of a loaded module (``""``: nothing)."""
    argument_types, passed, return_type = HOST_METHODS[name]
    if not module._c._has_method(name):
        return f"{name}() is missing"
    schema = module._c._get_method(name).schema
    arguments = schema.arguments[1:]
    returns = ", ".join(str(r.type) for r in schema.returns)
    if tuple(str(a.type) for a in arguments[: len(argument_types)]) != argument_types or returns != return_type:
        actual = f"{name}({', '.join(str(a.type) for a in arguments)}) -> {returns}"
        return f"{actual}, the host expects {name}({', '.join(argument_types)}) -> {return_type}"
    required = [a.name for a in arguments[passed:] if not a.has_default_value()]
    if required:
        return f"{name}() requires {', '.join(required)}, which the host does not pass (give them defaults)"
    return ""


def value_problems(module: torch.jit.ScriptModule) -> list[str]:
    """What the getters return that a host cannot use."""
    problems = []
    for getter in UNIT_GETTERS:
        value = float(getattr(module, getter)())
        if not (math.isfinite(value) and 0.0 <= value <= 1.0):
            problems.append(f"{getter}() returned {value}: must be in 0..1")
    defaults = module.get_default_param_values()
    if defaults.dim() != 2 or defaults.size(0) != MAX_N_PARAMS or not bool(((defaults >= 0) & (defaults <= 1)).all()):
        problems.append(f"get_default_param_values() returned {defaults.tolist()}: expected ({MAX_N_PARAMS}, 1) values in 0..1")
    for getter in ("get_native_sample_rates", "get_native_buffer_sizes"):
        values = list(getattr(module, getter)())
        if any(value < 1 for value in values):
            problems.append(f"{getter}() returned {values}: every value must be >= 1 (empty means any)")
    return problems


def _as_json(value: Any) -> Any:
    return json.loads(json.dumps(value, sort_keys=True))


def metadata_problems(module: torch.jit.ScriptModule, metadata: dict[str, Any]) -> list[str]:
    """The archive's ``metadata.json`` breaks the Neutone limits, or disagrees with what the
    root's getters return (``to_metadata()`` with its own value types, ``get_metadata_json()``
    as text); empty when all is well."""
    problems = validate_metadata(metadata)
    if problems:
        return ["the stored metadata breaks the Neutone limits: " + "; ".join(problems)]
    expected = _as_json({key: value for key, value in metadata.items() if key != "sample_sound_files"})
    if json.loads(module.get_metadata_json()) != expected:
        return ["get_metadata_json() differs from the archive's metadata.json; export again"]
    fields = _as_json(dict(module.to_metadata()))
    if fields != expected:
        differing = sorted(k for k in set(fields) | set(expected) if fields.get(k) != expected.get(k))
        return [f"to_metadata() differs from metadata.json in {differing}; export again"]
    if hasattr(module, "w2w_base"):
        typed = module.w2w_base.to_metadata()
        if not isinstance(typed.get("is_experimental"), bool) or not isinstance(typed.get("native_sample_rates"), list):
            return ["to_metadata() must return each field with its own type (bools, lists), as the SDK's root"]
    return []


def check(model: ModelFile, options: ValidationOptions) -> CheckResult:
    """Every method of :data:`HOST_METHODS` with its types, the getters' values, the metadata."""
    if model.pristine is None:
        return CheckResult(NAME, "fail", f"the file was not loaded: {model.load_problem}")
    module = model.fresh()
    problems = [problem for name in HOST_METHODS if (problem := method_problem(module, name))]
    if problems:
        return CheckResult(NAME, "fail", f"{len(problems)} host methods break the contract: {'; '.join(problems)}")
    problems = value_problems(module)
    if model.metadata is None:
        problems.append(model.metadata_problem)
    else:
        problems += metadata_problems(module, model.metadata)
    if problems:
        return CheckResult(NAME, "fail", "; ".join(problems))
    return CheckResult(NAME, "pass", f"{len(HOST_METHODS)} host methods with the contract's types; metadata valid")
