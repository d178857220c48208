"""What a stage needs from the stream outside it, and the host contract the outermost meets.

The planner folds from the model outward: the wrapper gives the innermost record, each
adapter that is needed wraps the chain and replaces the record with what it asks of the stage
outside it, and the outermost record must be :data:`HOST_STREAM`: any rate, any block size,
whatever channels the host sends, waveform, nothing else asked.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

ANY_CHANNELS = 0
"""Channel count meaning "what the host sends": 1 or 2, decided per call."""

WAVEFORM = "waveform"
"""The domain of audio samples; the host contract's domain."""


@dataclass(frozen=True)
class StreamNeeds:
    """What a stage requires from the stage outside it.

    Attributes:
        input_channels: channels the stage receives (1 or 2; :data:`ANY_CHANNELS` = either).
        output_channels: channels it returns (1 or 2; :data:`ANY_CHANNELS` = as many as it got).
        native_sample_rates: rates in Hz it runs at; empty = any.
        native_buffer_sizes: block sizes in samples it accepts; empty = any.
        look_behind_samples: past samples it wants before every block.
        domain: what a block holds: ``"waveform"`` or another domain an adapter converts
            (e.g. ``"spectrogram"``).
        extra: needs the core does not know, by name (e.g. ``{"dc_blocked": True}``); an adapter
            plugin serving a name removes it from the record it asks of its outer stage.
    """

    input_channels: int
    output_channels: int
    native_sample_rates: tuple[int, ...] = ()
    native_buffer_sizes: tuple[int, ...] = ()
    look_behind_samples: int = 0
    domain: str = WAVEFORM
    extra: dict[str, Any] = field(default_factory=dict)

    def with_changes(self, **changes: Any) -> StreamNeeds:
        """A copy with some fields changed (``extra`` replaced, not merged)."""
        return replace(self, **changes)

    def without_extra(self, name: str) -> StreamNeeds:
        """A copy without the extra need ``name`` (what an adapter serving it asks outside)."""
        return replace(self, extra={k: v for k, v in self.extra.items() if k != name})

    def describe(self) -> str:
        """One line for messages: channels, rates, sizes, look-behind, domain, extras."""

        def channels(n: int) -> str:
            return "any" if n == ANY_CHANNELS else ("mono" if n == 1 else "stereo")

        parts = [
            f"{channels(self.input_channels)}-in {channels(self.output_channels)}-out",
            f"rates {list(self.native_sample_rates) or 'any'}",
            f"blocks {list(self.native_buffer_sizes) or 'any'}",
        ]
        if self.look_behind_samples:
            parts.append(f"look-behind {self.look_behind_samples}")
        if self.domain != WAVEFORM:
            parts.append(f"domain {self.domain}")
        if self.extra:
            parts.append(f"extra {sorted(self.extra)}")
        return ", ".join(parts)


ModelNeeds = StreamNeeds
"""The record's name before the planner folded outward (factories registered with the old
form annotate with it); the same class."""


HOST_STREAM = StreamNeeds(ANY_CHANNELS, ANY_CHANNELS)
"""What the host offers: any rate, any block size, 1 or 2 channels, waveform."""


@dataclass(frozen=True)
class UnmetProperty:
    """A property of the outermost record the host does not offer.

    Attributes:
        need: the need that serves it (adapters register for needs by name).
        explanation: what the record asks, in words.
        first_party: the first-party distribution serving that need, if any.
    """

    need: str
    explanation: str
    first_party: str | None


FIRST_PARTY_DISTRIBUTIONS: dict[str, str] = {
    "channels": "mixer",
    "sample_rate": "resample",
    "buffer_size": "fifo",
    "domain": "stft",
    "stft": "stft",
}
"""Need -> first-party adapter (distribution ``neutone-adapter-<name>``, extra ``neutone[<name>]``),
named in the error when an installed plugin is missing. ``stft`` is the extra need in which a
spectral wrapper declares its STFT; the adapter serving the domain serves it too."""


def unmet_host_properties(needs: StreamNeeds) -> list[UnmetProperty]:
    """Every property of ``needs`` the host contract does not meet, with the need serving it."""
    unmet: list[tuple[str, str]] = []
    if needs.input_channels != ANY_CHANNELS or needs.output_channels != ANY_CHANNELS:
        unmet.append(("channels", f"{needs.describe().split(',')[0]} while hosts send mono or stereo"))
    if needs.native_sample_rates:
        unmet.append(("sample_rate", f"native sample rates {list(needs.native_sample_rates)} Hz"))
    if needs.native_buffer_sizes or needs.look_behind_samples:
        unmet.append(
            ("buffer_size", f"native buffer sizes {list(needs.native_buffer_sizes)}, look-behind {needs.look_behind_samples}")
        )
    if needs.domain != WAVEFORM:
        unmet.append(("domain", f"blocks in the {needs.domain} domain"))
    unmet.extend((name, f"extra need {name}={value!r}") for name, value in sorted(needs.extra.items()))
    return [UnmetProperty(need, explanation, FIRST_PARTY_DISTRIBUTIONS.get(need)) for need, explanation in unmet]
