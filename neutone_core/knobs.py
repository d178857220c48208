"""Knob values per model call: the default mean over a block, and the map to each knob's range.

:class:`KnobMean` averages in float64, so the mean of a constant knob is that constant
exactly, whatever the block length (a float32 product with ``1 / n`` weights is off by
up to a few units in the last place, which would make a model's output depend on how the
host splits the stream). :class:`KnobMapping` applies what each parameter declares
(``offset + scale * v``, rounded for categories). Both allocate nothing per call.
"""

from typing import List, Tuple

import torch
from torch import Tensor, nn

from neutone_core.parameters import MAX_N_PARAMS, KnobMapping


class KnobMean(nn.Module):
    """Mean of each knob over a block's new samples, ``(4, L + n) -> (4, 1)``.

    ``L`` (the look-behind, history the model sees again) is excluded. The float32 values are
    copied into a float64 buffer and multiplied by a column of ``1 / n`` (float64): every
    product and the sum stay within ``n * 2^-53`` of exact, so the result, rounded once to
    float32, is the exact mean's nearest float32 for a constant knob and within one rounding
    otherwise. The weights of the longest block and of the last two other lengths are kept,
    with the views of the buffers each length uses, so blocks alternating between lengths
    (470/471 behind a resampler) recompute nothing and make no view.
    """

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("samples64", torch.zeros(MAX_N_PARAMS, 0, dtype=torch.float64), persistent=False)
        self.register_buffer("samples_full", torch.zeros(MAX_N_PARAMS, 0, dtype=torch.float64), persistent=False)
        self.register_buffer("weights_full", torch.zeros(0, 1, dtype=torch.float64), persistent=False)
        self.register_buffer("weights_a", torch.zeros(0, 1, dtype=torch.float64), persistent=False)
        self.register_buffer("weights_b", torch.zeros(0, 1, dtype=torch.float64), persistent=False)
        self.register_buffer("samples_a", torch.zeros(MAX_N_PARAMS, 0, dtype=torch.float64), persistent=False)
        self.register_buffer("samples_b", torch.zeros(MAX_N_PARAMS, 0, dtype=torch.float64), persistent=False)
        self.register_buffer("column_a", torch.zeros(0, 1, dtype=torch.float64), persistent=False)
        self.register_buffer("column_b", torch.zeros(0, 1, dtype=torch.float64), persistent=False)
        self.register_buffer("mean64", torch.zeros(MAX_N_PARAMS, 1, dtype=torch.float64), persistent=False)
        self.register_buffer("mean", torch.zeros(MAX_N_PARAMS, 1), persistent=False)
        self.n_params = MAX_N_PARAMS
        self.look_behind = 0
        self.full_length = 0
        self.length_a = -1
        self.length_b = -1
        self.replace_a = True

    @torch.jit.export
    def configure(self, max_samples: int, look_behind_samples: int) -> None:
        """Allocate for calls of up to ``max_samples`` samples, the first
        ``look_behind_samples`` of them history."""
        self.look_behind = look_behind_samples
        longest = max(max_samples - look_behind_samples, 0)
        self.full_length = longest
        self.samples64 = torch.zeros(self.n_params, longest, dtype=torch.float64)
        self.samples_full = self.samples64.narrow(1, 0, longest)
        self.weights_full = torch.full((longest, 1), 1.0 / max(longest, 1), dtype=torch.float64)
        self.weights_a = torch.zeros(longest, 1, dtype=torch.float64)
        self.weights_b = torch.zeros(longest, 1, dtype=torch.float64)
        self.length_a = -1
        self.length_b = -1

    def _kept(self, n: int) -> Tuple[Tensor, Tensor]:
        """The ``(4, n)`` float64 samples and ``(n, 1)`` column of ``1 / n`` for a block shorter
        than the longest: one of the two pairs kept, or made in place of the older one."""
        if n == self.length_a:
            return self.samples_a, self.column_a
        if n == self.length_b:
            return self.samples_b, self.column_b
        samples = self.samples64.narrow(1, 0, n)
        if self.replace_a:
            self.length_a = n
            column = self.weights_a.narrow(0, 0, n)
            self.samples_a = samples
            self.column_a = column
        else:
            self.length_b = n
            column = self.weights_b.narrow(0, 0, n)
            self.samples_b = samples
            self.column_b = column
        self.replace_a = not self.replace_a
        column.fill_(1.0 / max(n, 1))
        return samples, column

    def forward(self, params: Tensor) -> Tensor:
        """``params`` ``(4, L + n)`` -> the mean of the last ``n`` columns, ``(4, 1)``."""
        n = params.size(1) - self.look_behind
        if n == self.full_length:
            samples = self.samples_full
            weights = self.weights_full
        else:
            samples, weights = self._kept(n)
        if self.look_behind == 0:
            samples.copy_(params)
        else:
            samples.copy_(params.narrow(1, self.look_behind, n))
        torch.mm(samples, weights, out=self.mean64)
        self.mean.copy_(self.mean64)
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
        full = k == self.mapped.size(1)
        mapped = self.mapped if full else self.mapped.narrow(1, 0, k)
        torch.addcmul(self.offsets, knobs, self.scales, out=mapped)
        if self.rounds:
            rounded = self.rounded if full else self.rounded.narrow(1, 0, k)
            torch.round(mapped, out=rounded)
            torch.where(self.rounded_rows, rounded, mapped, out=mapped)
        return mapped
