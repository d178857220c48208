"""Render audio through a model exactly as a host does, with knob settings and sweeps.

Every sample goes through :func:`neutone_core.tools.host.stream` (configure once, then block after
block); this module only prepares the host signal and the knob curves around it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from neutone_core.errors import AudioFileError, HostSettingError, MissingAdapterError
from neutone_core.parameters import MAX_N_PARAMS
from neutone_core.tools.audio_io import AUDIO_SUFFIXES
from neutone_core.tools.host import configure, stream

PROGRESS_SAMPLES = 1 << 16
"""Roughly how many samples are streamed between two progress updates."""


@dataclass(frozen=True)
class KnobSetting:
    """A knob held at ``start`` (``start == end``) or swept linearly from ``start`` to ``end``.

    Attributes:
        index: row 0..3 of the ``(4, n)`` knob tensor.
        name: the knob's name as the model declares it.
        start: value at the first sample, 0..1.
        end: value at the last sample, 0..1.
    """

    index: int
    name: str
    start: float
    end: float


def _knob_value(text: str, spec: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise HostSettingError(f"--param {spec}: {text!r} is not a number; knob values are 0..1") from None
    if not 0.0 <= value <= 1.0:
        raise HostSettingError(f"--param {spec}: {value:g} is outside 0..1; knob values are 0..1")
    return value


def parse_knob_setting(spec: str, metadata: dict[str, Any]) -> KnobSetting:
    """``NAME=VALUE`` or ``NAME=START:END`` -> :class:`KnobSetting`; NAME is a knob's name or
    its slot ``p1``..``p4``."""
    name, sep, value = spec.partition("=")
    if not sep or not name or not value:
        raise HostSettingError(f"--param {spec!r}: expected NAME=VALUE or NAME=START:END")
    params = metadata["neutone_parameters"]
    used = {key: p for key, p in sorted(params.items()) if p.get("used")}
    for i in range(MAX_N_PARAMS):
        key = f"p{i + 1}"
        if key in used and name in (key, used[key]["name"]):
            start_text, colon, end_text = value.partition(":")
            start = _knob_value(start_text, spec)
            end = _knob_value(end_text, spec) if colon else start
            return KnobSetting(i, used[key]["name"], start, end)
    knobs = ", ".join(p["name"] for p in used.values()) or "none"
    raise HostSettingError(f"--param {spec}: the model has no knob {name!r}; its knobs are: {knobs}")


def knob_curves(defaults: Tensor, settings: list[KnobSetting], n_samples: int) -> Tensor:
    """Knob values (0..1, as the host sends them) for every sample, ``(4, n_samples)``: each
    knob's default (``defaults`` ``(4, 1)``, the root's ``get_default_param_values()``)
    unless set or swept."""
    curves = defaults.reshape(MAX_N_PARAMS, 1).repeat(1, n_samples)
    for setting in settings:
        curves[setting.index] = torch.linspace(setting.start, setting.end, n_samples)
    return curves


def host_signal(audio: Tensor, file_rate: int, host_rate: int, mono: bool) -> Tensor:
    """What the host sends: ``audio`` ``(channels, n)`` at ``file_rate`` Hz resampled to
    ``host_rate`` and laid out for a mono (1) or stereo (2 channels) host."""
    if audio.size(0) > 2:
        raise AudioFileError(f"{audio.size(0)} channels: hosts send 1 or 2, downmix the file first")
    if mono:
        audio = audio.mean(0, keepdim=True)
    elif audio.size(0) == 1:
        audio = audio.repeat(2, 1)
    if file_rate == host_rate:
        return audio
    return offline_converter(file_rate, host_rate)(audio, file_rate, host_rate)


def offline_converter(file_rate: int, host_rate: int) -> Callable[..., Tensor]:
    """The highest-priority installed ``sample_rate`` adapter's whole-signal converter."""
    from neutone_core.plugins import get_registry

    for spec in get_registry().adapters_for("sample_rate"):
        if spec.offline is not None:
            return spec.offline
    raise MissingAdapterError(
        f"the file is at {file_rate} Hz and the host at {host_rate} Hz; converting it needs a sample_rate adapter: "
        'pip install "neutone[resample]" (or render at --sr ' + str(file_rate) + ")"
    )


