r"""Cached 1-D convolution and transposed convolution: stream block by block, exactly as offline.

``CachedConv1d`` computes ``y[j] = b + Σ_{c,k} W[:, c, k] x[c, j·s + k·d - P]`` (stride ``s``,
dilation ``d``, kernel ``K``). Offline (uncached, for training) ``P`` is the left padding:
``"causal"`` pads ``(K - 1)·d - (s - 1)`` zeros on the left, so output ``j`` reads its own
stride group ``x[j·s .. j·s + s - 1]`` and the past, never the future (cached_conv pads
``(K - 1)·d`` and so loses the last ``s - 1`` samples of each block to the next one: a block
of latency for ``s > 2``, acids-ircam/cached_conv#10); an integer ``p`` pads ``p`` on both
sides as ``nn.Conv1d``. Cached (streaming) mode keeps the past in a :class:`LookBehind` and
returns the offline output delayed by ``D = ceil(((K - 1)·d - (s - 1) - p) / s)`` output
samples (0 for causal), the least that keeps it causal: :meth:`CachedConv1d.latency_samples`.

``CachedConvTranspose1d`` adds ``W[c, :, k] x[c, j]`` at output ``j·s + k·d``. Cached mode
emits the first ``m·s`` samples of the full (uncropped) result for ``m`` inputs and carries
the ``(K - 1)·d + 1 - s`` samples that spill over (the cache size cached_conv gets wrong,
acids-ircam/cached_conv#11), so it returns the offline output (``padding`` cropped from each
end, as ``nn.ConvTranspose1d``) delayed by ``padding`` samples.

Both run as one im2col copy plus one batched matrix product per call (per group), into
preallocated buffers; cached mode is for inference (run under ``torch.no_grad()``). Input
blocks of a strided convolution must be multiples of the stride.
Shape: ``(batch, in_channels, n) -> (batch, out_channels, n / s)`` (transposed: ``n·s``).
"""

from typing import List, Union

import torch
from torch import Tensor, nn

from neutone_blocks.look_behind import LookBehind


def _flat_view(flat: Tensor, shape: List[int]) -> Tensor:
    numel = 1
    for size in shape:
        numel *= size
    return flat.narrow(0, 0, numel).view(shape)


class CachedConv1d(nn.Conv1d):
    """``nn.Conv1d`` with causal padding and a streaming (cached) mode; see the module docs.

    Args:
        in_channels, out_channels, kernel_size, stride, dilation, groups, bias: as ``nn.Conv1d``.
        padding: ``"causal"`` (left padding ``(K - 1)·d - (s - 1)``) or samples padded on both sides.
        cached: start in streaming mode (switch with :meth:`set_cached`).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        padding: Union[str, int] = "causal",
        dilation: int = 1,
        groups: int = 1,
        bias: bool = True,
        cached: bool = False,
    ) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, 0, dilation, groups, bias)
        reach = (kernel_size - 1) * dilation - (stride - 1)
        if padding == "causal":
            self.left_padding, self.right_padding = reach, 0
        elif isinstance(padding, int) and padding >= 0:
            self.left_padding, self.right_padding = padding, padding
        else:
            raise ValueError(f"padding {padding!r}: must be 'causal' or a number of samples >= 0")
        self.kernel = kernel_size
        self.step = stride
        self.spacing = dilation
        self.delay_outputs = max(0, -(-(reach - self.left_padding) // stride))
        history = self.left_padding + self.delay_outputs * stride
        self.skipped_samples = max(0, -history)
        self.cached = cached
        self.look_behind = LookBehind(max(0, history))
        self.register_buffer("columns", torch.zeros(0), persistent=False)
        self.register_buffer("output", torch.zeros(0), persistent=False)

    @torch.jit.export
    def latency_samples(self) -> int:
        """Output samples by which cached mode lags the offline result (0 for causal padding)."""
        return self.delay_outputs

    @torch.jit.export
    def is_cached(self) -> bool:
        """Whether the layer streams (cached) or runs offline (training)."""
        return self.cached

    @torch.jit.export
    def set_cached(self, cached: bool) -> None:
        """Switch between streaming (True) and offline (False); clears the stream's past."""
        self.cached = cached
        self.reset()

    @torch.jit.export
    def reset(self) -> None:
        """Forget the past: the next block is preceded by zeros."""
        self.look_behind.reset()

    def forward(self, x: Tensor) -> Tensor:
        """Convolve ``x`` ``(batch, in_channels, n)``: offline, or the next block of the stream."""
        if not self.cached:
            padded = nn.functional.pad(x, [self.left_padding, self.right_padding])
            return nn.functional.conv1d(padded, self.weight, self.bias, self.step, 0, self.spacing, self.groups)
        batch, n = x.size(0), x.size(2)
        if n % self.step != 0:
            raise ValueError(
                f"CachedConv1d with stride {self.step} got a block of {n} samples: blocks must be multiples of the stride"
            )
        n_out = n // self.step
        window = self.look_behind(x)
        group_in = self.in_channels // self.groups
        group_out = self.out_channels // self.groups
        shape = [self.groups, group_in, self.kernel, batch, n_out]
        if batch * n_out * self.in_channels * self.kernel > self.columns.numel():
            self.columns = torch.zeros(batch * n_out * self.in_channels * self.kernel)
            self.output = torch.zeros(batch * n_out * self.out_channels)
        columns = _flat_view(self.columns, shape)
        t = window.stride(2)
        strides = [group_in * window.stride(1), window.stride(1), self.spacing * t, window.stride(0), self.step * t]
        offset = window.storage_offset() + self.skipped_samples * t
        columns.copy_(torch.as_strided(window, shape, strides, offset))
        output = _flat_view(self.output, [self.groups, group_out, batch * n_out])
        weight = self.weight.view(self.groups, group_out, group_in * self.kernel)
        columns_2d = columns.view(self.groups, group_in * self.kernel, batch * n_out)
        bias = self.bias
        if bias is not None:
            torch.baddbmm(bias.view(self.groups, group_out, 1).expand_as(output), weight, columns_2d, out=output)
        else:
            torch.bmm(weight, columns_2d, out=output)
        return output.view(self.out_channels, batch, n_out).permute(1, 0, 2)


