"""A third-party-style neutone plugin using every hook.

- model family ``torchscript``: wraps a saved TorchScript module ``(channels, n) -> (channels, n)``;
- adapter ``left-channel`` (need ``channels``): feeds mono models the left channel instead of
  the average, for stereo sources whose channels would cancel;
- export check ``finite_output``: the model's output is finite for silence and loud noise;
- command ``neutone torchscript-info FILE``: shows what a TorchScript file offers.
"""
