"""Knobs in their own units: a continuous gain in dB, a continuous mix and a categorical shape.

The host sends every knob in 0..1; the model receives ``gain_db`` in -24..+24 dB, ``mix`` in
0..1 and ``shape``, a category index 0, 1 or 2 (hard clip, tanh, fold), as the parameter
classes declare.
"""

from argparse import ArgumentParser
from pathlib import Path
from typing import Dict, List

import torch
from torch import Tensor

from neutone_core import (
    CategoricalNeutoneParameter,
    ContinuousNeutoneParameter,
    NeutoneParameter,
    WaveformToWaveformBase,
    save_neutone_model,
)


class ShaperWrapper(WaveformToWaveformBase):
    """``gain_db`` of gain into one of three shapers, mixed with the dry signal."""

    def get_model_name(self) -> str:
        return "shaper"

    def get_model_authors(self) -> List[str]:
        return ["neutone examples"]

    def get_model_short_description(self) -> str:
        return "Waveshaper with a gain in dB and a choice of curve."

    def get_tags(self) -> List[str]:
        return ["distortion"]

    def get_neutone_parameters(self) -> List[NeutoneParameter]:
        return [
            ContinuousNeutoneParameter("gain_db", "input gain in dB", default_value=0.0, min_value=-24.0, max_value=24.0),
            ContinuousNeutoneParameter("mix", "wet share", default_value=1.0),
            CategoricalNeutoneParameter("shape", "curve", n_values=3, default_value=1, labels=["clip", "tanh", "fold"]),
        ]

    def is_input_mono(self) -> bool:
        return False

    def is_output_mono(self) -> bool:
        return False

    def do_forward_pass(self, x: Tensor, params: Dict[str, Tensor]) -> Tensor:
        driven = x * torch.pow(10.0, params["gain_db"] / 20.0)
        shape = int(params["shape"])
        if shape == 0:
            wet = torch.clamp(driven, -1.0, 1.0)
        elif shape == 1:
            wet = torch.tanh(driven)
        else:
            wet = torch.sin(driven * 1.5707963)
        return params["mix"] * wet + (1.0 - params["mix"]) * x


if __name__ == "__main__":
    parser = ArgumentParser()
    parser.add_argument("-o", "--output", default="export_model")
    args = parser.parse_args()
    save_neutone_model(ShaperWrapper(), Path(args.output), dump_samples=True, submission=True)
