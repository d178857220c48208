"""The wrapper protocol: what a researcher subclasses to put a model in a host.

The method names and meanings follow the Neutone SDK (1.5.2 and its README), so an SDK
wrapper works with only its import line changed. Metadata getters run in Python at export;
the methods the streaming graph calls (``do_forward_pass``, ``aggregate_params``,
``calc_model_delay_samples``, ``reset_model``, ``set_model_sample_rate_and_buffer_size``) are
compiled by TorchScript.
"""

from typing import Any, Dict, List, Optional

import torch
from torch import Tensor, nn

from neutone_core.metadata import build_metadata
from neutone_core.model_stage import ModelStage
from neutone_core.needs import StreamNeeds
from neutone_core.parameters import IDENTITY, MAX_N_PARAMS, NeutoneParameter, validate_parameters

MISSPELLED_METHODS: Dict[str, str] = {
    "aggregate_param": "aggregate_params",
    "get_look_behind_sample": "get_look_behind_samples",
    "calc_model_delay_sample": "calc_model_delay_samples",
    "set_model_sample_rate_and_buffer": "set_model_sample_rate_and_buffer_size",
}
"""Names a wrapper may define by mistake (the first is the SDK README's own spelling) -> the
method neutone calls; a wrapper defining one is refused rather than silently ignored."""


