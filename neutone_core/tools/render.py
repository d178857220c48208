"""Render audio through a model exactly as a host does, with knob settings and sweeps.

Every sample goes through :func:`neutone_core.tools.host.stream` (configure once, then block after
block, each ``block_size`` samples but the last); a file is read, converted, rendered, written and
summed up for its plot a few seconds at a time (:mod:`neutone_core.tools.host_file`), so memory does not grow
with its length.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from neutone_core.errors import AudioFileError, HostSettingError
from neutone_core.parameters import MAX_N_PARAMS
from neutone_core.tools.audio_io import AUDIO_SUFFIXES, AudioWriter
from neutone_core.tools.host import configure, stream
from neutone_core.tools.host_file import host_chunks, host_layout, offline_converter, open_host_file


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
    used = used_knobs(metadata)
    for i in range(MAX_N_PARAMS):
        key = f"p{i + 1}"
        if key in used and name in (key, used[key]["name"]):
            start_text, colon, end_text = value.partition(":")
            start = _knob_value(start_text, spec)
            end = _knob_value(end_text, spec) if colon else start
            return KnobSetting(i, used[key]["name"], start, end)
    knobs = ", ".join(p["name"] for p in used.values()) or "none"
    raise HostSettingError(f"--param {spec}: the model has no knob {name!r}; its knobs are: {knobs}")


def used_knobs(metadata: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The model's declared knobs by slot (``"p1"``..``"p4"``), in slot order."""
    return {key: p for key, p in sorted(metadata["neutone_parameters"].items()) if p.get("used")}


class KnobCurves:
    """Knob values (0..1, as the host sends them) for any span of a render's host samples: each
    knob's default (``defaults`` ``(4, 1)``, the root's ``get_default_param_values()``) unless
    held or swept over ``n_samples`` by a :class:`KnobSetting`; past the end each holds its
    last value."""

    def __init__(self, defaults: Tensor, settings: list[KnobSetting], n_samples: int) -> None:
        self.defaults = defaults.reshape(MAX_N_PARAMS, 1).to(torch.float32)
        self.settings = settings
        self.last_sample = max(1, n_samples - 1)

    def span(self, start: int, end: int) -> Tensor:
        """The knobs for host samples ``start .. end``: ``(4, end - start)``."""
        curves = self.defaults.repeat(1, end - start)
        position = (torch.arange(start, end, dtype=torch.float64) / self.last_sample).clamp(max=1.0)
        for setting in self.settings:
            curves[setting.index] = (setting.start + (setting.end - setting.start) * position).to(torch.float32)
        return curves


def host_signal(audio: Tensor, file_rate: int, host_rate: int, mono: bool) -> Tensor:
    """What the host sends: ``audio`` ``(channels, n)`` at ``file_rate`` Hz laid out for a mono
    (1) or stereo (2 channels) host and converted to ``host_rate``, whole."""
    audio = host_layout(audio, mono)
    if file_rate == host_rate:
        return audio
    return offline_converter(file_rate, host_rate)(audio, file_rate, host_rate)


class HostStream:
    """Feeds a configured root module host blocks of ``block_size`` samples from pieces of any
    length, keeping the remainder for the next piece, with the knobs of each sample.

    Args:
        model: a root module configured for ``sample_rate`` and ``block_size``.
        sample_rate: host rate in Hz.
        block_size: host buffer size in samples.
        knobs: gives the knobs ``(4, m)`` for host samples ``start .. end``, or None for the
            model's defaults.
    """

    def __init__(self, model: Any, sample_rate: int, block_size: int, knobs: Callable[[int, int], Tensor] | None) -> None:
        self.model = model
        self.sample_rate = sample_rate
        self.block_size = block_size
        self.knobs = knobs
        self.pending: Tensor | None = None
        self.position = 0

    def _run(self, audio: Tensor) -> Tensor:
        end = self.position + audio.size(1)
        params = None if self.knobs is None else self.knobs(self.position, end)
        self.position = end
        return stream(self.model, audio, self.sample_rate, self.block_size, params, self.block_size, reset=False)

    def push(self, audio: Tensor) -> Tensor:
        """Append ``audio`` ``(channels, m)``; the output of the whole blocks now complete."""
        if self.pending is not None:
            audio = torch.cat([self.pending, audio], dim=1)
        whole = audio.size(1) - audio.size(1) % self.block_size
        self.pending = audio[:, whole:]
        return self._run(audio[:, :whole])

    def finish(self, silence: int = 0) -> Tensor:
        """Append ``silence`` zero samples and run what is left (the last block may be short)."""
        rest = self.pending if self.pending is not None else torch.zeros(0, 0)
        self.pending = None
        if silence:
            rest = torch.cat([rest, rest.new_zeros(rest.size(0), silence)], dim=1)
        return self._run(rest)


