"""Registers the STFT with neutone through the ``"neutone"`` entry point group."""

from __future__ import annotations

from typing import Callable

from torch import nn

from neutone_adapters.stft.config import SPECTROGRAM, STFT_EXTRA, StftConfig
from neutone_adapters.stft.stage import StftStage
from neutone_core import PlanError, StreamNeeds, hookimpl
from neutone_core.needs import WAVEFORM

RANK = 50
"""Inside the FIFO (100): the FIFO supplies the whole hops and the look-behind it asks for."""


def _config(inner: StreamNeeds) -> StftConfig:
    config = inner.extra.get(STFT_EXTRA)
    if not isinstance(config, StftConfig):
        raise PlanError(
            f"a model in the {SPECTROGRAM} domain must declare its STFT as extra[{STFT_EXTRA!r}] "
            "(subclass neutone_adapters.stft.SpectralToSpectralBase)"
        )
    return config


def stft_needed(inner: StreamNeeds) -> str | None:
    """Needed when the inner stage takes spectrogram frames."""
    if inner.domain != SPECTROGRAM:
        return None
    return f"the model works on STFT frames ({_config(inner).describe()})"


def stft_outer(inner: StreamNeeds, options: dict[str, str]) -> StreamNeeds:
    """Outside the STFT: waveform blocks of whole hops, each after ``S - hop`` samples of
    look-behind (``S`` the window's nonzero span)."""
    config = _config(inner)
    return inner.without_extra(STFT_EXTRA).with_changes(
        domain=WAVEFORM, native_buffer_sizes=config.outer_block_sizes(), look_behind_samples=config.look_behind_samples
    )


def build_stft(inner: StreamNeeds, inner_stage: nn.Module, options: dict[str, str]) -> StftStage:
    """Factory: the STFT stage for the configuration the spectral wrapper declared."""
    config = _config(inner)
    return StftStage(
        inner_stage,
        config.n_fft,
        config.hop_length,
        config.window_tensor(),
        config.representation,
        inner.input_channels,
        inner.output_channels,
        config.describe(),
    )


@hookimpl
def register_adapters(register: Callable[..., None]) -> None:
    """Serve the ``domain`` need for spectrogram models."""
    register(
        "stft",
        "domain",
        build_stft,
        description="STFT: spectrogram models on waveform streams, exact overlap-add, least delay, knobs per frame",
        rank=RANK,
        needed=stft_needed,
        outer=stft_outer,
    )