class WaveformToWaveformBase(nn.Module):
    """Base class of a model that maps audio ``(in_channels, n)`` to audio ``(out_channels, n)``.

    Subclass it, fill in the metadata getters and ``do_forward_pass``, then export with
    :func:`neutone_core.save_neutone_model`. ``in_channels`` is 1 when ``is_input_mono()``
    else 2; ``out_channels`` likewise with ``is_output_mono()``.

    Args:
        model: the PyTorch module the wrapper drives (stored as ``self.model``, put in eval mode).
        use_debug_mode: kept as ``self.use_debug_mode`` for code written for the SDK;
            :meth:`prepare_for_inference` clears it. neutone's checks run at export either way.
    """

    neutone_parameter_names: List[str]

    def __init__(self, model: Optional[nn.Module] = None, use_debug_mode: bool = True) -> None:
        super().__init__()
        if model is not None:
            model.eval()
        self.model = model
        self.use_debug_mode = use_debug_mode
        self.MAX_N_PARAMS = MAX_N_PARAMS
        self.neutone_parameter_names: List[str] = [p.name for p in self.neutone_parameters()]

    def neutone_parameters(self) -> List[NeutoneParameter]:
        """The declared knobs, validated (either spelling of the getter)."""
        if type(self).get_neutone_parameters is not WaveformToWaveformBase.get_neutone_parameters:
            return validate_parameters(self.get_neutone_parameters(), "get_neutone_parameters()")
        return validate_parameters(self.get_parameters(), "get_parameters()")

    # --- metadata (Python only, read at export) -------------------------------------------
    def get_model_name(self) -> str:
        """Model name shown by the host, at most 30 characters."""
        raise NotImplementedError("implement get_model_name() -> str in your wrapper")

    def get_model_authors(self) -> List[str]:
        """Up to 5 unique author names."""
        raise NotImplementedError("implement get_model_authors() -> List[str] in your wrapper")

    def get_model_short_description(self) -> str:
        """One line, at most 150 characters."""
        return ""

    def get_model_long_description(self) -> str:
        """At most 500 characters."""
        return ""

    def get_technical_description(self) -> str:
        """At most 500 characters."""
        return ""

    def get_tags(self) -> List[str]:
        """Up to 7 unique tags of at most 15 characters each."""
        return []

    def get_model_version(self) -> str:
        """Version string of the model, e.g. ``"1.0.0"``."""
        return "1.0.0"

    def is_experimental(self) -> bool:
        """Whether the host should mark the model as experimental."""
        return False

    def get_technical_links(self) -> Dict[str, str]:
        """Up to 3 links, label to URL (e.g. ``{"Paper": ..., "Code": ...}``)."""
        return {}

    def get_citation(self) -> str:
        """How to cite the model, at most 300 characters."""
        return ""

    def get_neutone_parameters(self) -> List[NeutoneParameter]:
        """Up to 4 knobs; their names are the keys of ``params`` in ``do_forward_pass``."""
        return []

    def get_parameters(self) -> List[NeutoneParameter]:
        """The Neutone SDK README's older name for :meth:`get_neutone_parameters`."""
        return []

    def is_input_mono(self) -> bool:
        """True: ``do_forward_pass`` receives ``(1, n)``; False: ``(2, n)``."""
        raise NotImplementedError("implement is_input_mono() -> bool in your wrapper")

    def is_output_mono(self) -> bool:
        """True: ``do_forward_pass`` returns ``(1, n)``; False: ``(2, n)``."""
        raise NotImplementedError("implement is_output_mono() -> bool in your wrapper")

    def get_native_sample_rates(self) -> List[int]:
        """Sample rates (Hz) the model runs at; empty means any rate."""
        return []

    def get_native_buffer_sizes(self) -> List[int]:
        """Block sizes (samples) the model accepts; empty means any size."""
        return []

    def get_look_behind_samples(self) -> int:
        """Samples of past input prepended to every block (model gets ``L + n``, returns ``n``)."""
        return 0

    def get_extra_needs(self) -> Dict[str, Any]:
        """Needs beyond channels, rates and block sizes, each served by an adapter plugin that
        registers for that name (e.g. ``{"dc_blocked": True}``); default none."""
        return {}

    def get_wet_default_value(self) -> float:
        """Default of the host's wet knob, 0..1."""
        return 1.0

    def get_dry_default_value(self) -> float:
        """Default of the host's dry knob, 0..1."""
        return 0.0

    def get_input_gain_default_value(self) -> float:
        """Default of the host's input gain knob, 0..1 (0.5 is 0 dB)."""
        return 0.5

    def get_output_gain_default_value(self) -> float:
        """Default of the host's output gain knob, 0..1 (0.5 is 0 dB)."""
        return 0.5

    def to_metadata(self) -> Dict[str, Any]:
        """The metadata this wrapper exports with (the sample sounds come at export), validated."""
        return build_metadata(self)

    def prepare_for_inference(self) -> None:
        """Put the wrapper and its model in eval mode and clear ``use_debug_mode`` (the SDK's
        step before scripting; export does it too)."""
        self.use_debug_mode = False
        self.eval()

    # --- composition (Python only) --------------------------------------------------------
    def neutone_stream_needs(self) -> StreamNeeds:
        """The innermost record the planner folds outward from: what ``do_forward_pass`` needs."""
        return StreamNeeds(
            input_channels=1 if self.is_input_mono() else 2,
            output_channels=1 if self.is_output_mono() else 2,
            native_sample_rates=tuple(int(r) for r in self.get_native_sample_rates()),
            native_buffer_sizes=tuple(int(s) for s in self.get_native_buffer_sizes()),
            look_behind_samples=int(self.get_look_behind_samples()),
            extra=dict(self.get_extra_needs()),
        )

    def neutone_model_stage(self) -> nn.Module:
        """The innermost stage of the composed graph: this wrapper inside a
        :class:`~neutone_core.model_stage.ModelStage`."""
        params = self.neutone_parameters()
        mappings = [p.knob_mapping() for p in params] + [IDENTITY] * (MAX_N_PARAMS - len(params))
        needs = self.neutone_stream_needs()
        return ModelStage(
            self,
            needs.input_channels,
            needs.output_channels,
            needs.look_behind_samples,
            [p.name for p in params],
            mappings,
            custom_aggregation=type(self).aggregate_params is not WaveformToWaveformBase.aggregate_params,
        )

    def neutone_default_knobs(self) -> List[float]:
        """Each knob slot's default as the host sends it (0..1); unused slots 0."""
        params = self.neutone_parameters()
        return [float(p.default_value_0to1) for p in params] + [0.0] * (MAX_N_PARAMS - len(params))

    def neutone_protocol_problems(self) -> List[str]:
        """Mistakes in how the wrapper implements the protocol, one line each (empty if none)."""
        problems = []
        if type(self).do_forward_pass is WaveformToWaveformBase.do_forward_pass:
            problems.append("do_forward_pass(x, params): not implemented; it is the model's forward pass")
        for wrong, right in MISSPELLED_METHODS.items():
            if hasattr(type(self), wrong) and not hasattr(WaveformToWaveformBase, wrong):
                problems.append(f"{wrong}(): neutone never calls it; rename it {right}() (that is the method it calls)")
        return problems

    # --- streaming (compiled by TorchScript) ----------------------------------------------
    def aggregate_params(self, params: Tensor) -> Tensor:
        """Reduce the sample-accurate knobs ``(4, L + n)`` for one model call.

        Default: the mean of each knob over the ``n`` new samples, ``(4, 1)`` (the model stage
        computes it exactly, allocation-free, when this method is not overridden). Override
        to keep more detail, e.g. ``return params`` for sample-accurate knobs; row ``i``
        becomes ``params[name_i]`` in :meth:`do_forward_pass`, mapped to the knob's range.
        """
        look_behind = self.get_look_behind_samples()
        return torch.mean(params[:, look_behind:], dim=1, keepdim=True)

    def calc_model_delay_samples(self) -> int:
        """Delay the model itself adds, in samples at its own rate (e.g. lookahead); default
        the older SDK name :meth:`calc_min_delay_samples`."""
        return self.calc_min_delay_samples()

    def calc_min_delay_samples(self) -> int:
        """The older SDK name of :meth:`calc_model_delay_samples`; honoured when overridden."""
        return 0

    def set_model_sample_rate_and_buffer_size(self, sample_rate: int, n_samples: int) -> bool:
        """Called when the stream reaching the model changes (Hz, samples); return True if
        handled. Default: the older SDK hook :meth:`set_model_buffer_size`."""
        return self.set_model_buffer_size(n_samples)

    def set_model_buffer_size(self, n_samples: int) -> bool:
        """The older SDK name, with only the block size (samples); honoured when overridden."""
        return True

    def reset_model(self) -> bool:
        """Clear the model's internal state (e.g. recurrent memory); return True if supported."""
        return False

    def do_forward_pass(self, x: Tensor, params: Dict[str, Tensor]) -> Tensor:
        """Run the model: x ``(in_channels, L + n)`` -> ``(out_channels, n)``.

        ``params[name]`` holds each declared knob's value for the block, in the knob's range.
        """
        raise NotImplementedError("implement do_forward_pass(x, params) -> Tensor in your wrapper")
