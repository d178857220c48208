"""What a scripted module of the nn~ convention declares, read from the loaded file.

The convention (acids-ircam nn_tilde, used by RAVE's export): each method a host may call
takes and returns one ``(batch, channels, samples)`` tensor and is declared by a buffer
``<method>_params`` = ``[in_channels, in_ratio, out_channels, out_ratio]`` (a ratio of ``r``:
one value per ``r`` audio samples); ``get_methods()`` lists them. An ``sr`` attribute gives
the rate in Hz (None or absent: any rate). Attributes listed by ``get_attributes()`` are read
with ``get_<name>()`` and set with ``set_<name>(...)`` (0 on success), their argument types
in ``<name>_params`` (0 bool, 1 int, 2 float, 3 str). A module built from cached
convolutions may carry the delay it adds, in samples, as ``cumulative_delay``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import torch

from neutone_core import FamilyError

AUDIO_CHANNELS = (1, 2)
PROBE_BLOCK_SIZES = tuple(2**k for k in range(17))
"""Block sizes (samples) tried, smallest first, to find the one a method accepts: 1 .. 65536."""

ATTRIBUTE_TYPES = {0: bool, 1: int, 2: float, 3: str}
"""``<name>_params`` type codes of the convention."""


@dataclass(frozen=True)
class NnTildeMethod:
    """A declared method: channels and ratios in and out (a ratio of 1 is audio rate)."""

    name: str
    in_channels: int
    in_ratio: int
    out_channels: int
    out_ratio: int

    def audio_problem(self) -> str:
        """Why the method does not map audio to audio, or ``""``."""
        if self.out_ratio != 1 or self.out_channels not in AUDIO_CHANNELS:
            return (
                f"its output is latent, not audio ({self.out_channels} channels at ratio {self.out_ratio}; audio is 1 or 2 "
                "channels at ratio 1), as an encoder's"
            )
        if self.in_ratio != 1 or self.in_channels not in AUDIO_CHANNELS:
            return f"it takes latents, not audio ({self.in_channels} channels at ratio {self.in_ratio}), as a decoder"
        return ""


def method_names(module: torch.jit.ScriptModule) -> list[str]:
    """Every method of the scripted module."""
    return sorted(module._c._method_names())


def declared_methods(module: torch.jit.ScriptModule) -> dict[str, NnTildeMethod]:
    """The methods the module declares with a ``<method>_params`` buffer."""
    declared = {}
    for name in method_names(module):
        params = getattr(module, f"{name}_params", None)
        if isinstance(params, torch.Tensor) and params.numel() == 4:
            in_channels, in_ratio, out_channels, out_ratio = (int(v) for v in params.tolist())
            declared[name] = NnTildeMethod(name, in_channels, in_ratio, out_channels, out_ratio)
    return declared


def audio_method(module: torch.jit.ScriptModule, name: str) -> NnTildeMethod:
    """The declared method ``name``, which must map audio to audio."""
    declared = declared_methods(module)
    if name not in declared:
        listed = ", ".join(declared) or "none (no <method>_params buffers: not an nn~ model)"
        raise FamilyError(f"expected an nn~ method {name!r} declared by a {name}_params buffer; its nn~ methods: {listed}")
    problem = declared[name].audio_problem()
    if problem:
        audio = [m for m in declared.values() if not m.audio_problem()]
        hint = f"; its audio methods: {', '.join(m.name for m in audio)}" if audio else ""
        raise FamilyError(f"method {name!r} cannot run in a host: {problem}{hint}")
    return declared[name]


def sample_rate(module: torch.jit.ScriptModule) -> int | None:
    """The rate (Hz) the module declares in ``sr``, or None (any rate)."""
    rate = getattr(module, "sr", None)
    return int(rate) if isinstance(rate, int) and not isinstance(rate, bool) else None


def declared_delay(module: torch.jit.ScriptModule) -> int:
    """The delay (samples) the module declares as ``cumulative_delay``, else 0."""
    delay = getattr(module, "cumulative_delay", 0)
    return int(delay) if isinstance(delay, int) and not isinstance(delay, bool) else 0


def settable_attributes(module: torch.jit.ScriptModule) -> list[str]:
    """Attributes with both ``get_<name>`` and ``set_<name>`` (``get_attributes()`` if declared)."""
    methods = set(method_names(module))
    if "get_attributes" in methods:
        return [str(name) for name in module.get_attributes()]
    return sorted(m[4:] for m in methods if m.startswith("get_") and f"set_{m[4:]}" in methods)


def attribute_type(module: torch.jit.ScriptModule, name: str) -> type:
    """The one argument type of ``set_<name>``; raises FamilyError for other attributes."""
    methods = set(method_names(module))
    if f"get_{name}" not in methods or f"set_{name}" not in methods:
        raise FamilyError(
            f"expected a settable attribute {name!r} (get_{name} and set_{name}); settable: "
            f"{', '.join(settable_attributes(module)) or 'none'}"
        )
    codes = getattr(module, f"{name}_params", None)
    if isinstance(codes, torch.Tensor):
        kinds = [ATTRIBUTE_TYPES.get(int(code), object) for code in codes.tolist()]
    else:
        kinds = [type(current_value(module, name))]
    if len(kinds) != 1 or kinds[0] not in (bool, int, float):
        names = ", ".join(getattr(kind, "__name__", "?") for kind in kinds)
        raise FamilyError(f"attribute {name!r} is set with ({names}); a knob sets one bool, int or float")
    return kinds[0]


def current_value(module: torch.jit.ScriptModule, name: str) -> Any:
    """What ``get_<name>()`` returns (the single value of a one-element list or tuple)."""
    value = getattr(module, f"get_{name}")()
    return value[0] if isinstance(value, (list, tuple)) and len(value) == 1 else value


def _first_line(exc: Exception) -> str:
    lines = [line for line in str(exc).strip().splitlines() if line.strip()]
    return lines[-1].strip().removeprefix("builtins.") if lines else type(exc).__name__


def accepts(module: torch.jit.ScriptModule, method: NnTildeMethod, block_size: int) -> str:
    """``""`` if ``method`` maps ``(1, in_channels, block_size)`` to ``(1, out_channels,
    block_size)`` on a copy of the module, else what happened."""
    trial = copy.deepcopy(module)
    expected = (1, method.out_channels, block_size)
    try:
        with torch.no_grad():
            out = getattr(trial, method.name)(torch.zeros(1, method.in_channels, block_size))
    except Exception as exc:  # the model's own refusal is what we report
        return f"raised {_first_line(exc)}"
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != expected:
        got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        return f"returned {got}, expected {expected}"
    return ""


def probe_block_size(module: torch.jit.ScriptModule, method: NnTildeMethod) -> int:
    """The smallest power-of-two block (samples) the method accepts; 1 means any block."""
    refusals = []
    for block_size in PROBE_BLOCK_SIZES:
        refusal = accepts(module, method, block_size)
        if not refusal:
            return block_size
        refusals.append(f"{block_size}: {refusal}")
    raise FamilyError(
        f"method {method.name!r} accepts no block of {PROBE_BLOCK_SIZES[0]}..{PROBE_BLOCK_SIZES[-1]} samples "
        f"(expected (1, {method.in_channels}, n) -> (1, {method.out_channels}, n); {refusals[0]}; ...; {refusals[-1]}); "
        "give the block size it takes with --option buffer_size=N"
    )
