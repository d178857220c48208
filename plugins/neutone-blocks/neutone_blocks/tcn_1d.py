r"""Temporal convolutional networks with FiLM conditioning (micro-TCN, randomized overdrive).

``FiLM`` (Perez et al. 2018): ``y = γ(c) ⊙ BN(x) + β(c)`` with ``[γ, β] = Linear(c)`` and a
BatchNorm without affine parameters, the SDK's ``FiLM(cond_dim, num_features, use_bn)``.
``TCN1DBlock``: causal dilated :class:`~neutone_blocks.conv.CachedConv1d` -> FiLM (when
conditioned) -> PReLU, plus a 1x1 residual convolution; ``TCN1D`` stacks blocks with
dilations ``dil_growth^i`` (Steinmetz & Reiss 2021, *Efficient neural networks for real-time
modeling of analog dynamic range compression*; randomized overdrive, arXiv:2010.04237).
Every layer is causal, so the stack adds no latency; its receptive field is
``1 + (K - 1)·Σ_i dil_growth^i`` samples.

In eval mode without gradients (or in cached mode) FiLM folds BatchNorm and the conditioning
into one scale and shift per channel and writes into preallocated buffers; in training it runs
the plain ops. Shape: ``(batch, in_ch, n) -> (batch, out_ch, n)``, conditioning ``(batch, cond_dim)``.
"""

from typing import Optional

import torch
from torch import Tensor, nn

from neutone_blocks.conv import CachedConv1d


class FiLM(nn.Module):
    """Feature-wise affine modulation from a conditioning vector.

    Args:
        cond_dim: size of the conditioning vector.
        num_features: channels of ``x``.
        use_bn: normalise ``x`` with a BatchNorm (no affine) first.
    """

    def __init__(self, cond_dim: int, num_features: int, use_bn: bool = True) -> None:
        super().__init__()
        self.num_features = num_features
        self.use_bn = use_bn
        self.bn = nn.BatchNorm1d(num_features, affine=False)
        self.adaptor = nn.Linear(cond_dim, 2 * num_features)
        self.register_buffer("modulation", torch.zeros(0, 2 * num_features), persistent=False)
        self.register_buffer("centred", torch.zeros(0), persistent=False)
        self.register_buffer("inverse_std", torch.zeros(num_features), persistent=False)
        self.register_buffer("bn_eps", torch.tensor(self.bn.eps), persistent=False)
        self.register_buffer("output", torch.zeros(0), persistent=False)

    def forward(self, x: Tensor, cond: Tensor) -> Tensor:
        """Modulate ``x`` ``(batch, num_features, n)`` by ``cond`` ``(batch, cond_dim)``."""
        if self.training or torch.is_grad_enabled():
            gamma, beta = torch.chunk(self.adaptor(cond), 2, dim=-1)
            normalised = self.bn(x) if self.use_bn else x
            return normalised * gamma.unsqueeze(-1) + beta.unsqueeze(-1)
        batch, n = x.size(0), x.size(2)
        if batch != self.modulation.size(0):
            self.modulation = torch.zeros(batch, 2 * self.num_features)
            self.centred = torch.zeros(batch, self.num_features)
        if batch * self.num_features * n > self.output.numel():
            self.output = torch.zeros(batch * self.num_features * n)
        torch.addmm(self.adaptor.bias, cond, self.adaptor.weight.t(), out=self.modulation)
        scale = self.modulation.narrow(1, 0, self.num_features)
        shift = self.modulation.narrow(1, self.num_features, self.num_features)
        running_mean, running_var = self.bn.running_mean, self.bn.running_var
        if self.use_bn and running_mean is not None and running_var is not None:
            torch.add(running_var, self.bn_eps, out=self.inverse_std)
            self.inverse_std.rsqrt_()
            scale.mul_(self.inverse_std)
            torch.mul(scale, running_mean, out=self.centred)
            shift.sub_(self.centred)
        output = self.output.narrow(0, 0, batch * self.num_features * n).view(batch, self.num_features, n)
        return torch.addcmul(shift.unsqueeze(-1), x, scale.unsqueeze(-1), out=output)


