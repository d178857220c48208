"""What a model needs from the stream, and which needs an adapter can serve."""

from __future__ import annotations

from dataclasses import dataclass

from neutone_core.wrapper import WaveformToWaveformBase

NEEDS: tuple[str, ...] = ("channels", "sample_rate", "buffer_size")
"""Needs in nesting order, outermost first: Root -> channels -> sample_rate -> buffer_size -> model."""


@dataclass(frozen=True)
class ModelNeeds:
    """A model's native stream, as its wrapper declares it.

    Attributes:
        input_channels: channels ``do_forward_pass`` receives (1 or 2).
        output_channels: channels it returns (1 or 2).
        native_sample_rates: rates in Hz; empty = any.
        native_buffer_sizes: block sizes in samples; empty = any.
        look_behind_samples: past samples prepended to every block.
    """

    input_channels: int
    output_channels: int
    native_sample_rates: tuple[int, ...]
    native_buffer_sizes: tuple[int, ...]
    look_behind_samples: int

    @classmethod
    def of(cls, wrapper: WaveformToWaveformBase) -> ModelNeeds:
        """Read the needs from a wrapper's getters."""
        return cls(
            input_channels=1 if wrapper.is_input_mono() else 2,
            output_channels=1 if wrapper.is_output_mono() else 2,
            native_sample_rates=tuple(int(r) for r in wrapper.get_native_sample_rates()),
            native_buffer_sizes=tuple(int(s) for s in wrapper.get_native_buffer_sizes()),
            look_behind_samples=int(wrapper.get_look_behind_samples()),
        )

    def required(self) -> list[str]:
        """The needs some host setting could trigger, in nesting order.

        A host may be mono or stereo, so ``channels`` is always needed; ``sample_rate`` when
        the model names its rates; ``buffer_size`` when it names its sizes or looks behind.
        """
        needed = ["channels"]
        if self.native_sample_rates:
            needed.append("sample_rate")
        if self.native_buffer_sizes or self.look_behind_samples > 0:
            needed.append("buffer_size")
        return needed
