"""The ``randomized-overdrive`` model family: ``neutone compose SEED --family randomized-overdrive``."""

from typing import Any, Callable

from neutone_core import FamilyError, FamilyOption, hookimpl
from neutone_ronn.network import ACTIVATIONS, RandomizedOverdrive, receptive_field
from neutone_ronn.wrapper import RandomizedOverdriveWrapper

MAX_RECEPTIVE_FIELD = 65536
"""Largest receptive field (samples) a network may have: its cached past is kept per channel."""

OPTIONS = {
    "depth": FamilyOption("convolution layers", int, default=4, minimum=1, maximum=16),
    "channels": FamilyOption("channels between layers", int, default=8, minimum=1, maximum=64),
    "kernel_size": FamilyOption("kernel of every layer (samples)", int, default=13, minimum=1, maximum=255),
    "dilation_growth": FamilyOption("layer i has dilation growth^i", int, default=2, minimum=1, maximum=16),
    "activation": FamilyOption("nonlinearity after each hidden layer", default="tanh", choices=ACTIVATIONS),
}


def build(source: str, options: dict[str, Any]) -> RandomizedOverdriveWrapper:
    """A randomized overdrive whose weights come from the seed ``source``."""
    if not source.isdigit():
        raise FamilyError("expected a seed, a whole number >= 0 (e.g. neutone compose 7 --family randomized-overdrive)")
    field = receptive_field(options["depth"], options["kernel_size"], options["dilation_growth"])
    if field > MAX_RECEPTIVE_FIELD:
        raise FamilyError(
            f"expected a receptive field of at most {MAX_RECEPTIVE_FIELD} samples, the options give {field}; "
            "lower depth, kernel_size or dilation_growth"
        )
    network = RandomizedOverdrive(int(source), options["depth"], options["channels"], options["kernel_size"],
                                  options["dilation_growth"], options["activation"])
    settings = ", ".join(f"{name} {options[name]}" for name in OPTIONS)
    return RandomizedOverdriveWrapper(network, f"seed {source}, {settings}, receptive field {field} samples")


@hookimpl
def register_model_families(register: Callable[..., None]) -> None:
    """Register the ``randomized-overdrive`` family."""
    register(
        "randomized-overdrive",
        build,
        description="an untrained random-weight TCN as an overdrive (Steinmetz & Reiss 2020): SOURCE is the seed",
        options=OPTIONS,
    )
