"""The ``nn-tilde`` model family: put a TorchScript model of the nn~ convention (RAVE, nn_tilde)
in a host without writing Python.

``convention`` reads what the model declares (methods, channels, ratios, rate, attributes,
delay) and probes the block size a method takes; ``knobs`` binds attributes to knobs;
``wrapper`` adapts the loaded module and wraps it; ``plugin`` registers the family.
"""
