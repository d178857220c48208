"""The metadata module a root carries as ``w2w_base``: the SDK's metadata methods, SDK types.

A host written against SDK-exported files reads metadata through the root (``to_metadata``,
``get_metadata_json``, the default-value getters) and through the root's preserved
``w2w_base`` submodule (``get_neutone_parameters_metadata``,
``get_numerical_params_default_values_0to1``, ``to_core_metadata``). This module answers
both under the same names, with the same value types (strings, bools, numbers, lists, the
nested parameter dicts), from typed attributes set at export.
"""

import json
from typing import Any, Dict, List, Union

import torch
from torch import Tensor, nn

from neutone_core.parameters import MAX_N_PARAMS

ParameterField = Union[int, float, str, bool, List[str]]
"""The value types of one knob's metadata fields (``n_values``, ``default_value``, ``labels``, ...)."""


class ModelMetadata(nn.Module):
    """The exported model's metadata, answered with the SDK's method names and value types.

    Args:
        metadata: the validated metadata dict (sample sounds are not kept here: they live
            once, in the archive's ``metadata.json``).
        defaults_0to1: each knob slot's default as the host sends it (4 values in 0..1).
    """

    model_authors: List[str]
    technical_links: Dict[str, str]
    tags: List[str]
    native_sample_rates: List[int]
    native_buffer_sizes: List[int]
    neutone_parameters: Dict[str, Dict[str, ParameterField]]

    def __init__(self, metadata: Dict[str, Any], defaults_0to1: List[float]) -> None:
        super().__init__()
        self.model_name: str = metadata["model_name"]
        self.model_authors = list(metadata["model_authors"])
        self.model_short_description: str = metadata["model_short_description"]
        self.model_long_description: str = metadata["model_long_description"]
        self.technical_description: str = metadata["technical_description"]
        self.technical_links = dict(metadata["technical_links"])
        self.tags = list(metadata["tags"])
        self.model_version: str = metadata["model_version"]
        self.citation: str = metadata["citation"]
        self.experimental: bool = metadata["is_experimental"]
        self.neutone_parameters = {slot: dict(fields) for slot, fields in metadata["neutone_parameters"].items()}
        self.wet_default: float = float(metadata["wet_default_value"])
        self.dry_default: float = float(metadata["dry_default_value"])
        self.input_gain_default: float = float(metadata["input_gain_default_value"])
        self.output_gain_default: float = float(metadata["output_gain_default_value"])
        self.input_mono: bool = metadata["is_input_mono"]
        self.output_mono: bool = metadata["is_output_mono"]
        self.model_type: str = metadata["model_type"]
        self.native_sample_rates = list(metadata["native_sample_rates"])
        self.native_buffer_sizes = list(metadata["native_buffer_sizes"])
        self.look_behind_samples: int = int(metadata["look_behind_samples"])
        self.sdk_version: str = metadata["sdk_version"]
        self.neutone_version: str = metadata["neutone_version"]
        self.pytorch_version: str = metadata["pytorch_version"]
        self.date_created: float = float(metadata["date_created"])
        without_sounds = {k: v for k, v in metadata.items() if k != "sample_sound_files"}
        self.metadata_text: str = json.dumps(without_sounds, indent=2, sort_keys=True)
        defaults = torch.tensor(defaults_0to1, dtype=torch.float32).reshape(MAX_N_PARAMS, 1)
        self.register_buffer("numerical_params_default_values_0to1", defaults)

    @torch.jit.export
    def get_neutone_parameters_metadata(self) -> Dict[str, Dict[str, ParameterField]]:
        """Knob slots ``p1``..``p4`` with each knob's fields, as the SDK writes them."""
        return self.neutone_parameters

    @torch.jit.export
    def get_numerical_params_default_values_0to1(self) -> Tensor:
        """The four knobs' defaults as the host sends them, ``(4, 1)`` in 0..1."""
        return self.numerical_params_default_values_0to1

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
        """Default of the host's input gain knob (0..1 maps to -30..+30 dB)."""
        return self.input_gain_default

    @torch.jit.export
    def get_output_gain_default_value(self) -> float:
        """Default of the host's output gain knob (0..1 maps to -30..+30 dB)."""
        return self.output_gain_default

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
    def get_look_behind_samples(self) -> int:
        """Past samples the model sees before each block."""
        return self.look_behind_samples

    @torch.jit.export
    def get_core_preserved_attributes(self) -> List[str]:
        """The methods of this module a host may call (the SDK's list for its core)."""
        return [
            "get_neutone_parameters_metadata",
            "get_numerical_params_default_values_0to1",
            "get_wet_default_value",
            "get_dry_default_value",
            "get_input_gain_default_value",
            "get_output_gain_default_value",
            "get_core_preserved_attributes",
            "to_core_metadata",
            "to_metadata",
            "get_metadata_json",
        ]

    @torch.jit.export
    def to_core_metadata(self) -> Dict[str, Any]:
        """The SDK's core metadata fields with their own types."""
        return {
            "model_name": self.model_name,
            "model_authors": self.model_authors,
            "model_short_description": self.model_short_description,
            "model_long_description": self.model_long_description,
            "neutone_parameters": self.neutone_parameters,
            "wet_default_value": self.wet_default,
            "dry_default_value": self.dry_default,
            "input_gain_default_value": self.input_gain_default,
            "output_gain_default_value": self.output_gain_default,
            "technical_description": self.technical_description,
            "technical_links": self.technical_links,
            "tags": self.tags,
            "model_version": self.model_version,
            "sdk_version": self.sdk_version,
            "pytorch_version": self.pytorch_version,
            "date_created": self.date_created,
            "citation": self.citation,
            "is_experimental": self.experimental,
        }

    @torch.jit.export
    def to_metadata(self) -> Dict[str, Any]:
        """Every metadata field but the sample sounds, with its own type (as the SDK's root)."""
        metadata = self.to_core_metadata()
        metadata["is_input_mono"] = self.input_mono
        metadata["is_output_mono"] = self.output_mono
        metadata["model_type"] = self.model_type
        metadata["native_sample_rates"] = self.native_sample_rates
        metadata["native_buffer_sizes"] = self.native_buffer_sizes
        metadata["look_behind_samples"] = self.look_behind_samples
        metadata["neutone_version"] = self.neutone_version
        return metadata

    @torch.jit.export
    def get_metadata_json(self) -> str:
        """``to_metadata()`` as JSON text (the archive's ``metadata.json`` adds the sounds)."""
        return self.metadata_text
