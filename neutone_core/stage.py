"""The stage contract: how adapters nest around the model inside one scripted graph.

A stage wraps the stage inside it (``inner``). The root hands the outermost stage the host
stream; every stage converts on the way in, calls ``inner``, and converts back on the way
out. Every method below is TorchScript: the whole chain is scripted as one module.

Contract (all exported to TorchScript):

``configure(sample_rate, block_size, in_channels, out_channels, model_sample_rate, model_block_size)``
    The outer stream: ``sample_rate`` in Hz, ``block_size`` the largest block (samples) that
    ``forward`` will receive, ``in_channels`` the channels ``forward`` receives and
    ``out_channels`` the channels it must return. ``model_sample_rate`` and
    ``model_block_size`` are the host's requested native rate / size, 0 to let the stage
    choose. Allocates every buffer the stage needs, then configures ``inner`` with the
    stream the stage will hand it.
``set_block_pattern(numerator, denominator, offset)``
    Called after ``configure``: the outer promises that the samples it has handed in by
    the end of its k-th call (k = 1, 2, ...) total ``floor((k * numerator + offset) /
    denominator)``, each call at most ``block_size``. A host keeping its buffer size is
    ``(block_size, 1, 0)``. A stage that buffers (the FIFO) derives its least delay from
    it; a stage that changes block lengths (the resampler) tells its inner the pattern it
    produces; others pass it on unchanged.
``forward(x, params)``
    ``x`` ``(in_channels, n)`` with ``1 <= n <= block_size``, finite; ``params``
    ``(4, n)`` in 0..1. Returns ``(out_channels, n)``, which may be a view of the stage's own
    buffer, valid until the next call. Allocates no tensor memory in steady state.
``reset()``
    Clears the stage's state and the inner's.
``delay_samples()``
    Delay from input to output of this stage including everything inside it, in samples at
    the outer rate; exact, measured with an impulse.
``is_active()``
    Whether the stage converts anything for the configured stream (inactive = pass-through).
``underrun_count()``
    Output underruns (blocks partly filled with silence because the outer broke the
    promised block pattern) since ``configure``, this stage's and the inner's.
``describe()``
    One line for ``neutone inspect``: the stage's name and its configured choices.
``model_sample_rate()`` / ``model_block_size()`` / ``model_delay_samples()``
    What reaches the model: its rate (Hz), its block size (samples, without look-behind) and
    the delay the model itself declares (samples at its rate).
"""


from typing import Dict, List

import torch
from torch import Tensor, nn

from neutone_core.wrapper import WaveformToWaveformBase


class AdapterStage(nn.Module):
    """Base of an adapter stage: holds ``inner`` and answers the questions that pass through.

    Subclasses implement ``configure``, ``forward``, ``reset_state`` (their own state only) and
    ``delay_samples``, and set ``self.active`` in ``configure``.

    Args:
        inner: the stage this one wraps.
        stage_name: the adapter's registered name, shown by ``neutone inspect``.
    """

    def __init__(self, inner: nn.Module, stage_name: str) -> None:
        super().__init__()
        self.inner = inner
        self.stage_name = stage_name
        self.active = False

    @torch.jit.export
    def reset(self) -> None:
        """Clear this stage's state, then the inner's."""
        self.reset_state()
        self.inner.reset()

    @torch.jit.export
    def set_block_pattern(self, numerator: int, denominator: int, offset: int) -> None:
        """Blocks arrive as the pattern says (see module docs); by default the inner sees the same."""
        self.inner.set_block_pattern(numerator, denominator, offset)

    @torch.jit.export
    def is_active(self) -> bool:
        """Whether this stage converts anything for the configured stream."""
        return self.active

    @torch.jit.export
    def underrun_count(self) -> int:
        """Underruns since configure: none of this stage's own by default, plus the inner's."""
        return self.inner.underrun_count()

    @torch.jit.export
    def describe(self) -> str:
        """The stage's name; adapters add their configured choices."""
        return self.stage_name

    @torch.jit.export
    def model_sample_rate(self) -> int:
        """Sample rate (Hz) the model runs at for the configured stream."""
        return self.inner.model_sample_rate()

    @torch.jit.export
    def model_block_size(self) -> int:
        """Block size (samples) the model receives for the configured stream."""
        return self.inner.model_block_size()

    @torch.jit.export
    def model_delay_samples(self) -> int:
        """Delay the model itself declares, in samples at the model's rate."""
        return self.inner.model_delay_samples()


