"""The family kit: one call takes a model family's source through ``neutone compose`` and then
checks the written file as a host would.

:func:`check_family` builds the wrapper exactly as ``neutone compose SOURCE --family NAME``
does (options, metadata file), exports it with every export check, loads ``model.nm`` back
with plain ``torch.jit.load`` and, at each host setting, streams a test signal in host blocks
(the output must keep the input's shape and be finite) and sends an impulse half a block
into a fresh stream: for a model that passes an impulse through (``measure_delay``), its
largest output sample must land at the reported delay. Models that spread or scramble an
impulse (codecs, random distortion) are measured by the export's ``delay_reported`` check
with the model bypassed; their response is returned for the test to judge. Every failure
is an ``AssertionError`` or the export's own error.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from neutone_core.export import ExportResult, save_neutone_model
from neutone_core.plugins import get_registry
from neutone_core.scripting import torchscript_quietly
from neutone_core.tools.host import impulse_response, stream
from neutone_core.tools.sources import build_wrapper

HOST_SETTINGS = ((48000, 512, 2), (44100, 128, 1))
"""Default host settings: (rate Hz, buffer size samples, channels)."""


@dataclass(frozen=True)
class HostCheck:
    """One host setting of :func:`check_family`.

    Attributes:
        sample_rate, block_size, n_channels: the host setting (Hz, samples, 1 or 2).
        audio: the test signal ``(n_channels, n)``.
        output: what the file returned for it, streamed in host blocks, ``(n_channels, n)``.
        reported_delay: the delay the file reports (samples at the host rate).
        measured_delay: where the impulse's largest output sample landed, or None (not measured).
        impulse_offset: where the impulse entered the stream (samples).
        response: the output from the impulse on, ``(n_channels, m)``.
    """

    sample_rate: int
    block_size: int
    n_channels: int
    audio: Tensor
    output: Tensor
    reported_delay: int
    measured_delay: int | None
    impulse_offset: int
    response: Tensor


@dataclass(frozen=True)
class FamilyCheck:
    """What :func:`check_family` did: the export, the file loaded back, each host setting."""

    export: ExportResult
    module: torch.jit.ScriptModule
    hosts: list[HostCheck]


def check_family(
    family: str,
    source: str,
    out_dir: str | Path,
    options: Mapping[str, str] | None = None,
    metadata_file: str | Path | None = None,
    host_settings: Sequence[tuple[int, int, int]] = HOST_SETTINGS,
    skip_checks: Sequence[str] = ("sample_sounds",),
    signal_samples: int = 12000,
    measure_delay: bool = True,
) -> FamilyCheck:
    """Compose ``source`` with ``family`` into ``out_dir`` and check the file at each host setting.

    Args:
        family: the registered family's name.
        source: what the family builds from (a file path, a seed, ...).
        out_dir: where ``model.nm`` and ``metadata.json`` go.
        options: ``--option`` text, family options and metadata fields.
        metadata_file: a TOML metadata file (``--meta``).
        host_settings: ``(rate Hz, buffer size samples, channels)`` to stream and measure at.
        skip_checks: export checks to skip.
        signal_samples: length of the test signal (samples at the host rate).
        measure_delay: the model passes an impulse through, so its peak gives the delay.
    """
    wrapper = build_wrapper(get_registry(), source, family, options, metadata_file)
    export = save_neutone_model(wrapper, out_dir, skip_checks=set(skip_checks))
    with torchscript_quietly():
        module = torch.jit.load(str(export.model_path), map_location="cpu")
    generator = torch.Generator().manual_seed(0)
    hosts = []
    for sample_rate, block_size, n_channels in host_settings:
        audio = (torch.rand(n_channels, signal_samples, generator=generator) - 0.5) * 1.2
        output = stream(copy.deepcopy(module), audio, sample_rate, block_size)
        setting = f"{sample_rate} Hz / {block_size} / {n_channels} ch"
        assert output.shape == audio.shape, f"{setting}: output {tuple(output.shape)} for input {tuple(audio.shape)}"
        assert bool(torch.isfinite(output).all()), f"{setting}: the output is not finite"
        offset = block_size // 2 + 1
        response, reported = impulse_response(copy.deepcopy(module), sample_rate, block_size, n_channels, offset)
        measured = int(response.abs().sum(0).argmax()) if measure_delay else None
        assert measured in (None, reported), f"{setting}: the file reports {reported} samples of delay, an impulse {measured}"
        hosts.append(HostCheck(sample_rate, block_size, n_channels, audio, output, reported, measured, offset, response))
    return FamilyCheck(export, module, hosts)
