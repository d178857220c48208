"""An SDK-style clipper: knob tensors written in place, sample-accurate knobs, continuous knobs.

Written as for the Neutone SDK (``WaveformToWaveformBase(model)``, ``ContinuousNeutoneParameter``,
``@torch.jit.export`` on the getters, ``aggregate_params`` returning every sample); only the
import lines name neutone. The model clips ``x`` in place between ``-min * gain`` and
``max * gain`` and overwrites the knob tensors it is given, which neutone allows: every call
gets fresh copies.
"""

from argparse import ArgumentParser
from pathlib import Path
from typing import Dict, List

import torch
from torch import Tensor, nn

from neutone_core import ContinuousNeutoneParameter, NeutoneParameter, WaveformToWaveformBase, save_neutone_model


class ClipperModel(nn.Module):
    """Hard clipper working in place on its inputs. Shape: ``(channels, n) -> (channels, n)``."""

    def forward(self, x: Tensor, min_val: Tensor, max_val: Tensor, gain: Tensor) -> Tensor:
        torch.neg(min_val, out=min_val)
        torch.mul(gain, min_val, out=min_val)
        torch.mul(gain, max_val, out=max_val)
        torch.clip(x, min=min_val, max=max_val, out=x)
        return x


class ClipperModelWrapper(WaveformToWaveformBase):
    """The clipper with per-sample knobs."""

    def get_model_name(self) -> str:
        return "clipper.sdk-style"

    def get_model_authors(self) -> List[str]:
        return ["neutone examples"]

    def get_model_short_description(self) -> str:
        return "Audio clipper with sample-accurate knobs."

    def get_model_long_description(self) -> str:
        return "Clips the input between two thresholds scaled by a gain knob, sample by sample."

    def get_technical_description(self) -> str:
        return "torch.clip in place; the thresholds follow the knobs at every sample."

    def get_technical_links(self) -> Dict[str, str]:
        return {}

    def get_tags(self) -> List[str]:
        return ["clipper"]

    def get_model_version(self) -> str:
        return "1.0.0"

    def is_experimental(self) -> bool:
        return False

    def get_neutone_parameters(self) -> List[NeutoneParameter]:
        return [
            ContinuousNeutoneParameter("min", "min clip threshold", default_value=0.15),
            ContinuousNeutoneParameter("max", "max clip threshold", default_value=0.15),
            ContinuousNeutoneParameter("gain", "scale clip threshold", default_value=1.0),
        ]

    @torch.jit.export
    def is_input_mono(self) -> bool:
        return False

    @torch.jit.export
    def is_output_mono(self) -> bool:
        return False

    @torch.jit.export
    def get_native_sample_rates(self) -> List[int]:
        return []

    @torch.jit.export
    def get_native_buffer_sizes(self) -> List[int]:
        return []

    def aggregate_params(self, params: Tensor) -> Tensor:
        return params  # sample-level control

    def do_forward_pass(self, x: Tensor, params: Dict[str, Tensor]) -> Tensor:
        min_val, max_val, gain = params["min"], params["max"], params["gain"]
        return self.model.forward(x, min_val, max_val, gain)


def build() -> ClipperModelWrapper:
    """The wrapper around a fresh model (``neutone compose clipper.py:build``)."""
    return ClipperModelWrapper(ClipperModel())


if __name__ == "__main__":
    parser = ArgumentParser()
    parser.add_argument("-o", "--output", default="export_model")
    args = parser.parse_args()
    save_neutone_model(build(), Path(args.output), dump_samples=True, submission=True)
