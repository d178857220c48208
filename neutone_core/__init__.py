"""neutone: put PyTorch audio models into DAWs as one TorchScript file.

Write a :class:`WaveformToWaveformBase` wrapper, export it with :func:`save_neutone_model`
(or ``neutone compose``), and load the result with :func:`load_neutone_model`.
"""

from neutone_core.errors import (
    ExportCheckError,
    FamilyError,
    MetadataError,
    MissingAdapterError,
    ModelFileError,
    NeutoneError,
    ParameterError,
    PlanError,
    ScriptingError,
)
from neutone_core.export import compose, load_neutone_model, save_neutone_model
from neutone_core.parameters import NeutoneParameter, Parameter
from neutone_core.wrapper import WaveformToWaveformBase

__all__ = [
    "ExportCheckError",
    "FamilyError",
    "MetadataError",
    "MissingAdapterError",
    "ModelFileError",
    "NeutoneError",
    "NeutoneParameter",
    "Parameter",
    "ParameterError",
    "PlanError",
    "ScriptingError",
    "WaveformToWaveformBase",
    "compose",
    "load_neutone_model",
    "save_neutone_model",
]
