"""``python -m neutone_core``: the ``neutone`` command line."""

from neutone_core.cli import cli

cli()
