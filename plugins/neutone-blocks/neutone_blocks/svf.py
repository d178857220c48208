r"""State-variable filter with per-sample cutoff, resonance and mix (trapezoidal, zero-delay feedback).

With ``g = tan(π f_c / f_s)`` and damping ``k = 1 / resonance`` (Zavalishin, *The Art of VA
Filter Design*, ch. 4; Wishnick 2014), per sample ``hp = (x - (g + k) s1 - s2) / (1 + g(g + k))``,
``bp = g·hp + s1``, ``lp = g·bp + s2``, then ``s1 ← 2bp - s1``, ``s2 ← 2lp - s2``; the output is
``mix_bp·k·bp + mix_lp·lp + mix_hp·hp`` (band-pass at unit peak gain). For fixed coefficients
this is the bilinear transform of ``H(s) = (mix_hp s² + mix_bp k ω s + mix_lp ω²) / (s² + k ω s + ω²)``.

The recursion is a time-varying affine map per sample, ``s_{t+1} = A_t s_t + b_t x_t``; a block
composes them with a Hillis-Steele prefix scan (``⌈log2 n⌉`` batched steps, no per-sample loop)
into preallocated buffers. Coefficients are stored as planes ``(..., channels, n)`` so every
step is a contiguous elementwise op. Shape: ``(channels, n) -> (channels, n)``.
"""

import torch
from torch import Tensor, nn


def svf_rows(g: Tensor, k: Tensor, rows: Tensor, one: Tensor) -> None:
    """Write ``hp``, ``bp``, ``lp`` as rows of coefficients on ``(s1, s2, x)``: ``rows`` ``(3, 3, ch, n)``
    from ``g``, ``k`` ``(ch, n)``; ``one`` is a 0-dim tensor holding 1."""
    hp_s1, hp_s2, hp_x = rows[0, 0], rows[0, 1], rows[0, 2]
    torch.add(g, k, out=hp_s1)
    torch.mul(hp_s1, g, out=hp_x)
    hp_x.add_(one).reciprocal_()
    hp_s1.mul_(hp_x).neg_()
    torch.neg(hp_x, out=hp_s2)
    torch.mul(rows[0], g, out=rows[1])
    rows[1, 0].add_(one)
    torch.mul(rows[1], g, out=rows[2])
    rows[2, 1].add_(one)


def svf_maps(rows: Tensor, maps: Tensor, two: Tensor, state_identity: Tensor) -> None:
    """State update ``[A | b]`` ``(2, 3, ch, n)`` from the rows: ``s1' = 2bp - s1``, ``s2' = 2lp - s2``;
    ``state_identity`` is ``[[1, 0, 0], [0, 1, 0]]`` shaped ``(2, 3, 1, 1)``."""
    torch.mul(rows[1:], two, out=maps)
    maps.sub_(state_identity)


def svf_output_row(rows: Tensor, k: Tensor, mix: Tensor, band_weight: Tensor, output_row: Tensor) -> None:
    """Output coefficients on ``(s1, s2, x)`` ``(3, ch, n)`` for ``mix`` ``(3, ch, n)`` = (band, low,
    high); ``band_weight`` ``(ch, n)`` is scratch."""
    torch.mul(rows[0], mix[2], out=output_row)
    output_row.addcmul_(rows[2], mix[1])
    torch.mul(mix[0], k, out=band_weight)
    output_row.addcmul_(rows[1], band_weight)


