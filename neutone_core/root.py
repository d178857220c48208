"""The root module of ``model.nm``: the host contract around the adapter chain."""

from typing import Any, Dict, List, Optional

import torch
from torch import Tensor, nn

from neutone_core.host_io import HOST_MAX_CHANNELS, HostIOInterface
from neutone_core.model_metadata import ModelMetadata

WARMUP_MIN_CALLS = 3
"""Host blocks of silence the root runs at configure time, at least: TorchScript optimises a
method's graph on its first calls, and a host should not pay for that on its first blocks."""

WARMUP_MAX_CALLS = 4096
"""Most warm-up blocks: enough for the model to run twice behind any FIFO at any host size."""


class NeutoneRoot(nn.Module):
    """What the host loads: the Neutone FX method set around the composed stage chain.

    Host contract of ``forward(x, params=None)``: ``x`` ``(1 or 2, n)`` audio, float32 (other
    floating dtypes are converted; that call allocates; integer audio is refused); ``params``
    ``(4, n)`` knobs in 0..1 or None for the defaults. Non-finite samples become 0; a NaN knob
    becomes 0.5, knobs are clamped to 0..1. Returns ``(same channels, n)``, a view of an
    internal buffer valid until the next call. The model's inputs are fresh copies on every
    call: nothing the model writes into them reaches a later call. A host may configure and
    process in different threads, with or without ``torch.inference_mode`` on either side.

    Args:
        host: the scripted :class:`~neutone_core.host_io.HostIO` around the composed chain.
        metadata: the validated metadata dict.
        defaults_0to1: each knob slot's default as the host sends it (4 values in 0..1).
        stage_names: names of the stages, outermost first, for ``get_stage_names``.
    """

    host: HostIOInterface
    stage_names: List[str]

    def __init__(self, host: nn.Module, metadata: Dict[str, Any], defaults_0to1: List[float], stage_names: List[str]) -> None:
        super().__init__()
        self.host = host
        self.w2w_base = ModelMetadata(metadata, defaults_0to1)
        self.stage_names = list(stage_names)
        self.warmup_min_calls = WARMUP_MIN_CALLS
        self.warmup_max_calls = WARMUP_MAX_CALLS
        self.host_max_channels = HOST_MAX_CHANNELS
        self.ready_block_size = -1
        self.buffers_from_inference_mode = False

    # --- configuration --------------------------------------------------------------------
    @torch.jit.export
    def prepare(self, daw_sr: int, daw_bs: int, n_channels: int, model_sr: int, model_bs: int) -> int:
        """Configure for host rate ``daw_sr`` (Hz), largest block ``daw_bs`` (samples) and
        ``n_channels`` (1 or 2); ``model_sr``/``model_bs`` request a native rate/size (0 = best).
        Runs each stage's configuration once, warms the host call up on silence, resets.
        Returns the total delay in host samples."""
        self.host.prepare(daw_sr, daw_bs, n_channels, model_sr, model_bs)
        return self._warm_up()

    def _warm_up(self) -> int:
        """Run the host call on silence, with the default knobs and with none, until the model
        has run twice, so the host's first real blocks cost what later ones do; then reset.
        Returns the total delay in host samples."""
        silence = self.host.silence()
        knobs = self.host.default_knobs()
        calls = 0
        while calls < self.warmup_min_calls or (self.host.model_calls() < 2 and calls < self.warmup_max_calls):
            self.host.forward(silence, knobs)
            self.host.forward(silence, None)
            calls += 1
        self.host.reset()
        self._remember_setting()
        return self.host.delay_samples()

    def _remember_setting(self) -> None:
        """What the host-call fast path checks: the configured size, and whether the buffers
        come from inference mode."""
        self.ready_block_size = self.host.daw_block_size()
        self.buffers_from_inference_mode = self.host.buffers_from_inference_mode()

    @torch.jit.export
    def set_daw_sample_rate_and_buffer_size(
        self, daw_sr: int, daw_bs: int, model_sr: Optional[int] = None, model_bs: Optional[int] = None
    ) -> int:
        """Configure for a stereo host at ``daw_sr`` Hz with blocks of up to ``daw_bs`` samples.

        Returns the largest block ``forward_bt`` can return (``daw_bs``), as the Neutone FX
        plugin expects."""
        requested_sr = 0 if model_sr is None else model_sr
        requested_bs = 0 if model_bs is None else model_bs
        self.prepare(daw_sr, daw_bs, self.host_max_channels, requested_sr, requested_bs)
        return daw_bs

    @torch.jit.export
    def reset(self) -> None:
        """Clear every stage's state and the model's."""
        self.host.reset()

    @torch.jit.export
    def set_model_bypass(self, bypassed: bool) -> int:
        """Bypass the model (the adapters alone remain, for measuring them) or restore it;
        reconfigures for the current host setting. Returns the total delay in host samples."""
        self.host.set_model_bypass(bypassed)
        if self.host.daw_block_size() == 0:
            return 0
        self.host.prepare_again()
        return self._warm_up()

    # --- audio ----------------------------------------------------------------------------
    def forward(self, x: Tensor, params: Optional[Tensor] = None) -> Tensor:
        """Process one host block: ``(channels, n)`` -> ``(channels, n)`` (see the class docs).

        A block longer than the configured buffer size is processed in pieces (that call
        allocates its output); a call before any configuration configures for 48 kHz. The
        fast path is the first line: every other case is one call into the host I/O, so this
        graph, which TorchScript optimises on the host's first calls, stays small."""
        if (
            x.dim() == 2
            and x.size(1) <= self.ready_block_size
            and not (self.buffers_from_inference_mode and not x.is_inference())
        ):
            return self.host.forward(x, params)
        if self.host.needs_prepare(x):
            self.host.prepare_for(x)
            self._remember_setting()
        if x.dim() == 2 and x.size(1) > self.ready_block_size:
            return self.host.forward_long(x, params)
        return self.host.forward(x, params)

    @torch.jit.export
    def forward_bt(self, x: Tensor, params: Optional[Tensor] = None) -> Optional[Tensor]:
        """Buffered-throughput call of the Neutone FX plugin.

        The chain's delay is already the least its adapters allow, so every call returns the
        ``(channels, n)`` block ``forward`` returns (never None)."""
        return self.forward(x, params)

    @torch.jit.export
    def forward_offline(self, x: Tensor, params: Optional[Tensor] = None) -> Tensor:
        """Process a whole signal ``(channels, n)`` in whole host blocks, delay removed:
        ``(channels, n)``.

        Resets the state first; the signal is padded with silence (and the last knob values)
        to whole blocks past the delay, so a FIFO's fixed policy never underruns. Needs
        ``set_daw_sample_rate_and_buffer_size`` to have run."""
        block = self.host.daw_block_size()
        if block == 0:
            raise RuntimeError("forward_offline needs set_daw_sample_rate_and_buffer_size(daw_sr, daw_bs) first")
        if x.dim() != 2 or (params is not None and (params.dim() != 2 or params.size(1) != x.size(1))):
            raise ValueError("forward_offline takes audio (channels, n) and params (4, n) or None")
        self.reset()
        delay = self.host.delay_samples()
        n = x.size(1)
        total = (n + delay + block - 1) // block * block
        padded = torch.zeros(x.size(0), total, dtype=x.dtype)
        padded[:, :n] = x
        padded_params: Optional[Tensor] = None
        if params is not None:
            padded_params = torch.empty(params.size(0), total, dtype=params.dtype)
            padded_params[:, :n] = params
            if n > 0:
                padded_params[:, n:] = params[:, n - 1 : n]
            else:
                padded_params[:, n:] = self.w2w_base.get_numerical_params_default_values_0to1()
        out = torch.empty(x.size(0), total)
        for start in range(0, total, block):
            block_params: Optional[Tensor] = None
            if padded_params is not None:
                block_params = padded_params[:, start : start + block]
            out[:, start : start + block] = self.host.forward(padded[:, start : start + block], block_params)
        return out[:, delay : delay + n]

    # --- delay ----------------------------------------------------------------------------
    @torch.jit.export
    def calc_model_delay_samples(self) -> int:
        """The model's own declared delay, in host samples (rounded)."""
        model_sr = self.host.model_sample_rate()
        if model_sr == 0:
            return 0
        return int(round(self.host.model_delay_samples() * self.host.daw_sample_rate() / model_sr))

    @torch.jit.export
    def calc_buffering_delay_samples(self) -> int:
        """Delay the adapters add, in host samples; with the model's, the exact total delay."""
        return self.host.delay_samples() - self.calc_model_delay_samples()

    @torch.jit.export
    def calc_total_delay_samples(self) -> int:
        """Exact delay from host input to host output, in host samples."""
        return self.host.delay_samples()

    @torch.jit.export
    def is_resampling(self) -> bool:
        """Whether the model runs at a rate other than the host's."""
        return self.host.model_sample_rate() != self.host.daw_sample_rate()

    @torch.jit.export
    def get_model_sample_rate(self) -> int:
        """Sample rate (Hz) the model runs at for the configured host stream."""
        return self.host.model_sample_rate()

    @torch.jit.export
    def get_model_buffer_size(self) -> int:
        """Block size (samples) the model receives for the configured host stream."""
        return self.host.model_block_size()

    @torch.jit.export
    def get_underrun_count(self) -> int:
        """Blocks partly filled with silence because the host broke its announced block size."""
        return self.host.underrun_count()

    @torch.jit.export
    def get_stage_names(self) -> List[str]:
        """The composed stages, outermost first, ending with ``"model"``."""
        return self.stage_names

    # --- metadata -------------------------------------------------------------------------
    @torch.jit.export
    def is_input_mono(self) -> bool:
        """Whether the model takes one channel."""
        return self.w2w_base.is_input_mono()

    @torch.jit.export
    def is_output_mono(self) -> bool:
        """Whether the model returns one channel."""
        return self.w2w_base.is_output_mono()

    @torch.jit.export
    def get_native_sample_rates(self) -> List[int]:
        """The model's native rates in Hz (empty = any)."""
        return self.w2w_base.get_native_sample_rates()

    @torch.jit.export
    def get_native_buffer_sizes(self) -> List[int]:
        """The model's native block sizes in samples (empty = any)."""
        return self.w2w_base.get_native_buffer_sizes()

    @torch.jit.export
    def get_wet_default_value(self) -> float:
        """Default of the host's wet knob."""
        return self.w2w_base.get_wet_default_value()

    @torch.jit.export
    def get_dry_default_value(self) -> float:
        """Default of the host's dry knob."""
        return self.w2w_base.get_dry_default_value()

    @torch.jit.export
    def get_input_gain_default_value(self) -> float:
        """Default of the host's input gain knob."""
        return self.w2w_base.get_input_gain_default_value()

    @torch.jit.export
    def get_output_gain_default_value(self) -> float:
        """Default of the host's output gain knob."""
        return self.w2w_base.get_output_gain_default_value()

    @torch.jit.export
    def get_default_param_values(self) -> Tensor:
        """Defaults of the four knobs as the host sends them, ``(4, 1)``; unused knobs are 0."""
        return self.w2w_base.get_numerical_params_default_values_0to1()

    @torch.jit.export
    def to_metadata(self) -> Dict[str, Any]:
        """The metadata, every field with its own type (sample sounds: the archive's
        ``metadata.json``)."""
        return self.w2w_base.to_metadata()

    @torch.jit.export
    def get_metadata_json(self) -> str:
        """``to_metadata()`` as JSON text."""
        return self.w2w_base.get_metadata_json()

    @torch.jit.export
    def get_preserved_attributes(self) -> List[str]:
        """Names the host relies on; kept when the module is frozen."""
        return [
            "w2w_base",
            "forward_bt",
            "forward_offline",
            "prepare",
            "set_daw_sample_rate_and_buffer_size",
            "set_model_bypass",
            "reset",
            "is_resampling",
            "calc_buffering_delay_samples",
            "calc_model_delay_samples",
            "calc_total_delay_samples",
            "get_model_sample_rate",
            "get_model_buffer_size",
            "get_stage_names",
            "get_underrun_count",
            "is_input_mono",
            "is_output_mono",
            "get_native_sample_rates",
            "get_native_buffer_sizes",
            "get_wet_default_value",
            "get_dry_default_value",
            "get_input_gain_default_value",
            "get_output_gain_default_value",
            "get_default_param_values",
            "to_metadata",
            "get_metadata_json",
            "get_preserved_attributes",
        ]
