"""neutone's installed distributions, and the pip command that installs one more where the
core is installed.

The core reads how it was installed from its own record (PEP 610 ``direct_url.json``):

- from a checkout (``pip install -e .`` or ``pip install .``): the first-party distributions
  are folders next to it, ``pip install -e neutone_adapters/mixer``;
- from a wheel file (``pip install dist/neutone-*.whl``): the wheelhouse that holds it,
  ``pip install --find-links dist neutone-adapter-mixer``;
- from the package index, or by name from a wheelhouse (pip records neither):
  ``pip install "neutone[mixer]"``, with ``--find-links`` for a wheelhouse.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from urllib.parse import unquote, urlparse

CORE_DISTRIBUTION = "neutone"
ENTRY_POINT_GROUP = "neutone"


@dataclass(frozen=True)
class CoreOrigin:
    """Where the installed core came from.

    Attributes:
        checkout: the source tree it was installed from, or None.
        editable: installed editable from that tree.
        wheelhouse: the folder of the wheel file it was installed from, or None.
    """

    checkout: Path | None = None
    editable: bool = False
    wheelhouse: Path | None = None


def _url_path(url: str) -> Path | None:
    parsed = urlparse(url)
    return Path(unquote(parsed.path)) if parsed.scheme == "file" else None


def core_origin() -> CoreOrigin:
    """How the running core was installed: from the source tree its code is in (an editable
    install, or a checkout on ``sys.path``), else as its distribution's ``direct_url.json`` says."""
    package_parent = Path(__file__).resolve().parents[1]
    if (package_parent / "pyproject.toml").is_file():
        return CoreOrigin(checkout=package_parent, editable=True)
    installed = next(iter(metadata.distributions(name=CORE_DISTRIBUTION, path=[str(package_parent)])), None)
    record = installed.read_text("direct_url.json") if installed is not None else None
    if not record:
        return CoreOrigin()
    direct = json.loads(record)
    path = _url_path(direct.get("url", ""))
    if path is None:
        return CoreOrigin()
    if "dir_info" in direct:
        return CoreOrigin(checkout=path, editable=bool(direct["dir_info"].get("editable", False)))
    if path.suffix == ".whl":
        return CoreOrigin(wheelhouse=path.parent)
    return CoreOrigin()


def distribution_folder(checkout: Path, distribution: str) -> Path | None:
    """The folder of a first-party distribution in a checkout (``neutone-adapter-X`` in
    ``neutone_adapters/X``, others in ``plugins/<distribution>``), if it is there."""
    prefix = "neutone-adapter-"
    if distribution.startswith(prefix):
        folder = checkout / "neutone_adapters" / distribution[len(prefix) :]
    else:
        folder = checkout / "plugins" / distribution
    return folder if (folder / "pyproject.toml").is_file() else None


def _shown(path: Path) -> str:
    """``path`` relative to the working folder when inside it, else absolute."""
    try:
        return os.path.relpath(path) if path.resolve().is_relative_to(Path.cwd().resolve()) else str(path)
    except ValueError:
        return str(path)


def install_command(distribution: str, extra: str | None = None, origin: CoreOrigin | None = None) -> str:
    """The pip command that installs the first-party ``distribution`` where the core is: its
    checkout folder, the wheelhouse the core came from, or the index (``neutone[extra]`` when
    the distribution is one of the core's extras)."""
    origin = origin or core_origin()
    if origin.checkout is not None:
        folder = distribution_folder(origin.checkout, distribution)
        if folder is not None:
            return f"pip install {'-e ' if origin.editable else ''}{_shown(folder)}"
    if origin.wheelhouse is not None:
        wheel_name = distribution.replace("-", "_")
        if any(origin.wheelhouse.glob(f"{wheel_name}-*.whl")):
            return f"pip install --find-links {_shown(origin.wheelhouse)} {distribution}"
    requirement = f'"{CORE_DISTRIBUTION}[{extra}]"' if extra else distribution
    return f"pip install {requirement} (from a wheelhouse: pip install --find-links WHEELHOUSE {requirement})"


def installed_distributions() -> list[tuple[str, str]]:
    """``(name, version)`` of the core, of the first-party distributions its extras name
    (``neutone-blocks``, the adapters) and of every other distribution with a ``neutone``
    entry point: the core first, then by name."""
    try:
        requirements = metadata.requires(CORE_DISTRIBUTION) or []
    except metadata.PackageNotFoundError:
        requirements = []
    extras = {name for name in map(_requirement_name, requirements) if name.startswith(f"{CORE_DISTRIBUTION}-")}
    found: dict[str, str] = {}
    for distribution in metadata.distributions():
        name = distribution.metadata["Name"]
        if name is None or name in found:
            continue
        if name == CORE_DISTRIBUTION or name in extras or any(ep.group == ENTRY_POINT_GROUP for ep in distribution.entry_points):
            found[name] = distribution.version
    core = [(CORE_DISTRIBUTION, found.pop(CORE_DISTRIBUTION))] if CORE_DISTRIBUTION in found else []
    return core + sorted(found.items())


def _requirement_name(requirement: str) -> str:
    """The distribution a requirement line names (``"neutone-blocks; extra == 'all'"`` ->
    ``neutone-blocks``)."""
    return re.split(r"[\s;<>=!~\[(@]", requirement, maxsplit=1)[0]
