"""Knob smoothing: a neutone adapter for the ``knob_smoothing_ms`` need."""

from neutone_knob_smoother.stage import KnobSmootherStage, smooth_knobs

__all__ = ["KnobSmootherStage", "smooth_knobs"]
