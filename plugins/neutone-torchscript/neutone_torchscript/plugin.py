"""Hook implementations: what this distribution registers with neutone."""

from typing import Any, Callable

import click
import torch
from torch import nn

from neutone_core import ExportCheckError, hookimpl, load_torchscript_source
from neutone_core.needs import ModelNeeds
from neutone_core.tools.host import stream
from neutone_torchscript.family import OPTIONS, build
from neutone_torchscript.left_channel import LeftChannelStage


def build_left_channel(needs: ModelNeeds, inner: nn.Module, options: dict[str, str]) -> nn.Module:
    """Factory of the ``left-channel`` adapter; only mono-in, mono-out models fit it."""
    if needs.input_channels != 1 or needs.output_channels != 1:
        raise ValueError("the left-channel adapter serves mono-in, mono-out models only; use the mixer adapter")
    return LeftChannelStage(inner)


def finite_output(context: Any) -> str:
    """Export check: silence and loud noise give finite output at 48 kHz / 512, stereo."""
    loaded = context.loaded
    generator = torch.Generator().manual_seed(1)
    signals = (("silence", torch.zeros(2, 4096)), ("loud noise", 4 * torch.randn(2, 4096, generator=generator)))
    for name, audio in signals:
        out = stream(loaded, audio, 48000, 512)
        if not torch.isfinite(out).all():
            raise ExportCheckError(
                f"the model returns non-finite samples for {name}; guard divisions and logs in do_forward_pass"
            )
    return "output finite for silence and loud noise"


@hookimpl
def register_adapters(register: Callable[..., None]) -> None:
    """Register ``left-channel`` below the first-party mixer's priority, in the registration
    form that predates ``rank``/``needed``/``outer``: it nests like the mixer."""
    register(
        "left-channel",
        "channels",
        build_left_channel,
        priority=-10,
        description="mono models hear the left channel (no phase cancellation); output duplicated",
    )


@hookimpl
def register_model_families(register: Callable[..., None]) -> None:
    """Register the ``torchscript`` family."""
    register("torchscript", build, description="wrap a saved TorchScript module (channels, n) -> (channels, n)", options=OPTIONS)


@hookimpl
def register_checks(register: Callable[..., None]) -> None:
    """Register the ``finite_output`` check."""
    register("finite_output", finite_output, description="output is finite for silence and loud noise")


@hookimpl
def register_commands(cli: click.Group) -> None:
    """Add ``neutone torchscript-info``."""

    @cli.command(name="torchscript-info")
    @click.argument("path", type=click.Path(exists=True, dir_okay=False))
    def torchscript_info(path: str) -> None:
        """Show the class of a TorchScript file and the signature of each of its methods."""
        module = load_torchscript_source(path)
        click.echo(f"{path}: {module.original_name}")
        for name in sorted(module._c._method_names()):
            click.echo(f"  {getattr(module, name).schema}")
