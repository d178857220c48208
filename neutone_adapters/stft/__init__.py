"""STFT adapter: spectrogram models in a waveform host, with exact resynthesis.

A model written on :class:`SpectralToSpectralBase` works on STFT frames ``(channels, bins,
frames)``; the planner nests :class:`StftStage` around it, inside the FIFO, which hands it
whole hops with the look-behind the frames need. Analysis, per-frame knobs and overlap-add
synthesis stream with their state carried across calls, at the least delay the configuration
allows (see :mod:`neutone_adapters.stft.stage` for the formula).
"""

from neutone_adapters.stft.config import REPRESENTATIONS, WINDOWS, SpectralConfigError, StftConfig, stft_config
from neutone_adapters.stft.frame_knobs import FrameKnobMean
from neutone_adapters.stft.model_stage import SpectralModelStage
from neutone_adapters.stft.stage import StftStage
from neutone_adapters.stft.wrapper import SpectralToSpectralBase

__all__ = [
    "REPRESENTATIONS",
    "WINDOWS",
    "FrameKnobMean",
    "SpectralConfigError",
    "SpectralModelStage",
    "SpectralToSpectralBase",
    "StftConfig",
    "StftStage",
    "stft_config",
]
