"""Exceptions raised by neutone, each naming what was wrong and how to fix it."""


class NeutoneError(Exception):
    """Base class of every error neutone raises on purpose."""


class ParameterError(NeutoneError, ValueError):
    """A wrapper declares knob parameters the host cannot show (too many, bad defaults, ...)."""


class MetadataError(NeutoneError, ValueError):
    """A wrapper's metadata breaks the published Neutone limits.

    ``violations`` lists every problem found, each as ``"field: what is wrong"``.
    """

    def __init__(self, violations: list[str]) -> None:
        self.violations = list(violations)
        lines = "\n".join(f"  - {v}" for v in self.violations)
        super().__init__(f"invalid model metadata ({len(self.violations)} problems):\n{lines}")


class ScriptingError(NeutoneError):
    """TorchScript could not compile the wrapper; the message names the method and line."""


class MissingAdapterError(NeutoneError):
    """The model needs an adapter that no installed plugin provides."""


class PlanError(NeutoneError, ValueError):
    """The adapter choices or options given at export do not fit the registered adapters."""


class ModelFileError(NeutoneError):
    """A ``.nm`` file could not be read as an exported neutone model."""


class ExportCheckError(NeutoneError):
    """An export check failed; the exported file was not written."""


class ExportOptionsError(NeutoneError, ValueError):
    """The options given to an export contradict each other or do not apply to the model."""


class ModelRuntimeError(NeutoneError):
    """The model raised while running; the message names the method, the host setting and
    the exception."""


class FamilyError(NeutoneError, ValueError):
    """A model family could not build a wrapper from the given source."""


class AudioFileError(NeutoneError):
    """An audio file could not be read or written."""


class HostSettingError(NeutoneError, ValueError):
    """A host tool got a setting it cannot use: a knob name or value, a rate, a block size."""


class MissingToolError(NeutoneError, ImportError):
    """A host tool needs an optional dependency: ``pip install 'neutone[tools]'``."""
