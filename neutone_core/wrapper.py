"""The wrapper protocol: what a researcher subclasses to put a model in a host.

The method names and meanings follow the Neutone SDK README, so an SDK wrapper works with
only its import line changed. Metadata getters run in Python at export; the methods the
streaming graph calls (``do_forward_pass``, ``aggregate_params``, ``calc_model_delay_samples``,
``reset_model``, ``set_model_sample_rate_and_buffer_size``) are compiled by TorchScript.
"""


from typing import Dict, List, Optional

import torch
from torch import Tensor, nn

from neutone_core.parameters import MAX_N_PARAMS, NeutoneParameter, validate_parameters


class WaveformToWaveformBase(nn.Module):
    """Base class of a model that maps audio ``(in_channels, n)`` to audio ``(out_channels, n)``.

    Subclass it, fill in the metadata getters and ``do_forward_pass``, then export with
    :func:`neutone_core.save_neutone_model`. ``in_channels`` is 1 when ``is_input_mono()``
    else 2; ``out_channels`` likewise with ``is_output_mono()``.

    Args:
        model: the PyTorch module the wrapper drives (stored as ``self.model``).
    """

    neutone_parameter_names: List[str]

    def __init__(self, model: Optional[nn.Module] = None) -> None:
        super().__init__()
        self.model = model
        self.neutone_parameter_names: List[str] = [p.name for p in self.neutone_parameters()]
        self.register_buffer("aggregated_params", torch.zeros(MAX_N_PARAMS, 1), persistent=False)
        self.register_buffer("param_mean_table", torch.zeros(0, 1), persistent=False)
        self.register_buffer("param_mean_weights", torch.zeros(0, 1), persistent=False)
        self.param_look_behind = 0

    def neutone_parameters(self) -> list[NeutoneParameter]:
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

    def get_wet_default_value(self) -> float:
        """Default of the host's wet knob, 0..1."""
        return 1.0

    def get_dry_default_value(self) -> float:
        """Default of the host's dry knob, 0..1."""
        return 0.0

    def get_input_gain_default_value(self) -> float:
        """Default of the host's input gain knob, 0..1."""
        return 1.0

    def get_output_gain_default_value(self) -> float:
        """Default of the host's output gain knob, 0..1."""
        return 1.0

    # --- streaming (compiled by TorchScript) ----------------------------------------------
    def aggregate_params(self, params: Tensor) -> Tensor:
        """Reduce the sample-accurate knobs ``(4, L + n)`` for one model call; default: the
        mean over the ``n`` new samples (look-behind excluded), ``(4, 1)``.

        Override to keep more detail (e.g. return ``params`` itself); row ``i`` becomes
        ``params[name_i]`` in :meth:`do_forward_pass`.
        """
        n = params.size(1)
        if n != self.param_mean_weights.size(0):
            if n > self.param_mean_table.size(0):
                self.prepare_param_aggregation(n, self.param_look_behind)
            self.param_mean_weights = self.param_mean_table[:n]
            self.param_mean_weights.zero_()
            self.param_mean_weights[self.param_look_behind :].fill_(1.0 / (n - self.param_look_behind))
        return torch.mm(params, self.param_mean_weights, out=self.aggregated_params)

    def prepare_param_aggregation(self, max_samples: int, look_behind_samples: int) -> None:
        """Allocate the default mean's weights for calls of up to ``max_samples`` samples, of
        which the first ``look_behind_samples`` are history (called when the stream is set)."""
        self.param_look_behind = look_behind_samples
        self.param_mean_table = torch.zeros(max_samples, 1)
        self.param_mean_weights = self.param_mean_table[:0]

    def calc_model_delay_samples(self) -> int:
        """Delay the model itself adds, in samples at its own rate (e.g. lookahead); default 0."""
        return 0

    def set_model_sample_rate_and_buffer_size(self, sample_rate: int, n_samples: int) -> bool:
        """Called when the stream reaching the model changes (Hz, samples); return True if handled."""
        return True

    def reset_model(self) -> bool:
        """Clear the model's internal state (e.g. recurrent memory); return True if supported."""
        return False

    def do_forward_pass(self, x: Tensor, params: Dict[str, Tensor]) -> Tensor:
        """Run the model: x ``(in_channels, L + n)`` -> ``(out_channels, n)``.

        ``params[name]`` holds the aggregated value of each declared knob, in 0..1.
        """
        raise NotImplementedError("implement do_forward_pass(x, params) -> Tensor in your wrapper")
