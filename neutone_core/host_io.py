"""The body of the root: host blocks in, sanitised into preallocated buffers, through the chain.

:class:`HostIO` does everything a host call does; the root (:mod:`neutone_core.root`) holds
it through :class:`HostIOInterface`, so ``HostIO.forward`` keeps its own compiled graph and
the root can run it on silence at configure time: TorchScript optimises a method's graph on
its first calls, and a host should not pay for that on its first blocks.
"""


from typing import Optional, Tuple

import torch
from torch import Tensor, nn

from neutone_core.parameters import MAX_N_PARAMS
from neutone_core.stage import host_stream

HOST_MAX_CHANNELS = 2
"""Hosts send 1 (mono) or 2 (stereo) channels."""

DEFAULT_HOST_SAMPLE_RATE = 48000
"""Rate (Hz) the root configures itself for when the host calls ``forward`` first."""


@torch.jit.interface
class HostIOInterface(nn.Module):
    """The methods the root calls on its :class:`HostIO`."""

    def forward(self, x: Tensor, params: Optional[Tensor]) -> Tensor:  # noqa: D102
        pass

    def needs_prepare(self, x: Tensor) -> bool:  # noqa: D102
        pass

    def prepare_for(self, x: Tensor) -> None:  # noqa: D102
        pass

    def forward_long(self, x: Tensor, params: Optional[Tensor]) -> Tensor:  # noqa: D102
        pass

    def buffers_from_inference_mode(self) -> bool:  # noqa: D102
        pass

    def prepare(self, daw_sr: int, daw_bs: int, n_channels: int, model_sr: int, model_bs: int) -> None:  # noqa: D102
        pass

    def prepare_again(self) -> None:  # noqa: D102
        pass

    def remake_buffers(self) -> None:  # noqa: D102
        pass

    def silence(self) -> Tensor:  # noqa: D102
        pass

    def default_knobs(self) -> Tensor:  # noqa: D102
        pass

    def reset(self) -> None:  # noqa: D102
        pass

    def daw_sample_rate(self) -> int:  # noqa: D102
        pass

    def daw_block_size(self) -> int:  # noqa: D102
        pass

    def delay_samples(self) -> int:  # noqa: D102
        pass

    def model_sample_rate(self) -> int:  # noqa: D102
        pass

    def model_block_size(self) -> int:  # noqa: D102
        pass

    def model_delay_samples(self) -> int:  # noqa: D102
        pass

    def model_calls(self) -> int:  # noqa: D102
        pass

    def underrun_count(self) -> int:  # noqa: D102
        pass

    def set_model_bypass(self, bypassed: bool) -> None:  # noqa: D102
        pass


