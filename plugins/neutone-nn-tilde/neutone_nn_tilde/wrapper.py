"""The wrapper around an nn~ model: one declared audio method, its knobs, its rate and block size.

TorchScript calls methods by names known when it compiles, so the family first adds four
methods to the loaded module (``ScriptModule.define``): ``neutone_audio`` calls the chosen
method, ``neutone_set_knobs`` calls each knob's setter, ``neutone_set_sample_rate`` calls the
module's ``set_sample_rate`` where it has one, and ``neutone_restore`` puts back every buffer
as it was when the file was loaded (the convention has no reset; a cached convolution's
past lives in buffers). The wrapper calls only those.
"""


from typing import Dict, List

import torch
from torch import Tensor

from neutone_core import FamilyError, NeutoneParameter, WaveformToWaveformBase
from neutone_nn_tilde.convention import NnTildeMethod, method_names
from neutone_nn_tilde.knobs import KnobBinding


def _define(module: torch.jit.ScriptModule, signature: str, body: list[str]) -> None:
    source = f"def {signature}:\n" + "".join(f"    {line}\n" for line in body or ["pass"])
    try:
        module.define(source)
    except Exception as exc:  # a setter or method whose types do not fit the call
        raise FamilyError(f"cannot call the model as declared ({str(exc).strip().splitlines()[0]}):\n{source}") from exc


def adapt_module(module: torch.jit.ScriptModule, method: NnTildeMethod, knobs: list[KnobBinding]) -> None:
    """Add the methods the wrapper calls to the loaded module."""
    _define(module, "neutone_audio(self, x: Tensor) -> Tensor", [f"return self.{method.name}(x)"])
    _define(module, "neutone_set_knobs(self, values: List[float]) -> None", [k.setter_call(i) for i, k in enumerate(knobs)])
    setter = ["self.set_sample_rate(sample_rate)"] if "set_sample_rate" in method_names(module) else []
    _define(module, "neutone_set_sample_rate(self, sample_rate: int) -> None", setter)
    restores = [f"self.{name} = initial[{i}].clone()" for i, (name, _) in enumerate(module.named_buffers())]
    _define(module, "neutone_restore(self, initial: List[Tensor]) -> None", restores)


def initial_buffers(module: torch.jit.ScriptModule) -> List[Tensor]:
    """Copies of the module's buffers as loaded, in ``neutone_restore``'s order."""
    return [buffer.clone() for _, buffer in module.named_buffers()]


class NnTildeWrapper(WaveformToWaveformBase):
    """Runs one audio method of an nn~ model on each block, its knobs setting attributes first.

    Shape: ``(in_channels, n) -> (out_channels, n)``; the model sees ``(1, channels, n)``.

    Args:
        module: the loaded model, adapted by :func:`adapt_module`.
        name: the model name (the file's stem).
        method: the declared method run.
        sample_rates: the model's rate (empty: any).
        buffer_sizes: the block size it takes (empty: any).
        delay_samples: its own delay, samples at its rate.
        knobs: the attributes the knobs set.
    """

    knob_names: List[str]
    initial_state: List[Tensor]

    def __init__(
        self,
        module: torch.jit.ScriptModule,
        name: str,
        method: NnTildeMethod,
        sample_rates: List[int],
        buffer_sizes: List[int],
        delay_samples: int,
        knobs: List[KnobBinding],
    ) -> None:
        self.name = name
        self.method = method
        self.sample_rates = sample_rates
        self.buffer_sizes = buffer_sizes
        self.delay_samples = delay_samples
        self.knobs = knobs
        super().__init__(module)
        self.knob_names = [knob.attribute for knob in knobs]
        self.initial_state = initial_buffers(module)

    def get_model_name(self) -> str:
        """The file's stem (``--option model_name=...`` renames it)."""
        return self.name

    def get_model_authors(self) -> List[str]:
        """Unknown until given (``--option model_authors=...`` or ``--meta``)."""
        return ["unknown"]

    def get_model_short_description(self) -> str:
        """Which method runs."""
        return f"nn~ model, method {self.method.name}."

    def get_technical_description(self) -> str:
        """Channels, rate, block size and delay as read from the model."""
        rate = f"{self.sample_rates[0]} Hz" if self.sample_rates else "any rate"
        block = f"blocks of {self.buffer_sizes[0]}" if self.buffer_sizes else "any block"
        return (
            f"nn~ method {self.method.name}: {self.method.in_channels} -> {self.method.out_channels} channels, {rate}, "
            f"{block}, delay {self.delay_samples} samples."
        )

    def get_tags(self) -> List[str]:
        """``nn~``."""
        return ["nn~"]

    def get_neutone_parameters(self) -> List[NeutoneParameter]:
        """One knob per attribute bound with ``knobN`` options."""
        return [knob.parameter() for knob in self.knobs]

    def is_input_mono(self) -> bool:
        """One input channel declared."""
        return self.method.in_channels == 1

    def is_output_mono(self) -> bool:
        """One output channel declared."""
        return self.method.out_channels == 1

    def get_native_sample_rates(self) -> List[int]:
        """The model's ``sr`` (or the ``sample_rate`` option)."""
        return self.sample_rates

    def get_native_buffer_sizes(self) -> List[int]:
        """The block size the method takes, probed (or the ``buffer_size`` option)."""
        return self.buffer_sizes

    def calc_model_delay_samples(self) -> int:
        """The model's own delay in samples at its rate."""
        return self.delay_samples

    def set_model_sample_rate_and_buffer_size(self, sample_rate: int, n_samples: int) -> bool:
        """Tell a model that has ``set_sample_rate`` the rate it runs at."""
        self.model.neutone_set_sample_rate(sample_rate)
        return True

    def reset_model(self) -> bool:
        """Put the model's buffers back as loaded: the stream starts afresh."""
        self.model.neutone_restore(self.initial_state)
        return True

    def do_forward_pass(self, x: Tensor, params: Dict[str, Tensor]) -> Tensor:
        """Set the knobbed attributes, then run the method on ``(1, channels, n)``."""
        values: List[float] = []
        for name in self.knob_names:
            values.append(float(params[name]))
        self.model.neutone_set_knobs(values)
        return self.model.neutone_audio(x.unsqueeze(0))[0]
