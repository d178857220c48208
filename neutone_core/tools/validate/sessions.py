"""Random host sessions: what a DAW may do to a model, as lists of host calls.

A session starts with ``set_daw_sample_rate_and_buffer_size`` and sends a few blocks: rates
8000..192000 Hz (common ones, odd ones such as 44101 and any integer in between), buffer sizes
1..8192, mono and stereo, blocks shorter than announced, empty and longer than announced,
knobs or none, ``forward`` and ``forward_bt``, ``reset()`` at random points and the setting
changed again mid-stream. Every session is rebuilt from ``(seed, index)`` alone
(:func:`host_session`), so a failure names the calls that reproduce it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from neutone_core.tools.native.session import N_PARAMS, Configure, HostCall, Process, Reset, describe_call
from neutone_core.tools.validate.report import Reproduction

COMMON_SAMPLE_RATES = (8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000, 88200, 96000, 176400, 192000)
ODD_SAMPLE_RATES = (44101, 47999, 12345, 96001, 191999)
LOWEST_SAMPLE_RATE = 8000
HIGHEST_SAMPLE_RATE = 192000
"""Host rates (Hz): common and odd ones, or any integer in this range."""

COMMON_BUFFER_SIZES = (32, 64, 128, 256, 441, 480, 512, 1000, 1024, 2048, 4096)
EXTREME_BUFFER_SIZES = (1, 2, 3, 7, 8191, 8192)
LARGEST_BUFFER_SIZE = 8192
"""Host buffer sizes (samples): what DAWs offer, the extremes, or any in 1..8192."""

BLOCKS_PER_SESSION = (3, 8)
"""Fewest and most blocks a session sends (fewer for very large buffers)."""

SESSION_SEED_STREAM = 0
"""Seed stream of :func:`host_session` (other sequences draw from other streams of the seed)."""


@dataclass
class HostSequence:
    """Host calls, what is special about some of them, and how to rebuild them.

    Attributes:
        name: e.g. ``"host session 17"``.
        regenerate: the call that rebuilds it (a function of a module of this package), e.g.
            ``"sessions.host_session(seed=0, index=17)"``.
        calls: the host calls, in order.
        notes: call index -> what its content is (``"NaN audio"``), shown with the call.
    """

    name: str
    regenerate: str
    calls: list[HostCall] = field(default_factory=list)
    notes: dict[int, str] = field(default_factory=dict)

    def add(self, call: HostCall, note: str = "") -> int:
        """Append a call (with an optional note); its index."""
        self.calls.append(call)
        if note:
            self.notes[len(self.calls) - 1] = note
        return len(self.calls) - 1

    def describe(self, index: int) -> str:
        """Call ``index`` as the host makes it, with its note."""
        note = self.notes.get(index)
        return describe_call(self.calls[index]) + (f" [{note}]" if note else "")

    def reproduction(self, seed: int, failing_call: int) -> Reproduction:
        """The calls up to ``failing_call`` for a report."""
        calls = tuple(self.describe(index) for index in range(min(failing_call + 1, len(self.calls))))
        return Reproduction(seed, self.name, self.regenerate, calls, failing_call)


def sequence_rng(seed: int, stream: int, index: int) -> np.random.Generator:
    """The random generator of sequence ``index`` of a check's ``stream``, from the validation seed."""
    return np.random.default_rng([seed, stream, index])


def random_sample_rate(rng: np.random.Generator) -> int:
    """A host rate (Hz): half the time a common one, else an odd one or any integer in range."""
    pick = rng.random()
    if pick < 0.5:
        return int(rng.choice(COMMON_SAMPLE_RATES))
    if pick < 0.75:
        return int(rng.choice(ODD_SAMPLE_RATES))
    return int(rng.integers(LOWEST_SAMPLE_RATE, HIGHEST_SAMPLE_RATE + 1))


def random_buffer_size(rng: np.random.Generator) -> int:
    """A host buffer size (samples): mostly what DAWs offer, sometimes an extreme or any in 1..8192."""
    pick = rng.random()
    if pick < 0.45:
        return int(rng.choice(COMMON_BUFFER_SIZES))
    if pick < 0.65:
        return int(rng.integers(32, LARGEST_BUFFER_SIZE + 1))
    if pick < 0.85:
        return int(np.exp(rng.uniform(0.0, np.log(LARGEST_BUFFER_SIZE + 1))))
    return int(rng.choice(EXTREME_BUFFER_SIZES))


def random_setting(rng: np.random.Generator) -> tuple[int, int]:
    """A host setting: ``(rate Hz, buffer size samples)``."""
    return random_sample_rate(rng), random_buffer_size(rng)


def noise(rng: np.random.Generator, channels: int, samples: int, peak: float = 1.0) -> np.ndarray:
    """Uniform noise in ``-peak..peak``, float32 ``(channels, samples)``."""
    return (rng.random((channels, samples), dtype=np.float32) * 2 - 1) * np.float32(peak)


def random_knobs(rng: np.random.Generator, samples: int) -> np.ndarray | None:
    """Knobs for one block: random per sample, held per block, or none sent (None)."""
    pick = rng.random()
    if pick < 0.2:
        return None
    if pick < 0.35:
        return np.repeat(rng.random((N_PARAMS, 1), dtype=np.float32), samples, axis=1)
    return rng.random((N_PARAMS, samples), dtype=np.float32)


def block_length(rng: np.random.Generator, buffer_size: int) -> int:
    """A block's length for an announced ``buffer_size``: mostly the size itself, else shorter,
    empty, or longer than announced (a host may break its promise)."""
    pick = rng.random()
    if pick < 0.65:
        return buffer_size
    if pick < 0.85:
        return int(rng.integers(1, buffer_size + 1))
    if pick < 0.88:
        return 0
    return int(rng.integers(buffer_size + 1, 3 * buffer_size + 2))


def host_session(seed: int, index: int) -> HostSequence:
    """Random host session ``index`` of ``seed``: a setting, blocks, resets and setting changes."""
    rng = sequence_rng(seed, SESSION_SEED_STREAM, index)
    session = HostSequence(f"host session {index}", f"sessions.host_session(seed={seed}, index={index})")
    sample_rate, buffer_size = random_setting(rng)
    session.add(Configure(sample_rate, buffer_size))
    channels = int(rng.integers(1, 3))
    fewest, most = BLOCKS_PER_SESSION
    blocks = int(rng.integers(fewest, most + 1)) if buffer_size <= 2048 else fewest
    for _ in range(blocks):
        event = rng.random()
        if event < 0.1:
            session.add(Reset())
        elif event < 0.18:
            sample_rate, buffer_size = random_setting(rng)
            session.add(Configure(sample_rate, buffer_size))
        if rng.random() < 0.1:
            channels = 3 - channels
        samples = block_length(rng, buffer_size)
        audio = noise(rng, channels, samples, float(rng.uniform(0.05, 1.0)))
        method = "forward_bt" if rng.random() < 0.5 else "forward"
        session.add(Process(audio, random_knobs(rng, samples), method))
    return session