class HostIO(nn.Module):
    """Host blocks through the chain (the host contract of ``forward`` is the root's).

    Non-finite samples become 0; a NaN knob becomes 0.5 and knobs are clamped to 0..1; other
    floating dtypes are converted to float32 (that call allocates); no knobs means the
    defaults, copied afresh each call. Shape: ``(1 or 2, n)``, ``(4, n)`` or None ->
    ``(same channels, n)``, a view of a buffer valid until the next call. ``forward`` holds
    the hot path only (one inlined copy of the chain, nothing of its configuration): the
    root configures, remakes buffers after inference mode, and splits long blocks.

    Args:
        chain: the outermost stage (see :mod:`neutone_core.stage`).
        defaults: the four knob defaults as the host sends them, ``(4, 1)`` in 0..1.
    """

    def __init__(self, chain: nn.Module, defaults: Tensor) -> None:
        super().__init__()
        self.chain = chain
        self.register_buffer("defaults", defaults.reshape(MAX_N_PARAMS, 1).clone(), persistent=False)
        self.register_buffer("input_block", torch.zeros(HOST_MAX_CHANNELS, 0), persistent=False)
        self.register_buffer("param_block", torch.zeros(MAX_N_PARAMS, 0), persistent=False)
        self.register_buffer("default_block", torch.zeros(MAX_N_PARAMS, 0), persistent=False)
        self.register_buffer("input_view", torch.zeros(HOST_MAX_CHANNELS, 0), persistent=False)
        self.configured_sample_rate = 0
        self.configured_block_size = 0
        self.host_channels = HOST_MAX_CHANNELS
        self.requested_sample_rate = 0
        self.requested_block_size = 0
        self.configured_in_inference_mode = False
        self.host_max_channels = HOST_MAX_CHANNELS
        self.default_host_sample_rate = DEFAULT_HOST_SAMPLE_RATE
        self.n_params = MAX_N_PARAMS

    @torch.jit.export
    def prepare(self, daw_sr: int, daw_bs: int, n_channels: int, model_sr: int, model_bs: int) -> None:
        """Allocate the host buffers and configure the chain once for the host stream (Hz,
        samples, channels; requested native rate and size, 0 = best), then reset it."""
        if daw_sr < 1:
            raise ValueError("host sample rate " + str(daw_sr) + " Hz: must be >= 1")
        if daw_bs < 1:
            raise ValueError("host buffer size " + str(daw_bs) + " samples: must be >= 1")
        if n_channels < 1 or n_channels > self.host_max_channels:
            raise ValueError("host channels " + str(n_channels) + ": hosts send 1 or 2 channels")
        self.configured_sample_rate = daw_sr
        self.configured_block_size = daw_bs
        self.host_channels = n_channels
        self.requested_sample_rate = model_sr
        self.requested_block_size = model_bs
        self.input_block = torch.zeros(self.host_max_channels, daw_bs)
        self.param_block = torch.zeros(self.n_params, daw_bs)
        self.input_view = self.input_block.narrow(0, 0, n_channels)
        self.default_block = self.defaults.expand(self.n_params, daw_bs).contiguous()
        self.chain.configure(host_stream(daw_sr, daw_bs, n_channels, model_sr, model_bs))
        self.chain.reset()
        self.configured_in_inference_mode = self.input_block.is_inference()

    @torch.jit.export
    def prepare_again(self) -> None:
        """``prepare`` with the setting it last had (after a bypass switch, or to remake the
        buffers)."""
        self.prepare(
            self.configured_sample_rate,
            self.configured_block_size,
            self.host_channels,
            self.requested_sample_rate,
            self.requested_block_size,
        )

    @torch.jit.export
    def remake_buffers(self) -> None:
        """Configured under ``torch.inference_mode`` and called outside it: ``prepare`` again
        with the same setting, once (made inside inference mode again, the buffers are then
        written only inside it, which works)."""
        self.prepare_again()
        self.configured_in_inference_mode = False

    @torch.jit.export
    def silence(self) -> Tensor:
        """A zero block of the configured size and channels (for warming up)."""
        return torch.zeros(self.host_channels, self.configured_block_size)

    @torch.jit.export
    def default_knobs(self) -> Tensor:
        """The default knobs for one configured block, ``(4, block_size)``, a fresh tensor."""
        return self.default_block.clone()

    def _check_block(self, x: Tensor, params: Optional[Tensor]) -> None:
        if x.dim() != 2 or x.size(0) < 1 or x.size(0) > self.host_max_channels:
            raise ValueError("audio block of shape " + str(x.shape) + ": expected (1 or 2 channels, samples)")
        if x.dtype != torch.float32 and not x.is_floating_point():
            raise ValueError(
                "audio block of an integer dtype: the host contract is float32 samples in -1..1 "
                "(16-bit PCM: divide by 32768 first)"
            )
        if params is not None:
            if params.dim() != 2 or params.size(0) != self.n_params or params.size(1) != x.size(1):
                raise ValueError(
                    "params of shape " + str(params.shape) + ": expected (4, " + str(x.size(1)) + ") to match the audio block"
                )
            if params.dtype != torch.float32 and not params.is_floating_point():
                raise ValueError("params of an integer dtype: the host contract is float32 knobs in 0..1")

    def _sanitized(self, x: Tensor, params: Optional[Tensor]) -> Tuple[Tensor, Tensor]:
        """Any checked block of 1..configured size samples, any floating dtype, knobs or None:
        the cleaned copies, views of the host buffers."""
        if x.dtype != torch.float32:
            x = x.to(torch.float32)
        n = x.size(1)
        if n == self.configured_block_size and x.size(0) == self.host_channels:
            audio = self.input_view
            knobs = self.param_block
            defaults = self.default_block
        else:
            audio = self.input_block.narrow(0, 0, x.size(0)).narrow(1, 0, n)
            knobs = self.param_block.narrow(1, 0, n)
            defaults = self.default_block.narrow(1, 0, n)
        torch.nan_to_num(x, 0.0, 0.0, 0.0, out=audio)
        if params is None:
            knobs.copy_(defaults)
        else:
            torch.nan_to_num(params.to(torch.float32), 0.5, 1.0, 0.0, out=knobs)
            knobs.clamp_(0.0, 1.0)
        return audio, knobs

    def forward(self, x: Tensor, params: Optional[Tensor]) -> Tensor:
        """One configured host block of up to the configured size: ``(channels, n)`` ->
        ``(channels, n)`` (see the class docs; the root configures, and splits longer blocks).

        The first branch is what a host sends on every call (a full float32 block with its
        knobs): it checks only that, and writes into views made at configure time; anything
        else is checked in full (one clear error for a bad block) and cleaned by ``_sanitized``."""
        if (
            params is not None
            and x.dim() == 2
            and x.size(1) == self.configured_block_size
            and x.size(0) == self.host_channels
            and x.dtype == torch.float32
            and params.dtype == torch.float32
            and params.dim() == 2
            and params.size(0) == self.n_params
            and params.size(1) == self.configured_block_size
        ):
            audio = self.input_view
            knobs = self.param_block
            torch.nan_to_num(x, 0.0, 0.0, 0.0, out=audio)
            torch.nan_to_num(params, 0.5, 1.0, 0.0, out=knobs)
            knobs.clamp_(0.0, 1.0)
        else:
            self._check_block(x, params)
            if x.size(1) == 0:
                return x
            audio, knobs = self._sanitized(x, params)
        return self.chain(audio, knobs)

    @torch.jit.export
    def prepare_for(self, x: Tensor) -> None:
        """Before the first block: configure for 48 kHz and this block's size and channels.
        Configured under inference mode and called outside it: make the buffers again."""
        if self.configured_block_size == 0:
            self._check_block(x, None)
            self.prepare(self.default_host_sample_rate, max(x.size(1), 1), x.size(0), 0, 0)
        else:
            self.remake_buffers()

    @torch.jit.export
    def forward_long(self, x: Tensor, params: Optional[Tensor]) -> Tensor:
        """A block longer than the configured size, in configured-size pieces; allocates
        its output ``(channels, n)``."""
        self._check_block(x, params)
        n = x.size(1)
        block = self.configured_block_size
        out = torch.empty(x.size(0), n)
        for start in range(0, n, block):
            end = min(start + block, n)
            piece_params: Optional[Tensor] = None
            if params is not None:
                piece_params = params[:, start:end]
            out[:, start:end] = self.forward(x[:, start:end], piece_params)
        return out

    @torch.jit.export
    def buffers_from_inference_mode(self) -> bool:
        """Whether the buffers were made under ``torch.inference_mode`` (and not made again)."""
        return self.configured_in_inference_mode

    @torch.jit.export
    def needs_prepare(self, x: Tensor) -> bool:
        """Whether the buffers must be made (again) before ``x`` can be processed: nothing is
        configured yet, or the buffers were made under ``torch.inference_mode`` and ``x`` comes
        from outside it (such buffers cannot be written there)."""
        return self.configured_block_size == 0 or (self.configured_in_inference_mode and not x.is_inference())

    @torch.jit.export
    def reset(self) -> None:
        """Clear every stage's state and the model's."""
        self.chain.reset()

    @torch.jit.export
    def daw_sample_rate(self) -> int:
        """The configured host rate (Hz), 0 before any configuration."""
        return self.configured_sample_rate

    @torch.jit.export
    def daw_block_size(self) -> int:
        """The configured host buffer size (samples), 0 before any configuration."""
        return self.configured_block_size

    @torch.jit.export
    def delay_samples(self) -> int:
        """Exact delay from host input to host output, in host samples."""
        return self.chain.delay_samples()

    @torch.jit.export
    def model_sample_rate(self) -> int:
        """Sample rate (Hz) the model runs at."""
        return self.chain.model_sample_rate()

    @torch.jit.export
    def model_block_size(self) -> int:
        """Block size (samples) the model receives."""
        return self.chain.model_block_size()

    @torch.jit.export
    def model_delay_samples(self) -> int:
        """The model's own declared delay, in samples at its rate."""
        return self.chain.model_delay_samples()

    @torch.jit.export
    def model_calls(self) -> int:
        """Blocks the model has processed since the chain was configured."""
        return self.chain.model_calls()

    @torch.jit.export
    def underrun_count(self) -> int:
        """Blocks partly filled with silence because the host broke its announced block size."""
        return self.chain.underrun_count()

    @torch.jit.export
    def set_model_bypass(self, bypassed: bool) -> None:
        """Bypass the model from the next ``prepare`` on (or restore it)."""
        self.chain.set_model_bypass(bypassed)
