"""The root module of ``model.nm``: the host contract around the adapter chain."""


import json
from typing import Any, Dict, List, Optional, Tuple

import torch
from torch import Tensor, nn

from neutone_core.metadata import metadata_json
from neutone_core.parameters import MAX_N_PARAMS

HOST_MAX_CHANNELS = 2
"""Hosts send 1 (mono) or 2 (stereo) channels."""


def encode_metadata(metadata: Dict[str, Any]) -> Tuple[str, Dict[str, str]]:
    """The root's metadata attributes: the JSON text and field -> JSON-encoded value.

    The sample sounds (kilobytes of audio) are kept once, in the JSON text only."""
    fields = {k: json.dumps(v) for k, v in metadata.items() if k != "sample_sound_files"}
    return metadata_json(metadata), fields


def set_metadata(root: nn.Module, metadata: Dict[str, Any]) -> None:
    """Replace the metadata a root module (in memory or scripted) answers the host with."""
    root.metadata_text, root.metadata_fields = encode_metadata(metadata)


class NeutoneRoot(nn.Module):
    """What the host loads: the Neutone FX method set around the composed stage chain.

    The root sanitises host input into preallocated buffers (non-finite samples become 0;
    a NaN knob becomes 0.5, infinities 0 or 1; knobs are otherwise passed as the host sends
    them, 0..1), fills default knobs when the host sends none and calls the chain.
    ``forward``: x ``(1 or 2, n)``, params ``(4, n)`` or None -> ``(same channels, n)``. The
    returned tensor is a view of an internal buffer, valid until the next call.

    Args:
        chain: the outermost stage (see ``neutone_core.stage``).
        metadata: the validated metadata dict.
        stage_names: names of the stages, outermost first, for ``get_stage_names``.
    """

    stage_names: List[str]
    native_sample_rates: List[int]
    native_buffer_sizes: List[int]
    metadata_fields: Dict[str, str]

    def __init__(self, chain: nn.Module, metadata: Dict[str, Any], stage_names: List[str]) -> None:
        super().__init__()
        self.chain = chain
        self.metadata_text, self.metadata_fields = encode_metadata(metadata)
        self.stage_names: List[str] = list(stage_names)
        self.input_mono: bool = metadata["is_input_mono"]
        self.output_mono: bool = metadata["is_output_mono"]
        self.native_sample_rates: List[int] = list(metadata["native_sample_rates"])
        self.native_buffer_sizes: List[int] = list(metadata["native_buffer_sizes"])
        self.wet_default: float = float(metadata["wet_default_value"])
        self.dry_default: float = float(metadata["dry_default_value"])
        self.input_gain_default: float = float(metadata["input_gain_default_value"])
        self.output_gain_default: float = float(metadata["output_gain_default_value"])
        params = metadata["neutone_parameters"]
        defaults = [float(params[f"p{i + 1}"]["default_value"]) for i in range(MAX_N_PARAMS)]
        self.register_buffer("default_params", torch.tensor(defaults).reshape(MAX_N_PARAMS, 1))
        self.register_buffer("default_param_block", torch.zeros(MAX_N_PARAMS, 0), persistent=False)
        self.register_buffer("input_block", torch.zeros(HOST_MAX_CHANNELS, 0), persistent=False)
        self.register_buffer("param_block", torch.zeros(MAX_N_PARAMS, 0), persistent=False)
        self.register_buffer("input_view", torch.zeros(HOST_MAX_CHANNELS, 0), persistent=False)
        self.register_buffer("param_view", torch.zeros(MAX_N_PARAMS, 0), persistent=False)
        self.daw_sample_rate = 0
        self.daw_block_size = 0
        self.host_channels = HOST_MAX_CHANNELS
        self.host_max_channels = HOST_MAX_CHANNELS
        self.n_params = MAX_N_PARAMS

    # --- configuration --------------------------------------------------------------------
    @torch.jit.export
    def prepare(self, daw_sr: int, daw_bs: int, n_channels: int, model_sr: int, model_bs: int) -> int:
        """Configure for host rate ``daw_sr`` (Hz), largest block ``daw_bs`` (samples) and
        ``n_channels`` (1 or 2); ``model_sr``/``model_bs`` request a native rate/size (0 = best).
        Returns the total delay in host samples."""
        if daw_sr < 1:
            raise ValueError("host sample rate " + str(daw_sr) + " Hz: must be >= 1")
        if daw_bs < 1:
            raise ValueError("host buffer size " + str(daw_bs) + " samples: must be >= 1")
        if n_channels < 1 or n_channels > self.host_max_channels:
            raise ValueError("host channels " + str(n_channels) + ": hosts send 1 or 2 channels")
        self.daw_sample_rate = daw_sr
        self.daw_block_size = daw_bs
        self.host_channels = n_channels
        self.input_block = torch.zeros(self.host_max_channels, daw_bs)
        self.param_block = torch.zeros(self.n_params, daw_bs)
        self.input_view = self.input_block[:n_channels]
        self.param_view = self.param_block
        self.default_param_block = self.default_params.expand(self.n_params, daw_bs).contiguous()
        self.chain.configure(daw_sr, daw_bs, n_channels, n_channels, model_sr, model_bs)
        self.chain.set_block_pattern(daw_bs, 1, 0)
        self.chain.reset()
        return self.chain.delay_samples()

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
        self.chain.reset()

    # --- audio ----------------------------------------------------------------------------
    def _check_block(self, x: Tensor, params: Optional[Tensor]) -> None:
        if x.dim() != 2 or x.size(0) < 1 or x.size(0) > self.host_max_channels:
            raise ValueError("audio block of shape " + str(x.shape) + ": expected (1 or 2 channels, samples)")
        if params is not None:
            if params.dim() != 2 or params.size(0) != self.n_params or params.size(1) != x.size(1):
                raise ValueError(
                    "params of shape " + str(params.shape) + ": expected (4, " + str(x.size(1)) + ") to match the audio block"
                )

    def _process(self, x: Tensor, params: Optional[Tensor]) -> Tensor:
        n_channels = x.size(0)
        n = x.size(1)
        if n == self.daw_block_size and n_channels == self.host_channels:
            audio = self.input_view
            knobs = self.param_view
            defaults = self.default_param_block
        else:
            audio = self.input_block[:n_channels, :n]
            knobs = self.param_block[:, :n]
            defaults = self.default_param_block[:, :n]
        torch.nan_to_num(x, 0.0, 0.0, 0.0, out=audio)
        if params is None:
            return self.chain(audio, defaults)
        torch.nan_to_num(params, 0.5, 1.0, 0.0, out=knobs)
        return self.chain(audio, knobs)

    def forward(self, x: Tensor, params: Optional[Tensor] = None) -> Tensor:
        """Process one host block: ``(channels, n)`` -> ``(channels, n)``.

        Blocks longer than the configured buffer size are processed in pieces (that call
        allocates its output); a call before any configuration configures for 48 kHz.
        """
        self._check_block(x, params)
        n = x.size(1)
        if self.daw_block_size == 0:
            self.prepare(48000, n, x.size(0), 0, 0)
        if n <= self.daw_block_size:
            return self._process(x, params)
        out = torch.empty(x.size(0), n)
        for start in range(0, n, self.daw_block_size):
            end = min(start + self.daw_block_size, n)
            piece_params: Optional[Tensor] = None
            if params is not None:
                piece_params = params[:, start:end]
            out[:, start:end] = self._process(x[:, start:end], piece_params)
        return out

    @torch.jit.export
    def forward_bt(self, x: Tensor, params: Optional[Tensor] = None) -> Optional[Tensor]:
        """Buffered-throughput call of the Neutone FX plugin.

        The chain's delay is already the least its adapters allow, so every call returns the
        ``(channels, n)`` block ``forward`` returns (never None)."""
        return self.forward(x, params)

    @torch.jit.export
    def forward_offline(self, x: Tensor, params: Optional[Tensor] = None) -> Tensor:
        """Process a whole signal ``(channels, n)`` in host blocks, delay removed: ``(channels, n)``.

        Resets the state first; needs ``set_daw_sample_rate_and_buffer_size`` to have run."""
        if self.daw_block_size == 0:
            raise RuntimeError("forward_offline needs set_daw_sample_rate_and_buffer_size(daw_sr, daw_bs) first")
        self._check_block(x, params)
        self.reset()
        delay = self.chain.delay_samples()
        n = x.size(1)
        total = n + delay
        padded = torch.zeros(x.size(0), total)
        padded[:, :n] = x
        padded_params: Optional[Tensor] = None
        if params is not None:
            padded_params = torch.empty(self.n_params, total)
            padded_params[:, :n] = params
            if delay > 0:
                padded_params[:, n:] = params[:, n - 1 : n]
        out = torch.empty(x.size(0), total)
        for start in range(0, total, self.daw_block_size):
            end = min(start + self.daw_block_size, total)
            block_params: Optional[Tensor] = None
            if padded_params is not None:
                block_params = padded_params[:, start:end]
            out[:, start:end] = self._process(padded[:, start:end], block_params)
        return out[:, delay:]

    # --- delay ----------------------------------------------------------------------------
    @torch.jit.export
    def calc_model_delay_samples(self) -> int:
        """The model's own declared delay, in host samples (rounded)."""
        model_sr = self.chain.model_sample_rate()
        if model_sr == 0:
            return 0
        return int(round(self.chain.model_delay_samples() * self.daw_sample_rate / model_sr))

    @torch.jit.export
    def calc_buffering_delay_samples(self) -> int:
        """Delay the adapters add, in host samples; with the model's, the exact total delay."""
        return self.chain.delay_samples() - self.calc_model_delay_samples()

    @torch.jit.export
    def calc_total_delay_samples(self) -> int:
        """Exact delay from host input to host output, in host samples."""
        return self.chain.delay_samples()

    @torch.jit.export
    def is_resampling(self) -> bool:
        """Whether the model runs at a rate other than the host's."""
        return self.chain.model_sample_rate() != self.daw_sample_rate

    @torch.jit.export
    def get_model_sample_rate(self) -> int:
        """Sample rate (Hz) the model runs at for the configured host stream."""
        return self.chain.model_sample_rate()

    @torch.jit.export
    def get_model_buffer_size(self) -> int:
        """Block size (samples) the model receives for the configured host stream."""
        return self.chain.model_block_size()

    @torch.jit.export
    def get_underrun_count(self) -> int:
        """Blocks partly filled with silence because the host broke its announced block size."""
        return self.chain.underrun_count()

    @torch.jit.export
    def get_stage_names(self) -> List[str]:
        """The composed stages, outermost first, ending with ``"model"``."""
        return self.stage_names

    # --- metadata -------------------------------------------------------------------------
    @torch.jit.export
    def is_input_mono(self) -> bool:
        """Whether the model takes one channel."""
        return self.input_mono

    @torch.jit.export
    def is_output_mono(self) -> bool:
        """Whether the model returns one channel."""
        return self.output_mono

    @torch.jit.export
    def get_native_sample_rates(self) -> List[int]:
        """The model's native rates in Hz (empty = any)."""
        return self.native_sample_rates

    @torch.jit.export
    def get_native_buffer_sizes(self) -> List[int]:
        """The model's native block sizes in samples (empty = any)."""
        return self.native_buffer_sizes

    @torch.jit.export
    def get_wet_default_value(self) -> float:
        """Default of the host's wet knob."""
        return self.wet_default

    @torch.jit.export
    def get_dry_default_value(self) -> float:
        """Default of the host's dry knob."""
        return self.dry_default

    @torch.jit.export
    def get_input_gain_default_value(self) -> float:
        """Default of the host's input gain knob."""
        return self.input_gain_default

    @torch.jit.export
    def get_output_gain_default_value(self) -> float:
        """Default of the host's output gain knob."""
        return self.output_gain_default

    @torch.jit.export
    def get_default_param_values(self) -> Tensor:
        """Defaults of the four knobs, ``(4, 1)``; unused knobs are 0."""
        return self.default_params

    @torch.jit.export
    def to_metadata(self) -> Dict[str, str]:
        """The metadata, field -> JSON-encoded value (sample sounds: see ``get_metadata_json``)."""
        return self.metadata_fields

    @torch.jit.export
    def get_metadata_json(self) -> str:
        """The metadata as JSON text (as stored in the archive's ``metadata.json``)."""
        return self.metadata_text

    @torch.jit.export
    def get_preserved_attributes(self) -> List[str]:
        """Names the host relies on; kept when the module is frozen."""
        return [
            "forward_bt",
            "forward_offline",
            "prepare",
            "set_daw_sample_rate_and_buffer_size",
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
