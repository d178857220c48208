r"""A fixed linear filter in state-space form, run a chunk of samples per matrix product.

For ``s_{t+1} = A s_t + b x_t``, ``y_t = c·s_t + d x_t`` and chunks of ``L`` samples, the
output of a chunk is ``T x + O s`` and the state after it ``A^L s + K x``, with the zero-state
response ``T[i, j] = c A^{i-j-1} b`` (``d`` on the diagonal), ``O[i] = c A^i`` and
``K[:, j] = A^{L-1-j} b``. The states at the starts of the ``m`` chunks of a block follow in
closed form, ``S_k = A^{kL} s + Σ_{j<k} A^{(k-1-j)L} K x_j``, so a block of ``n = mL + r``
samples costs a handful of matrix products and no loop over samples or chunks. Tables are
computed in float64 at configure time, for blocks up to a maximum that grows on demand.
Shape: ``(channels, n) -> (channels, n)``.
"""

from typing import List

import torch
from torch import Tensor, nn


def chunk_tables(a: Tensor, b: Tensor, c: Tensor, d: float, chunk: int, max_chunks: int) -> List[Tensor]:
    """``[T (L, L), O (L, N), K (N, L), powers A^r (L + 1, N, N), P (N, N·(M+1)), Q (N·M, N·(M+1))]``
    for a state of size ``N``, chunks of ``L`` samples and up to ``M`` chunks per block, where
    ``S = s P + vec(K x_j) Q`` stacks the chunk-start states."""
    a, b, c = a.double(), b.double(), c.double()
    n_states = a.size(0)
    powers = [torch.eye(n_states, dtype=torch.float64)]
    for _ in range(chunk):
        powers.append(a @ powers[-1])
    stacked = torch.stack(powers)
    observed = stacked[:chunk] @ b  # A^k b
    response = torch.zeros(chunk, chunk, dtype=torch.float64)
    impulse = torch.cat([torch.tensor([d], dtype=torch.float64), observed[: chunk - 1] @ c])
    for lag in range(chunk):
        response.diagonal(-lag).fill_(float(impulse[lag]))
    outputs = c @ stacked[:chunk]  # (L, N): c A^i
    inputs = observed.flip(0).t()  # (N, L): A^{L-1-j} b
    step = stacked[chunk]
    chunk_powers = [torch.eye(n_states, dtype=torch.float64)]
    for _ in range(max_chunks):
        chunk_powers.append(step @ chunk_powers[-1])
    starts = torch.cat([p.t() for p in chunk_powers], 1)  # (N, N·(M+1)): s -> every S_k
    carries = torch.zeros(n_states * max_chunks, n_states * (max_chunks + 1), dtype=torch.float64)
    for k in range(1, max_chunks + 1):
        for j in range(k):
            carries[j * n_states : (j + 1) * n_states, k * n_states : (k + 1) * n_states] = chunk_powers[k - 1 - j].t()
    return [t.float().contiguous() for t in [response, outputs, inputs, stacked, starts, carries]]


class StateSpaceFilter(nn.Module):
    """Streaming fixed linear filter ``(A, b, c, d)`` (see the module docs); state kept across calls.

    Args:
        chunk_samples: ``L``, samples per chunk product (the tables hold ``L²`` entries).
    """

    def __init__(self, chunk_samples: int = 128) -> None:
        super().__init__()
        self.chunk = chunk_samples
        self.max_chunks = 0
        self.d = 0.0
        for name in ("a", "b", "c", "response", "outputs", "inputs", "powers", "starts", "carries"):
            self.register_buffer(name, torch.zeros(0), persistent=False)
        self.register_buffer("state", torch.zeros(0, 0), persistent=False)
        self.register_buffer("chunk_states", torch.zeros(0), persistent=False)
        self.register_buffer("chunk_inputs", torch.zeros(0), persistent=False)
        self.register_buffer("output", torch.zeros(0), persistent=False)

    @torch.jit.export
    def set_coefficients(self, a: Tensor, b: Tensor, c: Tensor, d: float, max_block_samples: int) -> None:
        """Use ``s' = A s + b x``, ``y = c·s + d x`` (``A`` ``(N, N)``); tables for blocks up to
        ``max_block_samples``. The state is kept when its size is unchanged."""
        self.a, self.b, self.c, self.d = a.clone(), b.clone(), c.clone(), d
        self.max_chunks = max(1, max_block_samples // self.chunk)
        tables = chunk_tables(a, b, c, d, self.chunk, self.max_chunks)
        self.response, self.outputs, self.inputs, self.powers, self.starts, self.carries = (
            tables[0], tables[1], tables[2], tables[3], tables[4], tables[5]
        )

    @torch.jit.export
    def reset(self) -> None:
        """Zero state: the filter continues from silence."""
        self.state.zero_()

    def forward(self, x: Tensor) -> Tensor:
        """Filter the next block ``(channels, n)``; returns a view valid until the next call."""
        channels, n = x.size(0), x.size(1)
        n_states = self.a.size(0)
        if channels != self.state.size(0) or n_states != self.state.size(1):
            self.state = torch.zeros(channels, n_states)
        if n // self.chunk > self.max_chunks:
            self.set_coefficients(self.a, self.b, self.c, self.d, n)
        if channels * n > self.output.numel():
            self.output = torch.zeros(channels * n)
            self.chunk_inputs = torch.zeros(channels * n_states * (n // self.chunk + 1))
            self.chunk_states = torch.zeros(channels * n_states * (n // self.chunk + 1))
        m, r = n // self.chunk, n % self.chunk
        full = m * self.chunk
        output = self.output.narrow(0, 0, channels * n).view(channels, n)
        states = self.chunk_states.narrow(0, 0, channels * n_states * (m + 1)).view(channels, m + 1, n_states)
        torch.mm(self.state, self.starts.narrow(1, 0, n_states * (m + 1)), out=states.view(channels, -1))
        if m > 0:
            inputs = self.chunk_inputs.narrow(0, 0, channels * n_states * m).view(channels, m, n_states)
            response_t, inputs_t, outputs_t = self.response.t(), self.inputs.t(), self.outputs.t()
            for channel in range(channels):
                chunks = x[channel].narrow(0, 0, full).view(m, self.chunk)
                out_chunks = output[channel].narrow(0, 0, full).view(m, self.chunk)
                torch.mm(chunks, response_t, out=out_chunks)
                torch.mm(chunks, inputs_t, out=inputs[channel])
            carried = self.carries.narrow(0, 0, n_states * m).narrow(1, 0, n_states * (m + 1))
            states.view(channels, -1).addmm_(inputs.view(channels, -1), carried)
            for channel in range(channels):
                output[channel].narrow(0, 0, full).view(m, self.chunk).addmm_(states[channel].narrow(0, 0, m), outputs_t)
        last = states[:, m]
        if r > 0:
            tail_in, tail_out = x.narrow(1, full, r), output.narrow(1, full, r)
            for channel in range(channels):
                torch.mv(self.response.narrow(0, 0, r).narrow(1, 0, r), tail_in[channel], out=tail_out[channel])
                tail_out[channel].addmv_(self.outputs.narrow(0, 0, r), last[channel])
            torch.mm(last, self.powers[r].t(), out=self.state)
            self.state.addmm_(tail_in, self.inputs.narrow(1, self.chunk - r, r).t())
        else:
            self.state.copy_(last)
        return output
