"""neutone: put PyTorch audio models into DAWs as one TorchScript file.

Model authors write a :class:`WaveformToWaveformBase` wrapper, export it with
:func:`save_neutone_model` (or ``neutone compose``) and load the result with
:func:`load_neutone_model`. Plugin authors implement hooks marked with :data:`hookimpl` and
build adapter stages on :class:`AdapterStage`, configured with a :class:`Stream` and planned
from :class:`StreamNeeds` records; model families declare :class:`FamilyOption` options.
"""

from neutone_core.errors import (
    ExportCheckError,
    ExportOptionsError,
    FamilyError,
    MetadataError,
    MissingAdapterError,
    ModelFileError,
    ModelRuntimeError,
    NeutoneError,
    ParameterError,
    PlanError,
    ScriptingError,
)
from neutone_core.export import ExportContext, compose, load_neutone_model, save_neutone_model
from neutone_core.families import FamilyOption, load_torchscript_source
from neutone_core.hookspecs import hookimpl
from neutone_core.model_stage import ModelStage
from neutone_core.needs import ANY_CHANNELS, HOST_STREAM, StreamNeeds
from neutone_core.parameters import (
    CategoricalNeutoneParameter,
    ContinuousNeutoneParameter,
    NeutoneParameter,
    Parameter,
    TextNeutoneParameter,
)
from neutone_core.planner import choice_option
from neutone_core.stage import AdapterStage, Stream, stream_with, stream_with_channels
from neutone_core.wrapper import WaveformToWaveformBase

__all__ = [
    "ANY_CHANNELS",
    "HOST_STREAM",
    "AdapterStage",
    "CategoricalNeutoneParameter",
    "ContinuousNeutoneParameter",
    "ExportCheckError",
    "ExportContext",
    "ExportOptionsError",
    "FamilyError",
    "FamilyOption",
    "MetadataError",
    "MissingAdapterError",
    "ModelFileError",
    "ModelRuntimeError",
    "ModelStage",
    "NeutoneError",
    "NeutoneParameter",
    "Parameter",
    "ParameterError",
    "PlanError",
    "ScriptingError",
    "Stream",
    "StreamNeeds",
    "TextNeutoneParameter",
    "WaveformToWaveformBase",
    "choice_option",
    "compose",
    "hookimpl",
    "load_neutone_model",
    "load_torchscript_source",
    "save_neutone_model",
    "stream_with",
    "stream_with_channels",
]