class CachedConvTranspose1d(nn.ConvTranspose1d):
    """``nn.ConvTranspose1d`` with a streaming (cached) mode; see the module docs.

    Args:
        in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias: as
            ``nn.ConvTranspose1d`` (no ``output_padding``); cached mode delays by ``padding``.
        cached: start in streaming mode (switch with :meth:`set_cached`).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        padding: int = 0,
        dilation: int = 1,
        groups: int = 1,
        bias: bool = True,
        cached: bool = False,
    ) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, 0, groups, bias, dilation)
        self.kernel = kernel_size
        self.step = stride
        self.spacing = dilation
        self.crop = padding
        self.tail_samples = max(0, (kernel_size - 1) * dilation + 1 - stride)
        self.cached = cached
        self.block_inputs = 0
        self.register_buffer("tail", torch.zeros(0, 0, self.tail_samples), persistent=False)
        self.register_buffer("inputs", torch.zeros(0), persistent=False)
        self.register_buffer("contributions", torch.zeros(0), persistent=False)
        self.register_buffer("accumulator", torch.zeros(0), persistent=False)
        self.register_buffer("output", torch.zeros(0), persistent=False)
        self.register_buffer("positions", torch.zeros(0, dtype=torch.long), persistent=False)

    @torch.jit.export
    def latency_samples(self) -> int:
        """Output samples by which cached mode lags the offline result: ``padding``."""
        return self.crop

    @torch.jit.export
    def is_cached(self) -> bool:
        """Whether the layer streams (cached) or runs offline (training)."""
        return self.cached

    @torch.jit.export
    def set_cached(self, cached: bool) -> None:
        """Switch between streaming (True) and offline (False); clears the carried tail."""
        self.cached = cached
        self.reset()

    @torch.jit.export
    def reset(self) -> None:
        """Forget the tail still to be added: the stream starts from silence."""
        self.tail.zero_()

    def _allocate(self, batch: int, n_in: int) -> None:
        """Buffers and scatter positions for blocks of ``n_in`` inputs x ``batch``; clears the tail."""
        length = n_in * self.step + self.tail_samples
        self.block_inputs = n_in
        self.tail = torch.zeros(self.out_channels, batch, self.tail_samples)
        self.inputs = torch.zeros(self.in_channels * batch * n_in)
        self.contributions = torch.zeros(self.out_channels * self.kernel * batch * n_in)
        self.accumulator = torch.zeros(self.out_channels * batch * length)
        self.output = torch.zeros(self.out_channels * batch * n_in * self.step)
        tap = torch.arange(self.kernel).view(-1, 1, 1) * self.spacing
        item = torch.arange(batch).view(1, -1, 1) * length
        step = torch.arange(n_in).view(1, 1, -1) * self.step
        self.positions = (tap + item + step).reshape(-1)

    def forward(self, x: Tensor) -> Tensor:
        """Transposed-convolve ``x`` ``(batch, in_channels, m)``: offline, or the next block of the stream."""
        if not self.cached:
            return nn.functional.conv_transpose1d(x, self.weight, self.bias, self.step, self.crop, 0, self.groups, self.spacing)
        batch, n_in = x.size(0), x.size(2)
        if batch != self.tail.size(1):
            self._allocate(batch, n_in)
        elif n_in != self.block_inputs:
            tail = self.tail.clone()
            self._allocate(batch, n_in)
            self.tail.copy_(tail)
        group_in = self.in_channels // self.groups
        group_out = self.out_channels // self.groups
        emitted = n_in * self.step
        if batch == 1 and x.is_contiguous():
            inputs = x.view(self.in_channels, 1, n_in)
        else:
            inputs = _flat_view(self.inputs, [self.in_channels, batch, n_in])
            inputs.copy_(x.permute(1, 0, 2))
        contributions = _flat_view(self.contributions, [self.groups, group_out * self.kernel, batch * n_in])
        torch.bmm(
            self.weight.view(self.groups, group_in, group_out * self.kernel).transpose(1, 2),
            inputs.view(self.groups, group_in, batch * n_in),
            out=contributions,
        )
        accumulator = _flat_view(self.accumulator, [self.out_channels, batch, emitted + self.tail_samples])
        accumulator.narrow(2, 0, self.tail_samples).copy_(self.tail)
        accumulator.narrow(2, self.tail_samples, emitted).zero_()
        accumulator.view(self.out_channels, -1).index_add_(1, self.positions, contributions.view(self.out_channels, -1))
        self.tail.copy_(accumulator.narrow(2, emitted, self.tail_samples))
        output = _flat_view(self.output, [self.out_channels, batch, emitted])
        bias = self.bias
        if bias is not None:
            torch.add(accumulator.narrow(2, 0, emitted), bias.view(-1, 1, 1), out=output)
        else:
            output.copy_(accumulator.narrow(2, 0, emitted))
        return output.permute(1, 0, 2)
