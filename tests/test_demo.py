"""``make demo`` (``examples/demo.py``): the export checks as they finish, the plan, three host
settings with the delay reported and measured, and nothing on stderr."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]


def test_the_demo_prints_checks_plan_and_host_settings_and_nothing_on_stderr(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "NEUTONE_LOAD_PLUGINS"} | {"PYTHONUNBUFFERED": "1"}
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "demo.py"), str(tmp_path / "clipper")], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0 and done.stderr == "", done.stderr
    lines = done.stdout.splitlines()
    plan = lines.index("plan: root -> mixer -> model")
    assert plan > 0 and all(line.startswith("check ") for line in lines[:plan])
    hosts = [line for line in lines if line.startswith("host ")]
    assert len(hosts) == 3
    for line in hosts:
        reported, measured = line.split("delay reported ")[1].removesuffix(" samples").split(" measured ")
        assert reported == measured, line
    assert (tmp_path / "clipper" / "model.nm").is_file()
