"""Build a wheel and an sdist of every distribution in the repository into one folder.

``python scripts/build_dist.py [DIST_DIR]`` (``make dist``): the core ``neutone``, each
``neutone_adapters/*`` and each ``plugins/*``, with ``python -m build`` (build dependencies from
the package index). A build whose output holds a warning fails: the packaging is kept free
of them rather than filtered.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def distribution_folders(root: Path = ROOT) -> list[Path]:
    """The folders holding a distribution's ``pyproject.toml``: the root first, then the
    adapters and the plugins by name."""
    patterns = ("neutone_adapters/*/pyproject.toml", "plugins/*/pyproject.toml")
    others = sorted(p.parent for pattern in patterns for p in root.glob(pattern))
    return [root, *others]


def warnings_in(output: str) -> list[str]:
    """The lines of a build's output that warn."""
    return [line for line in output.splitlines() if "warning" in line.lower()]


def build(folder: Path, out_dir: Path) -> list[str]:
    """Build ``folder``'s sdist and wheel into ``out_dir``; returns the warning lines.

    ``PYTHONDONTWRITEBYTECODE`` is left out of the build's environment: setuptools warns
    that it cannot byte-compile when it is set."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    done = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out_dir), str(folder)], env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"building {folder} failed:\n{done.stdout}\n{done.stderr}")
    return warnings_in(done.stdout + done.stderr)


def main(argv: list[str]) -> int:
    """Build every distribution into ``argv[0]`` (default ``dist``); exit 1 on any warning."""
    out_dir = Path(argv[0] if argv else ROOT / "dist").resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    warned: dict[Path, list[str]] = {}
    for folder in distribution_folders():
        lines = build(folder, out_dir)
        if lines:
            warned[folder] = lines
        print(f"built {folder.relative_to(ROOT) if folder != ROOT else '.'}", flush=True)
    for path in sorted(out_dir.iterdir()):
        print(f"  {path.name}")
    for folder, lines in warned.items():
        print(f"{folder}: the build warned:", *(f"  {line}" for line in lines), sep="\n", file=sys.stderr)
    return 1 if warned else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