class TCN1DBlock(nn.Module):
    """Causal dilated convolution, FiLM (if ``cond_dim > 0``), PReLU, and a 1x1 residual.

    Args:
        in_ch, out_ch: channels.
        kernel_size, dilation: of the causal convolution (samples).
        cond_dim: conditioning size; 0 for none.
        use_bias_in_conv: bias in the causal convolution.
        use_bn: BatchNorm inside FiLM.
        use_act: apply the PReLU.
        use_res: add the 1x1 residual convolution of the input.
        prelu_ch: PReLU slopes (1 or ``out_ch``).
        res_groups: groups of the residual convolution.
        cached: stream (see :meth:`set_cached`).
    """

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        kernel_size: int,
        dilation: int,
        cond_dim: int = 0,
        use_bias_in_conv: bool = True,
        use_bn: bool = True,
        use_act: bool = True,
        use_res: bool = True,
        prelu_ch: int = 1,
        res_groups: int = 1,
        cached: bool = False,
    ) -> None:
        super().__init__()
        self.out_ch = out_ch
        self.conv = CachedConv1d(in_ch, out_ch, kernel_size, dilation=dilation, bias=use_bias_in_conv, cached=cached)
        self.film = FiLM(cond_dim, out_ch, use_bn) if cond_dim > 0 else None
        self.act = nn.PReLU(prelu_ch) if use_act else None
        self.res = CachedConv1d(in_ch, out_ch, 1, groups=res_groups, bias=False, cached=cached) if use_res else None
        self.register_buffer("negative", torch.zeros(0), persistent=False)
        self.register_buffer("output", torch.zeros(0), persistent=False)

    @torch.jit.export
    def set_cached(self, cached: bool) -> None:
        """Stream (True, inference under ``torch.no_grad()``) or run offline (False); resets."""
        self.conv.set_cached(cached)
        if self.res is not None:
            self.res.set_cached(cached)

    @torch.jit.export
    def reset(self) -> None:
        """Forget the stream's past."""
        self.conv.reset()

    def forward(self, x: Tensor, cond: Optional[Tensor] = None) -> Tensor:
        """``(batch, in_ch, n) -> (batch, out_ch, n)``; ``cond`` ``(batch, cond_dim)``."""
        y = self.conv(x)
        film = self.film
        if cond is not None and film is not None:
            y = film(y, cond)
        cached = self.conv.is_cached()
        act = self.act
        if act is not None:
            if cached:
                numel = y.numel()
                if numel > self.output.numel():
                    self.output = torch.zeros(numel)
                    self.negative = torch.zeros(numel)
                negative = self.negative.narrow(0, 0, numel).view(y.shape)
                output = self.output.narrow(0, 0, numel).view(y.shape)
                torch.clamp(y, max=0.0, out=negative)
                torch.clamp(y, min=0.0, out=output)
                y = output.addcmul_(negative, act.weight.view(1, -1, 1))
            else:
                y = act(y)
        res = self.res
        if res is not None:
            residual = res(x)
            y = y.add_(residual) if cached and act is not None else y + residual
        return y


class TCN1D(nn.Module):
    """A stack of :class:`TCN1DBlock` with dilations ``dil_growth^i``, causal, no latency.

    Args:
        in_ch, out_ch: channels of the input and of the last block.
        n_blocks: blocks in the stack.
        kernel_size: kernel of every block (samples).
        n_channels: channels between blocks.
        dil_growth: dilation of block ``i`` is ``dil_growth^i``.
        cond_dim: conditioning size (FiLM in every block); 0 for none.
        use_act, use_bn, use_bias_in_conv: per block, as :class:`TCN1DBlock`.
        cached: stream (see :meth:`set_cached`).
    """

    def __init__(
        self,
        in_ch: int = 1,
        out_ch: int = 1,
        n_blocks: int = 10,
        kernel_size: int = 13,
        n_channels: int = 64,
        dil_growth: int = 4,
        cond_dim: int = 0,
        use_act: bool = True,
        use_bn: bool = False,
        use_bias_in_conv: bool = True,
        cached: bool = False,
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.dilations = [dil_growth**i for i in range(n_blocks)]
        channels = [in_ch] + [n_channels] * (n_blocks - 1) + [out_ch]
        self.blocks = nn.ModuleList(
            TCN1DBlock(channels[i], channels[i + 1], kernel_size, self.dilations[i], cond_dim, use_bias_in_conv, use_bn, use_act,
                       cached=cached)
            for i in range(n_blocks)
        )

    @torch.jit.export
    def calc_receptive_field(self) -> int:
        """Receptive field in samples: ``1 + (K - 1)·Σ_i dil_growth^i``."""
        return 1 + (self.kernel_size - 1) * sum(self.dilations)

    @torch.jit.export
    def latency_samples(self) -> int:
        """Delay in samples: 0 (every layer is causal)."""
        return 0

    @torch.jit.export
    def set_cached(self, cached: bool) -> None:
        """Stream (True, inference under ``torch.no_grad()``) or run offline (False); resets."""
        for block in self.blocks:
            block.set_cached(cached)

    @torch.jit.export
    def reset(self) -> None:
        """Forget the stream's past."""
        for block in self.blocks:
            block.reset()

    def forward(self, x: Tensor, cond: Optional[Tensor] = None) -> Tensor:
        """``(batch, in_ch, n) -> (batch, out_ch, n)``; ``cond`` ``(batch, cond_dim)``."""
        for block in self.blocks:
            x = block(x, cond)
        return x