def svf_run(x: Tensor, maps: Tensor, output_row: Tensor, state: Tensor, scratch: Tensor, states: Tensor, out: Tensor) -> None:
    """Filter ``x`` ``(ch, n)`` given per-sample ``maps`` ``(2, 3, ch, n)`` (their ``b`` column still
    unscaled by ``x``) and ``output_row`` ``(3, ch, n)``; ``state`` ``(2, ch)`` is advanced.
    ``maps`` and ``scratch`` (same shape) are overwritten; ``states`` ``(2, ch, n)``; ``out`` ``(ch, n)``."""
    n = x.size(1)
    maps[:, 2].mul_(x)
    current, spare = maps, scratch
    span = 1
    while span < n:
        later, earlier = current.narrow(3, span, n - span), current.narrow(3, 0, n - span)
        composed = spare.narrow(3, span, n - span)
        torch.mul(later[:, 0:1], earlier[0:1], out=composed)
        composed.addcmul_(later[:, 1:2], earlier[1:2])
        composed[:, 2].add_(later[:, 2])
        spare.narrow(3, 0, span).copy_(current.narrow(3, 0, span))
        current, spare = spare, current
        span *= 2
    s1, s2 = state[0].unsqueeze(-1), state[1].unsqueeze(-1)
    states[:, :, 0].copy_(state)
    if n > 1:
        before = current.narrow(3, 0, n - 1)
        after = states.narrow(2, 1, n - 1)
        torch.addcmul(before[:, 2], before[:, 0], s1, out=after)
        after.addcmul_(before[:, 1], s2)
    last = current.narrow(3, n - 1, 1)
    final = spare[:, 0].narrow(2, 0, 1)
    torch.addcmul(last[:, 2], last[:, 0], s1, out=final)
    final.addcmul_(last[:, 1], s2)
    state.copy_(final[:, :, 0])
    torch.mul(output_row[2], x, out=out)
    out.addcmul_(output_row[0], states[0])
    out.addcmul_(output_row[1], states[1])


class SvfState(nn.Module):
    """Filter state ``(2, ch)`` and the work buffers of blocks of ``n`` samples x ``ch`` channels.

    :meth:`prepare` grows the storage when a longer block or another channel count arrives
    (a new channel count starts from silence) and takes views for the current block.
    """

    def __init__(self) -> None:
        super().__init__()
        self.n_samples = 0
        self.register_buffer("state", torch.zeros(2, 0), persistent=False)
        self.register_buffer("storage", torch.zeros(0), persistent=False)
        self.register_buffer("output_storage", torch.zeros(0), persistent=False)
        for name in ("maps", "scratch", "states", "rows", "output_row", "cutoff", "damping", "band_weight", "output"):
            self.register_buffer(name, torch.zeros(0), persistent=False)
        self.register_buffer("one", torch.tensor(1.0), persistent=False)
        self.register_buffer("two", torch.tensor(2.0), persistent=False)
        identity = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]).view(2, 3, 1, 1)
        self.register_buffer("state_identity", identity, persistent=False)

    @torch.jit.export
    def reset(self) -> None:
        """Zero state: the filter continues from silence."""
        self.state.zero_()

    @torch.jit.export
    def prepare(self, n: int, channels: int) -> None:
        """Views for a block of ``n`` samples x ``channels``: ``maps``, ``scratch`` ``(2, 3, ch, n)``,
        ``rows`` ``(3, 3, ch, n)``, ``output_row`` ``(3, ch, n)``, ``states`` ``(2, ch, n)``,
        ``cutoff``, ``damping``, ``band_weight`` and ``output`` ``(ch, n)``."""
        if channels != self.state.size(1):
            self.state = torch.zeros(2, channels)
            self.n_samples = 0
        per_sample = channels * (6 + 6 + 2 + 9 + 3 + 1 + 1 + 1)
        if n * per_sample > self.storage.numel():
            self.storage = torch.zeros(n * per_sample)
            self.output_storage = torch.zeros(n * channels)
            self.n_samples = 0
        if n == self.n_samples:
            return
        self.n_samples = n
        sizes = [6, 6, 2, 9, 3, 1, 1, 1]
        parts = torch.split(self.storage.narrow(0, 0, n * per_sample), [n * channels * size for size in sizes])
        self.maps = parts[0].view(2, 3, channels, n)
        self.scratch = parts[1].view(2, 3, channels, n)
        self.states = parts[2].view(2, channels, n)
        self.rows = parts[3].view(3, 3, channels, n)
        self.output_row = parts[4].view(3, channels, n)
        self.cutoff = parts[5].view(channels, n)
        self.damping = parts[6].view(channels, n)
        self.band_weight = parts[7].view(channels, n)
        self.output = self.output_storage.narrow(0, 0, n * channels).view(channels, n)

    @torch.jit.export
    def run(self, x: Tensor) -> Tensor:
        """Filter ``x`` ``(ch, n)`` with the prepared ``maps`` and ``output_row``: ``(ch, n)``."""
        svf_run(x, self.maps, self.output_row, self.state, self.scratch, self.states, self.output)
        return self.output
