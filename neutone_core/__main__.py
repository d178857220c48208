"""``python -m neutone_core``: the ``neutone`` command line."""

from neutone_core.tools.cli import cli

if __name__ == "__main__":
    cli(prog_name="neutone")
