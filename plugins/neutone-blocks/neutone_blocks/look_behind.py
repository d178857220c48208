"""Prepend the last ``L`` samples of a stream to each new block (the past a causal kernel reads).

For blocks ``x_0, x_1, ...`` of a stream ``s``, call ``i`` returns ``s[t_i - L : t_i + n_i]``
where ``t_i`` is where block ``i`` starts; before the stream starts the past is zeros.
Shape: ``(..., n) -> (..., L + n)``.
"""

from typing import List

import torch
from torch import Tensor, nn


class LookBehind(nn.Module):
    """Stream memory of ``n_samples`` past samples along the last dimension.

    The returned tensor is a view of an internal buffer, valid until the next call. Buffers
    are allocated when the leading shape changes (which starts a new stream, zero past) or a
    longer block arrives; otherwise a call allocates nothing.

    Args:
        n_samples: ``L``, the look-behind length in samples (>= 0).
    """

    def __init__(self, n_samples: int) -> None:
        super().__init__()
        if n_samples < 0:
            raise ValueError(f"LookBehind(n_samples={n_samples}): the look-behind must be >= 0 samples")
        self.n_samples = n_samples
        self.register_buffer("history", torch.zeros(0, n_samples), persistent=False)
        self.register_buffer("window", torch.zeros(0, n_samples), persistent=False)

    @torch.jit.export
    def allocate(self, leading_shape: List[int], max_block_samples: int) -> None:
        """Allocate for blocks of shape ``leading_shape + [n]``, ``n <= max_block_samples``; zero past."""
        self.history = torch.zeros(leading_shape + [self.n_samples])
        self.window = torch.zeros(leading_shape + [self.n_samples + max_block_samples])

    @torch.jit.export
    def reset(self) -> None:
        """Forget the past: the next block is preceded by zeros."""
        self.history.zero_()

    def forward(self, x: Tensor) -> Tensor:
        """``(..., n) -> (..., L + n)``: the last ``L`` samples seen, then ``x``."""
        if self.n_samples == 0:
            return x
        n = x.size(-1)
        leading = list(x.shape[:-1])
        if leading != list(self.history.shape[:-1]):
            self.allocate(leading, n)
        elif n + self.n_samples > self.window.size(-1):
            history = self.history.clone()
            self.allocate(leading, n)
            self.history.copy_(history)
        window = self.window.narrow(-1, 0, self.n_samples + n)
        window.narrow(-1, 0, self.n_samples).copy_(self.history)
        window.narrow(-1, self.n_samples, n).copy_(x)
        self.history.copy_(window.narrow(-1, n, self.n_samples))
        return window
