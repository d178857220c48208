"""Knob values per model call: the default mean over a block, and the map to each knob's range.

:class:`KnobMean` sums in float64 and divides once, so the mean of a constant knob is that
constant exactly, whatever the block length (a float32 product with ``1 / n`` weights is off by
up to a few units in the last place, which would make a model's output depend on how the
host splits the stream). :class:`KnobMapping` applies what each parameter declares
(``offset + scale * v``, rounded for categories). Both allocate nothing per call.
"""

from typing import List

import torch
from torch import Tensor, nn

from neutone_core.parameters import MAX_N_PARAMS, KnobMapping


class KnobMean(nn.Module):
    """Mean of each knob over a block's new samples, ``(4, L + n) -> (4, 1)``.

    ``L`` (the look-behind, history the model sees again) is excluded. The float32 values are
    copied into a float64 buffer, summed there (exact for blocks up to 2**29 samples of values
    in 0..1) and divided by ``n`` (one rounding), then rounded once to float32.
    """

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("samples64", torch.zeros(MAX_N_PARAMS, 0, dtype=torch.float64), persistent=False)
        self.register_buffer("full_view", torch.zeros(MAX_N_PARAMS, 0, dtype=torch.float64), persistent=False)
        self.register_buffer("sum64", torch.zeros(MAX_N_PARAMS, 1, dtype=torch.float64), persistent=False)
        self.register_buffer("count64", torch.ones(1, dtype=torch.float64), persistent=False)
        self.register_buffer("mean", torch.zeros(MAX_N_PARAMS, 1), persistent=False)
        self.n_params = MAX_N_PARAMS
        self.look_behind = 0
        self.full_block = 0
        self.count = 1

    @torch.jit.export
    def configure(self, max_samples: int, look_behind_samples: int) -> None:
        """Allocate for calls of up to ``max_samples`` samples, the first
        ``look_behind_samples`` of them history."""
        self.look_behind = look_behind_samples
        self.full_block = max_samples - look_behind_samples
        self.samples64 = torch.zeros(self.n_params, max(self.full_block, 0), dtype=torch.float64)
        self.full_view = self.samples64.narrow(1, 0, max(self.full_block, 0))
        self.count = max(self.full_block, 1)
        self.count64.fill_(self.count)

    def forward(self, params: Tensor) -> Tensor:
        """``params`` ``(4, L + n)`` -> the mean of the last ``n`` columns, ``(4, 1)``."""
        n = params.size(1) - self.look_behind
        if n == self.full_block:
            samples = self.full_view
        else:
            samples = self.samples64.narrow(1, 0, n)
        if n != self.count:
            self.count = n
            self.count64.fill_(max(n, 1))
        if self.look_behind == 0:
            samples.copy_(params)
        else:
            samples.copy_(params.narrow(1, self.look_behind, n))
        torch.sum(samples, [1], True, out=self.sum64)
        torch.div(self.sum64, self.count64, out=self.sum64)
        self.mean.copy_(self.sum64)
        return self.mean


class KnobMap(nn.Module):
    """Maps host knob values (0..1) to what each declared knob gives the model:
    ``offset + scale * v``, rounded for categorical knobs. Shape: ``(4, k) -> (4, k)``.

    Args:
        mappings: one :class:`~neutone_core.parameters.KnobMapping` per knob slot (4).
    """

    def __init__(self, mappings: List[KnobMapping]) -> None:
        super().__init__()
        if len(mappings) != MAX_N_PARAMS:
            raise ValueError(f"KnobMap needs {MAX_N_PARAMS} mappings, got {len(mappings)}")
        self.identity = all(m.is_identity for m in mappings)
        self.rounds = any(m.rounded for m in mappings)
        self.register_buffer("offsets", torch.tensor([[m.offset] for m in mappings]), persistent=False)
        self.register_buffer("scales", torch.tensor([[m.scale] for m in mappings]), persistent=False)
        self.register_buffer("rounded_rows", torch.tensor([[m.rounded] for m in mappings]), persistent=False)
        self.register_buffer("mapped", torch.zeros(MAX_N_PARAMS, 0), persistent=False)
        self.register_buffer("rounded", torch.zeros(MAX_N_PARAMS, 0), persistent=False)
        self.n_params = MAX_N_PARAMS

    @torch.jit.export
    def configure(self, max_columns: int) -> None:
        """Allocate for knob blocks of up to ``max_columns`` columns (1 for the mean)."""
        columns = 0 if self.identity else max_columns
        self.mapped = torch.zeros(self.n_params, columns)
        self.rounded = torch.zeros(self.n_params, columns if self.rounds else 0)

    def forward(self, knobs: Tensor) -> Tensor:
        """Map ``knobs`` ``(4, k)``; the identity returns them unchanged."""
        if self.identity:
            return knobs
        k = knobs.size(1)
        if k > self.mapped.size(1):
            raise RuntimeError(
                "knob block of "
                + str(k)
                + " columns: configured for "
                + str(self.mapped.size(1))
                + "; aggregate_params must return at most as many columns as it was given"
            )
        mapped = self.mapped.narrow(1, 0, k)
        torch.addcmul(self.offsets, knobs, self.scales, out=mapped)
        if self.rounds:
            rounded = self.rounded.narrow(1, 0, k)
            torch.round(mapped, out=rounded)
            torch.where(self.rounded_rows, rounded, mapped, out=mapped)
        return mapped
