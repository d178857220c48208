"""Host tools built on the core: stream, render, bench, profile, plot, export checks, CLI.

Everything here drives exported models the way a host does; nothing in :mod:`neutone_core`
outside this package imports it.
"""