def render(
    model: Any,
    audio: Tensor,
    sample_rate: int,
    block_size: int,
    params: Tensor | None = None,
    compensate_delay: bool = False,
    on_progress: Callable[[int], None] | None = None,
) -> Tensor:
    """Stream ``audio`` ``(channels, n)`` through a root module at ``sample_rate`` Hz in blocks of
    ``block_size`` samples: ``(channels, n)``.

    The model is configured once (``prepare``: the host's ``set_daw_sample_rate_and_buffer_size``
    with its channel count), then :func:`neutone_core.tools.host.stream` feeds it block after block.

    Args:
        model: a loaded (or in-memory scripted) root module.
        audio: host signal, 1 or 2 channels.
        sample_rate: host rate in Hz.
        block_size: host buffer size in samples.
        params: knobs ``(4, n)`` in 0..1, or None for the model's defaults.
        compensate_delay: remove the delay the model reports, as a DAW's delay compensation
            does (the input is followed by that many zeros, knobs hold their last value).
        on_progress: called with the number of host samples after each stretch of blocks.
    """
    reported = configure(model, sample_rate, block_size, audio.size(0))
    delay = reported if compensate_delay else 0
    if delay:
        audio = torch.cat([audio, audio.new_zeros(audio.size(0), delay)], dim=1)
        if params is not None:
            params = torch.cat([params, params[:, -1:].expand(MAX_N_PARAMS, delay)], dim=1)
    total = audio.size(1)
    out = torch.empty_like(audio)
    stretch = block_size * max(1, PROGRESS_SAMPLES // block_size)
    for start in range(0, total, stretch):
        end = min(start + stretch, total)
        piece_params = None if params is None else params[:, start:end]
        piece = audio[:, start:end]
        out[:, start:end] = stream(model, piece, sample_rate, block_size, piece_params, block_size, reset=False)
        if on_progress is not None:
            on_progress(end - start)
    return out[:, delay:]


@dataclass(frozen=True)
class RenderJob:
    """One file to render: where it comes from, where the audio and the plot go."""

    source: Path
    target: Path
    plot: Path | None


def render_jobs(source: Path, target: Path, plot: Path | None) -> list[RenderJob]:
    """The files to render: ``source`` itself, or every audio file in the folder ``source``
    (then ``target`` and ``plot`` are folders and keep each file's name)."""
    if not source.exists():
        raise AudioFileError(f"{source}: no such file or folder")
    if not source.is_dir():
        return [RenderJob(source, target, plot)]
    files = sorted(p for p in source.iterdir() if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)
    if not files:
        raise AudioFileError(f"{source}: a folder with no audio files ({', '.join(AUDIO_SUFFIXES)})")
    if target.exists() and not target.is_dir():
        raise AudioFileError(f"{target}: INPUT is a folder, so -o must be a folder too")
    return [RenderJob(p, target / p.name, None if plot is None else plot / f"{p.stem}.png") for p in files]


def render_file(
    model: Any,
    metadata: dict[str, Any],
    job: RenderJob,
    sample_rate: int | None,
    block_size: int,
    mono: bool,
    knobs: list[KnobSetting],
    compensate_delay: bool,
    progress: Callable[[int, int], Callable[[int], None] | None] | None = None,
) -> str:
    """Read ``job.source``, resample it to the host rate (default: the file's), render it as
    a mono or stereo host, write ``job.target`` (and the plot); returns a one-line summary.

    Args:
        model: a loaded root module.
        metadata: its metadata (knob names and defaults).
        job: the files.
        sample_rate: host rate in Hz, None for the file's own rate.
        block_size: host buffer size in samples.
        mono: a mono host (else stereo).
        knobs: knob settings and sweeps.
        compensate_delay: remove the reported delay.
        progress: given the host samples and rate (Hz), returns a per-stretch callback (or None).
    """
    from neutone_core.tools.audio_io import read_audio, write_audio

    audio, file_rate = read_audio(job.source)
    host_rate = sample_rate or file_rate
    signal = host_signal(audio, file_rate, host_rate, mono)
    params = knob_curves(model.get_default_param_values(), knobs, signal.size(1)) if knobs else None
    on_progress = progress(signal.size(1), host_rate) if progress is not None else None
    out = render(model, signal, host_rate, block_size, params, compensate_delay, on_progress)
    job.target.parent.mkdir(parents=True, exist_ok=True)
    write_audio(job.target, out, host_rate)
    delay = model.calc_total_delay_samples()
    if job.plot is not None:
        from neutone_core.tools.plot import plot_render

        job.plot.parent.mkdir(parents=True, exist_ok=True)
        plot_render(job.plot, signal, out, host_rate, f"{metadata['model_name']}: {job.source.name}")
    host = "mono" if mono else "stereo"
    delay_note = "compensated" if compensate_delay else "kept"
    return (
        f"rendered {job.source} -> {job.target} ({host_rate} Hz, blocks of {block_size}, {host} host, "
        f"{signal.size(1) / host_rate:.2f} s, delay {delay} samples {delay_note})"
    )
