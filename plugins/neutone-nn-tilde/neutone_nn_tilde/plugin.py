"""The ``nn-tilde`` model family: ``neutone compose model.ts --family nn-tilde [--option method=forward]``."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from neutone_core import FamilyError, FamilyOption, hookimpl, load_torchscript_source
from neutone_nn_tilde.convention import accepts, audio_method, declared_delay, probe_block_size, sample_rate
from neutone_nn_tilde.knobs import KNOB_OPTIONS, knob_bindings
from neutone_nn_tilde.wrapper import NnTildeWrapper, adapt_module

OPTIONS = {
    "method": FamilyOption("the declared method to run; it must take and return audio", default="forward"),
    "buffer_size": FamilyOption("block size (samples) the method takes (default: the smallest power of two it accepts)", int,
                                minimum=1),
    "sample_rate": FamilyOption("rate (Hz) the model runs at (default: its sr; none: any rate)", int, minimum=1),
    "delay_samples": FamilyOption("the model's own delay in samples at its rate (default: its cumulative_delay, else 0)",
                                  int, minimum=0),
    **{name: FamilyOption(f"settable attribute knob {name[-1]} drives: ATTRIBUTE:MIN:MAX (a bool: ATTRIBUTE)")
       for name in KNOB_OPTIONS},
}


def build(source: str, options: dict[str, Any]) -> NnTildeWrapper:
    """Read the method's channels, ratios, rate, block size and delay from the model file."""
    module = load_torchscript_source(source)
    method = audio_method(module, options["method"])
    if "buffer_size" in options:
        refusal = accepts(module, method, options["buffer_size"])
        if refusal:
            raise FamilyError(f"method {method.name!r} refuses blocks of {options['buffer_size']} samples: it {refusal}")
        block_size = options["buffer_size"]
    else:
        block_size = probe_block_size(module, method)
    rate = options.get("sample_rate", sample_rate(module))
    knobs = knob_bindings(module, options)
    adapt_module(module, method, knobs)
    return NnTildeWrapper(
        module,
        name=Path(source).stem[:30],
        method=method,
        sample_rates=[rate] if rate is not None else [],
        buffer_sizes=[block_size] if block_size > 1 else [],
        delay_samples=options.get("delay_samples", declared_delay(module)),
        knobs=knobs,
    )


@hookimpl
def register_model_families(register: Callable[..., None]) -> None:
    """Register the ``nn-tilde`` family."""
    register(
        "nn-tilde",
        build,
        description="wrap a TorchScript model of the nn~ convention (RAVE, nn_tilde): SOURCE is its .ts file",
        options=OPTIONS,
    )
