"""Commands the installation tests run as a user would: no plugin filter, no PYTHONPATH from
the test run."""

import os
import subprocess
from pathlib import Path


def run(args: list[str], cwd: Path | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run ``args`` (in ``cwd``) with the test run's NEUTONE_LOAD_PLUGINS and PYTHONPATH removed;
    with ``check``, a non-zero exit fails naming the command and both outputs."""
    env = {k: v for k, v in os.environ.items() if k not in ("NEUTONE_LOAD_PLUGINS", "PYTHONPATH")}
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    if check and done.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done
