"""Streaming building blocks for realtime audio models (the Neutone SDK's module names).

``filters`` (FIR, biquad, modulated state-variable filter), ``conv`` (cached causal
convolutions), ``tcn_1d`` (FiLM and TCN stacks), ``realtime_stft`` and ``cached_mel_spec``, on
shared cores: ``stft`` (framed analysis, overlap-add synthesis), ``look_behind``,
``fir_design``, ``svf``, ``state_space`` and ``magnitude_phase``. Every module is TorchScript-compatible, keeps
its state across calls, allocates nothing per call in steady state and has ``reset()``.
"""
