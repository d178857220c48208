"""The benchmarks' shared side of ``benchmarks/RESULTS.md``: one section replaced in place, and
the command line that reproduces a section's figures."""

import sys
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")


def write_section(heading: str, text: str) -> None:
    """Replace the section of RESULTS.md that starts at the line ``heading`` (up to the next
    ``## `` heading) with ``text``, leaving every other section as it is."""
    content = RESULTS.read_text()
    start = content.index(heading)
    end = content.find("\n## ", start + len(heading))
    end = len(content) if end < 0 else end + 1
    RESULTS.write_text(content[:start] + text + ("\n" if end < len(content) else "") + content[end:])


def shown_command(module: str) -> str:
    """``python -m MODULE`` with this process's arguments, less ``--json PATH`` (a reader's own
    output file is no part of what reproduces the figures)."""
    shown = [a for i, a in enumerate(sys.argv[1:]) if a != "--json" and (i == 0 or sys.argv[i] != "--json")]
    return f"python -m {module} " + " ".join(shown)