def render(
    model: Any,
    audio: Tensor,
    sample_rate: int,
    block_size: int,
    params: Tensor | None = None,
    compensate_delay: bool = False,
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
    """
    reported = configure(model, sample_rate, block_size, audio.size(0))
    delay = reported if compensate_delay else 0
    knobs = None
    if params is not None:
        padded = torch.cat([params, params[:, -1:].expand(MAX_N_PARAMS, delay)], dim=1)

        def knobs(start: int, end: int) -> Tensor:
            return padded[:, start:end]

    host = HostStream(model, sample_rate, block_size, knobs)
    out = torch.cat([host.push(audio), host.finish(delay)], dim=1)
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


def knob_summary(metadata: dict[str, Any], curves: KnobCurves, knobs: list[KnobSetting]) -> str:
    """``"min 0.50, max 0.00->1.00 (swept), gain 0.50"``: every declared knob as the host sends it."""
    swept = {k.index: k for k in knobs}
    parts = []
    for key, knob in used_knobs(metadata).items():
        index = int(key[1:]) - 1
        if index in swept and swept[index].start != swept[index].end:
            parts.append(f"{knob['name']} {swept[index].start:.2f}->{swept[index].end:.2f}")
        else:
            parts.append(f"{knob['name']} {float(curves.span(0, 1)[index, 0]):.2f}")
    return ", ".join(parts)


PROGRESS_SPAN = 1 << 16
"""Host samples rendered between two progress updates (about 1.4 s at 48 kHz)."""


def _render_pieces(
    model: Any, pieces: Iterator[Tensor], sample_rate: int, block_size: int, curves: KnobCurves, delay: int
) -> Iterator[tuple[Tensor, Tensor]]:
    """``(input span, output span)`` pairs, :data:`PROGRESS_SPAN` input samples at most: the
    output as it comes, less its first ``delay`` samples (the input followed by that much
    silence); the last input span may be empty."""
    host = HostStream(model, sample_rate, block_size, curves.span)
    to_drop = delay
    for piece in pieces:
        for span in piece.split(PROGRESS_SPAN, dim=1):
            out = host.push(span)
            dropped = min(to_drop, out.size(1))
            to_drop -= dropped
            yield span, out[:, dropped:]
    yield torch.zeros(0, 0), host.finish(delay)[:, to_drop:]


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
    on_step: Callable[[str], None] | None = None,
) -> str:
    """Stream ``job.source`` through ``model`` at the host rate (default: the file's) as a mono
    or stereo host, writing ``job.target`` (and the plot) as it goes; a one-line summary.

    Args:
        model: a loaded root module.
        metadata: its metadata (knob names and defaults).
        job: the files.
        sample_rate: host rate in Hz, None for the file's own rate.
        block_size: host buffer size in samples.
        mono: a mono host (else stereo).
        knobs: knob settings and sweeps.
        compensate_delay: remove the reported delay.
        progress: given the host samples and rate (Hz), returns a callback taking the host
            samples of each rendered span (or None).
        on_step: hears the step that follows the render (``"drawing PLOT"``).
    """
    source = open_host_file(job.source, sample_rate, mono)
    rate, n_samples = source.host_rate, source.host_frames
    delay = configure(model, rate, block_size, source.channels)
    curves = KnobCurves(model.get_default_param_values(), knobs, n_samples)
    host = "mono" if mono else "stereo"
    picture = None
    if job.plot is not None:
        from neutone_core.tools.plot import RenderPicture

        setting = f"host {rate} Hz, blocks of {block_size}, {host}"
        knob_text = knob_summary(metadata, curves, knobs)
        title = f"{metadata['model_name']}: {job.source.name} | {setting}" + (f" | {knob_text}" if knob_text else "")
        names = {int(key[1:]) - 1: knob["name"] for key, knob in used_knobs(metadata).items()}
        picture = RenderPicture(n_samples, rate, title, names)
    on_progress = progress(n_samples, rate) if progress is not None else None
    chunks = host_chunks(source)
    job.target.parent.mkdir(parents=True, exist_ok=True)
    partial = job.target.with_name(f".{job.target.stem}.partial{job.target.suffix}")
    position = 0
    try:
        with AudioWriter(partial, rate, source.channels) as writer:
            for piece, out in _render_pieces(model, chunks, rate, block_size, curves, delay if compensate_delay else 0):
                writer.write(out)
                if picture is not None:
                    picture.add(piece, out, curves.span(position, position + piece.size(1)))
                position += piece.size(1)
                if on_progress is not None and piece.size(1):
                    on_progress(piece.size(1))
        partial.replace(job.target)  # a render that fails leaves no half-written file
    finally:
        partial.unlink(missing_ok=True)
    if picture is not None and job.plot is not None:
        if on_step is not None:
            on_step(f"drawing {job.plot}")
        job.plot.parent.mkdir(parents=True, exist_ok=True)
        picture.save(job.plot)
    delay_note = "compensated" if compensate_delay else "kept"
    return (
        f"rendered {job.source} -> {job.target} ({rate} Hz, blocks of {block_size}, {host} host, "
        f"{n_samples / rate:.2f} s, delay {delay} samples {delay_note})"
    )
