r"""State-variable filter with per-sample cutoff, resonance and mix (trapezoidal, zero-delay feedback).

With ``g = tan(π f_c / f_s)`` and damping ``k = 1 / resonance`` (Zavalishin, *The Art of VA
Filter Design*, ch. 4; Wishnick 2014), per sample ``hp = (x - (g + k) s1 - s2) / (1 + g(g + k))``,
``bp = g·hp + s1``, ``lp = g·bp + s2``, then ``s1 ← 2bp - s1``, ``s2 ← 2lp - s2``; the output is
``mix_bp·k·bp + mix_lp·lp + mix_hp·hp`` (band-pass at unit peak gain). For fixed coefficients
this is the bilinear transform of ``H(s) = (mix_hp s² + mix_bp k ω s + mix_lp ω²) / (s² + k ω s + ω²)``.

The recursion is a time-varying affine map per sample, ``s_{t+1} = A_t s_t + b_t x_t``; a block
composes them with a Hillis-Steele prefix scan (``⌈log2 n⌉`` batched steps, no per-sample loop)
into preallocated buffers, through views taken once per block length. Coefficients are
stored as planes ``(..., channels, n)`` so every step is a contiguous elementwise op. Shape: ``(channels, n) -> (channels, n)``.
"""

from typing import List

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


class SvfState(nn.Module):
    """Filter state ``(2, ch)`` and the work buffers of blocks of ``n`` samples x ``ch`` channels.

    :meth:`prepare` grows the storage when a longer block or another channel count arrives
    (a new channel count starts from silence) and takes views for the current block.
    """

    scan_views: List[List[Tensor]]

    def __init__(self) -> None:
        super().__init__()
        self.n_samples = 0
        self.scan_views = []
        self.register_buffer("composite", torch.zeros(0), persistent=False)
        self.register_buffer("final_state", torch.zeros(0), persistent=False)
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
        self._take_scan_views(n)

    def _take_scan_views(self, n: int) -> None:
        """Views for every step of the scan over ``n`` samples (taken once per block length).

        Step ``i`` composes each map with the one ``2^i`` samples earlier, reading one of
        ``maps`` / ``scratch`` and writing the other; the first ``2^i`` maps are copied over.
        """
        names = ["later_s1", "later_s2", "later_x", "earlier_s1", "earlier_s2", "composed", "composed_x", "head", "head_to"]
        views: List[List[Tensor]] = [[] for _ in names]
        current, spare = self.maps, self.scratch
        span = 1
        while span < n:
            later, earlier = current.narrow(3, span, n - span), current.narrow(3, 0, n - span)
            composed = spare.narrow(3, span, n - span)
            for i, view in enumerate([later[:, 0:1], later[:, 1:2], later[:, 2], earlier[0:1], earlier[1:2], composed,
                                      composed[:, 2], current.narrow(3, 0, span), spare.narrow(3, 0, span)]):
                views[i].append(view)
            current, spare = spare, current
            span *= 2
        self.scan_views = views
        self.composite = current
        self.final_state = spare[:, 0].narrow(2, 0, 1)

    @torch.jit.export
    def run(self, x: Tensor) -> Tensor:
        """Filter ``x`` ``(ch, n)`` with the prepared ``maps`` (their ``b`` column still unscaled by
        ``x``) and ``output_row``; advances the state. Returns ``(ch, n)``, valid until the next call."""
        n = x.size(1)
        self.maps[:, 2].mul_(x)
        v = self.scan_views
        for step in range(len(v[0])):
            torch.mul(v[0][step], v[3][step], out=v[5][step])
            v[5][step].addcmul_(v[1][step], v[4][step])
            v[6][step].add_(v[2][step])
            v[8][step].copy_(v[7][step])
        s1, s2 = self.state[0].unsqueeze(-1), self.state[1].unsqueeze(-1)
        self.states[:, :, 0].copy_(self.state)
        if n > 1:
            before = self.composite.narrow(3, 0, n - 1)
            after = self.states.narrow(2, 1, n - 1)
            torch.addcmul(before[:, 2], before[:, 0], s1, out=after)
            after.addcmul_(before[:, 1], s2)
        last = self.composite.narrow(3, n - 1, 1)
        torch.addcmul(last[:, 2], last[:, 0], s1, out=self.final_state)
        self.final_state.addcmul_(last[:, 1], s2)
        self.state.copy_(self.final_state[:, :, 0])
        torch.mul(self.output_row[2], x, out=self.output)
        self.output.addcmul_(self.output_row[0], self.states[0])
        self.output.addcmul_(self.output_row[1], self.states[1])
        return self.output