class ModelStage(nn.Module):
    """The innermost stage: aggregates the knobs and calls the wrapper's ``do_forward_pass``.

    Shape: x ``(in_channels, L + n)``, params ``(4, L + n)`` -> ``(out_channels, n)`` where
    ``L`` is the wrapper's look-behind (handed in by the FIFO adapter).
    """

    param_names: List[str]

    def __init__(self, wrapper: WaveformToWaveformBase) -> None:
        super().__init__()
        self.wrapper = wrapper
        self.stage_name = "model"
        self.param_names: List[str] = list(wrapper.neutone_parameter_names)
        self.model_in_channels = 1 if wrapper.is_input_mono() else 2
        self.model_out_channels = 1 if wrapper.is_output_mono() else 2
        self.look_behind_samples = int(wrapper.get_look_behind_samples())
        self.sample_rate = 0
        self.block_size = 0

    @torch.jit.export
    def configure(
        self,
        sample_rate: int,
        block_size: int,
        in_channels: int,
        out_channels: int,
        model_sample_rate: int,
        model_block_size: int,
    ) -> None:
        """Tell the wrapper the stream it will get (Hz, samples)."""
        if in_channels != self.model_in_channels or out_channels != self.model_out_channels:
            raise RuntimeError(
                "model stage configured for "
                + str(in_channels) + " -> " + str(out_channels)
                + " channels but the model is " + str(self.model_in_channels)
                + " -> " + str(self.model_out_channels) + "; the channels adapter is missing from the plan"
            )
        self.sample_rate = sample_rate
        self.block_size = block_size
        self.wrapper.prepare_param_aggregation(block_size + self.look_behind_samples, self.look_behind_samples)
        self.wrapper.set_model_sample_rate_and_buffer_size(sample_rate, block_size)

    @torch.jit.export
    def set_block_pattern(self, numerator: int, denominator: int, offset: int) -> None:
        """The model takes whatever block lengths arrive."""

    def forward(self, x: Tensor, params: Tensor) -> Tensor:
        """Run the wrapper on one block; checks the shape it returns."""
        aggregated = self.wrapper.aggregate_params(params)
        named: Dict[str, Tensor] = {}
        for i, name in enumerate(self.param_names):
            named[name] = aggregated[i]
        y = self.wrapper.do_forward_pass(x, named)
        n = x.size(1) - self.look_behind_samples
        if y.dim() != 2 or y.size(0) != self.model_out_channels or y.size(1) != n:
            raise RuntimeError(
                "do_forward_pass returned shape " + str(y.shape) + ", expected ["
                + str(self.model_out_channels) + ", " + str(n) + "] (out_channels, samples)"
            )
        return y

    @torch.jit.export
    def reset(self) -> None:
        """Clear the model's state through ``reset_model``."""
        self.wrapper.reset_model()

    @torch.jit.export
    def delay_samples(self) -> int:
        """The model's own declared delay, in samples at its rate."""
        return self.wrapper.calc_model_delay_samples()

    @torch.jit.export
    def is_active(self) -> bool:
        """The model always runs."""
        return True

    @torch.jit.export
    def underrun_count(self) -> int:
        """The model stage never underruns."""
        return 0

    @torch.jit.export
    def describe(self) -> str:
        """The model's configured rate and block size."""
        return "model: " + str(self.sample_rate) + " Hz, blocks of " + str(self.block_size) + " samples"

    @torch.jit.export
    def model_sample_rate(self) -> int:
        """Sample rate (Hz) the model was configured with."""
        return self.sample_rate

    @torch.jit.export
    def model_block_size(self) -> int:
        """Block size (samples) the model was configured with, without look-behind."""
        return self.block_size

    @torch.jit.export
    def model_delay_samples(self) -> int:
        """The model's own declared delay, in samples at its rate."""
        return self.wrapper.calc_model_delay_samples()
