"""Channel mixer adapter: mono and stereo hosts around mono and stereo models.

Stereo host -> mono model: the two channels are averaged. Mono model -> stereo host: the
output is duplicated. Mono host -> stereo model: duplicated in, averaged out. When the
layouts match the stage passes blocks straight through and costs nothing.
"""

from neutone_adapters.mixer.stage import MixerStage

__all__ = ["MixerStage"]
