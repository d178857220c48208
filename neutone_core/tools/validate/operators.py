"""Every operator a file's code calls, and those it must not: files, other processes, the network.

A scripted model runs any operator LibTorch registers, and some reach outside the audio:
``torch.from_file(path, shared=True, ...)`` maps any file the host can open, to read it and
to write it. :func:`operator_counts` lists the operators of every method of every module in
the file (with the functions and class methods it calls inlined, so their code counts too);
:data:`DENIED` names what a model file may not call, and why; an operator of a namespace
LibTorch does not ship (:data:`LIBTORCH_NAMESPACES`) is refused too, since nobody can say what
it does. ``__setstate__`` is denied as well: ``torch.jit.load`` runs it before a host or a
validator can look at the file (:mod:`.model_file` reads the archive's code to find it
without loading). So is a method call through an interface no module of the file implements
(:data:`CLASS_INTERFACE_CALL`): a script class's method, whose code the scan cannot reach. A
file may call a denied operator only when it is allowed by name
(``allowed_operators``, ``--allow-operator NAME``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

import torch

from neutone_core.tools.validate.model_file import SETSTATE, ModelFile
from neutone_core.tools.validate.options import ValidationOptions
from neutone_core.tools.validate.report import CheckResult, counted

CLASS_INTERFACE_CALL = "class-interface-call"
"""A method called through an interface of script classes (modules' interfaces are read where implemented)."""

NAME = "operators"
DESCRIPTION = "the file calls no operator that touches files, other processes or the network"

DENIED: dict[str, str] = {
    "aten::from_file": "maps a file into a tensor (shared=True writes the tensor back to the file)",
    "aten::save": "writes a file (torch.save)",
    "debugprims::load_tensor": "reads a tensor from a file",
    "prim::rpc_async": "calls a function in another process over the network (torch.distributed.rpc)",
    "prim::rpc_sync": "calls a function in another process over the network (torch.distributed.rpc)",
    "prim::rpc_remote": "creates an object in another process over the network (torch.distributed.rpc)",
    "c10d::*": "sends and receives tensors between processes (torch.distributed process groups)",
    "_c10d_functional::*": "sends and receives tensors between processes (torch.distributed collectives)",
    "_c10d_functional_autograd::*": "sends and receives tensors between processes (torch.distributed collectives)",
    "_dtensor::*": "exchanges tensor shards between processes (DTensor)",
    "symm_mem::*": "reads and writes memory shared with other processes (symmetric memory)",
    SETSTATE: "code torch.jit.load runs while loading the file, before anything can look at it",
    CLASS_INTERFACE_CALL: "calls a script class's method through an interface: the code it runs cannot be read from the file",
}
"""Operator (``namespace::name``, or ``namespace::*`` for all of a namespace) -> what it reaches."""

LIBTORCH_NAMESPACES = frozenset(
    "aten prim quantized _quantized quantization mkldnn mkldnn_prepacked mkl onednn sparse profiler".split()
)
"""Namespaces of the operators LibTorch ships that a model file may call (denied entries aside)."""


def _graph_kinds(graph: torch.Graph, counts: Counter[str]) -> None:
    for node in graph.nodes():
        counts[node.kind()] += 1
        for block in node.blocks():
            _graph_kinds(block, counts)


def calls_code_outside_modules(graph: torch.Graph, module_types: dict[str, torch._C.ClassType]) -> bool:
    """Whether ``graph`` calls a function or a method of a class that is not a module of the
    file: code only inlining reaches (a module's methods are read on their own, and so are
    those called through an interface that modules implement)."""
    if graph.findAllNodes("prim::CallFunction", True):
        return True
    for node in graph.findAllNodes("prim::CallMethod", True):
        callee = node.inputsAt(0).type()
        if not isinstance(callee, torch._C.InterfaceType) and callee.qualified_name() not in module_types:
            return True
    return False


CUSTOM_CLASSES = "__torch__.torch.classes."
"""Qualified names of C++ classes a library registers (``torch.classes``): their methods are the
library's code, not the file's, and only the library's operators (scanned) make one."""


def class_interface_calls(graph: torch.Graph, module_types: dict[str, torch._C.ClassType]) -> int:
    """Method calls left in an inlined ``graph`` on something other than a module of the file
    or a library's C++ class: calls through an interface of script classes (inlining keeps them,
    whatever the value's class; only modules implement a module interface, and modules are read
    on their own)."""
    calls = 0
    for node in graph.findAllNodes("prim::CallMethod", True):
        callee = node.inputsAt(0).type()
        if isinstance(callee, torch._C.InterfaceType):
            calls += not any(module_type.isSubtypeOf(callee) for module_type in module_types.values())
        else:
            name = callee.qualified_name()
            calls += name not in module_types and not name.startswith(CUSTOM_CLASSES)
    return calls


def operator_counts(module: torch.jit.ScriptModule) -> Counter[str]:
    """How often each operator appears in the code of every method of every module of ``module``
    (a module type's methods are read once), with the functions and class methods a method
    calls inlined into it; a call to another module's method is counted where it is defined."""
    modules = dict(module.named_modules())
    module_types = {sub._c._type().qualified_name(): sub._c._type() for sub in modules.values()}
    counts: Counter[str] = Counter()
    seen: set[str] = set()
    for sub in modules.values():
        kind = sub._c._type().qualified_name()
        if kind in seen:
            continue
        seen.add(kind)
        for method in sub._c._method_names():
            graph = sub._c._get_method(method).graph
            if calls_code_outside_modules(graph, module_types):
                graph = graph.copy()
                torch._C._jit_pass_inline(graph)
            _graph_kinds(graph, counts)
            if calls := class_interface_calls(graph, module_types):
                counts[CLASS_INTERFACE_CALL] += calls
    return counts


def denial(operator: str) -> str:
    """Why ``operator`` may not be called (``""``: it may)."""
    namespace = operator.split("::", 1)[0]
    reason = DENIED.get(operator) or DENIED.get(f"{namespace}::*")
    if reason:
        return reason
    if "::" in operator and namespace not in LIBTORCH_NAMESPACES:
        return "an operator LibTorch does not ship: what it does cannot be known, and a host cannot load it"
    return ""


def denied_operators(operators: Iterable[str], allowed: Iterable[str] = ()) -> dict[str, str]:
    """The denied ones among ``operators`` that are not in ``allowed``, with why."""
    allowed = set(allowed)
    return {op: reason for op in sorted(operators) if op not in allowed and (reason := denial(op))}


def summary(counts: Counter[str]) -> str:
    """``"143 distinct operators (aten 120, prim 23)"``."""
    namespaces = Counter(op.split("::", 1)[0] for op in counts)
    listed = ", ".join(f"{namespace} {n}" for namespace, n in namespaces.most_common())
    return f"{len(counts)} distinct operators ({listed})"


def check(model: ModelFile, options: ValidationOptions) -> CheckResult:
    """List every operator; fail on a denied one that is not allowed by name."""
    counts = operator_counts(model.pristine) if model.pristine is not None else Counter()
    if model.setstate_classes:
        counts[SETSTATE] += len(model.setstate_classes)
    denied = denied_operators(counts, options.allowed_operators)
    allowed = sorted(op for op in options.allowed_operators if op in counts and denial(op))
    details = {"operators": dict(sorted(counts.items())), "denied": denied}
    if denied:
        listed = "; ".join(f"{op} ({reason})" for op, reason in denied.items())
        where = f" in {', '.join(model.setstate_classes)}" if SETSTATE in denied else ""
        return CheckResult(
            NAME,
            "fail",
            f"the file calls {counted(len(denied), 'denied operator')}: {listed}{where}; a model must not reach outside its "
            "audio (allow one by name only for a file you trust)",
            details=details,
        )
    if model.pristine is None:
        return CheckResult(NAME, "fail", f"the file was not loaded: {model.load_problem}", details=details)
    note = f"; allowed by name: {', '.join(allowed)}" if allowed else ""
    return CheckResult(NAME, "pass", f"{summary(counts)}, none touching files, processes or the network{note}", details=details)


def operator_report(module: torch.jit.ScriptModule) -> dict[str, object]:
    """For ``neutone inspect``: the summary line, each operator's count and the denied ones."""
    counts = operator_counts(module)
    denied = denied_operators(counts)
    line = summary(counts) + (f"; denied: {', '.join(denied)}" if denied else "; none touching files, processes or the network")
    return {"summary": line, "counts": dict(sorted(counts.items())), "denied": denied}
