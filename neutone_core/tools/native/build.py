"""Build ``host.cpp`` against the installed torch's LibTorch with the machine's C++ compiler, once.

The binary is cached under ``$NEUTONE_CACHE_DIR/native-host/`` (default
``~/.cache/neutone/native-host/``) in a folder named after the torch version and a hash of
the source and the compile flags (which name torch's folders), so another torch, another
environment or a changed ``host.cpp`` builds afresh. A build writes a temporary file in that
folder and renames it into place, so processes building at once never leave a broken binary.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from neutone_core.errors import NeutoneError

HOST_SOURCE = Path(__file__).with_name("host.cpp")
BINARY_NAME = "neutone-native-host"
CACHE_DIR_ENV = "NEUTONE_CACHE_DIR"
COMPILERS = ("g++", "clang++", "c++")
"""Tried on PATH in this order when ``$CXX`` is not set."""
COMPILE_TIMEOUT_S = 600.0
COMPILER_OUTPUT_LINES = 30
"""Lines of the compiler's output a build error shows (the last ones)."""
INSTALL_HINT = "install a C++ compiler (Debian/Ubuntu: `apt install g++`; Fedora: `dnf install gcc-c++`) or set CXX"


class NativeHostBuildError(NeutoneError):
    """The native host could not be built: no C++ compiler, no LibTorch headers, or the compile failed."""


@dataclass(frozen=True)
class LibTorch:
    """Where the installed torch keeps LibTorch, and how it was compiled."""

    torch_version: str
    include_dirs: tuple[Path, ...]
    library_dir: Path
    cxx11_abi: bool


@dataclass(frozen=True)
class NativeHost:
    """The built host binary; ``build_time_s`` is 0 when it came from the cache."""

    path: Path
    from_cache: bool
    build_time_s: float


def find_libtorch() -> LibTorch:
    """LibTorch's headers and libraries inside the installed ``torch`` package."""
    package = Path(torch.__file__).parent
    include = package / "include"
    library_dir = package / "lib"
    if not (include / "torch" / "script.h").is_file():
        raise NativeHostBuildError(
            f"torch {torch.__version__} at {package} ships no LibTorch headers ({include / 'torch' / 'script.h'} "
            "is missing): install the official wheel with `pip install torch`"
        )
    return LibTorch(
        torch_version=torch.__version__,
        include_dirs=(include, include / "torch" / "csrc" / "api" / "include"),
        library_dir=library_dir,
        cxx11_abi=bool(torch._C._GLIBCXX_USE_CXX11_ABI),
    )


def find_compiler() -> list[str]:
    """The C++ compiler command: ``$CXX`` (may hold arguments), else the first of g++, clang++, c++ on PATH."""
    from_env = os.environ.get("CXX", "").strip()
    if from_env:
        command = shlex.split(from_env)
        if shutil.which(command[0]) is None:
            raise NativeHostBuildError(f"CXX={from_env!r}: {command[0]} is not an executable on PATH; {INSTALL_HINT}")
        return command
    for name in COMPILERS:
        found = shutil.which(name)
        if found is not None:
            return [found]
    raise NativeHostBuildError(
        f"the native host needs a C++ compiler and none of {', '.join(COMPILERS)} is on PATH: {INSTALL_HINT}"
    )


def compile_flags(libtorch: LibTorch) -> list[str]:
    """Flags placed before the source: language, optimisation, ABI and LibTorch's headers."""
    flags = ["-std=c++20", "-O2", f"-D_GLIBCXX_USE_CXX11_ABI={int(libtorch.cxx11_abi)}"]
    for include in libtorch.include_dirs:
        flags += ["-isystem", str(include)]
    return flags


def link_flags(libtorch: LibTorch) -> list[str]:
    """Flags placed after the source: LibTorch's libraries, found at run time through the rpath."""
    library_dir = str(libtorch.library_dir)
    return ["-L", library_dir, f"-Wl,-rpath,{library_dir}", "-ltorch", "-ltorch_cpu", "-lc10", "-pthread"]


def cache_root() -> Path:
    """``$NEUTONE_CACHE_DIR/native-host``, default ``~/.cache/neutone/native-host``."""
    base = os.environ.get(CACHE_DIR_ENV)
    return (Path(base) if base else Path.home() / ".cache" / "neutone") / "native-host"


def binary_path(libtorch: LibTorch, source: Path) -> Path:
    """Where the program built from ``source`` with these flags lives in the cache: named
    ``neutone-native-host`` for ``host.cpp``, else after the source file."""
    digest = hashlib.sha256(source.read_bytes())
    digest.update("\0".join(compile_flags(libtorch) + link_flags(libtorch)).encode())
    name = BINARY_NAME if source == HOST_SOURCE else source.stem
    return cache_root() / f"{libtorch.torch_version}-{digest.hexdigest()[:16]}" / name


def _compile(compiler: list[str], libtorch: LibTorch, source: Path, output: Path) -> None:
    """Compile and link ``source`` into ``output``; a failure shows the compiler's last lines."""
    command = [*compiler, *compile_flags(libtorch), str(source), "-o", str(output), *link_flags(libtorch)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=COMPILE_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired as exc:
        raise NativeHostBuildError(
            f"compiling the native host took over {COMPILE_TIMEOUT_S:.0f} s: {shlex.join(command)}"
        ) from exc
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-COMPILER_OUTPUT_LINES:])
        raise NativeHostBuildError(
            f"compiling the native host failed (exit code {done.returncode}):\n{shlex.join(command)}\n{tail}"
        )


def build_native_host(force: bool = False, source: Path | None = None) -> NativeHost:
    """The native host binary for the installed torch: from the cache, else compiled now (seconds).

    ``force`` rebuilds even when a cached binary exists. ``source`` builds another one-file C++
    program against LibTorch the same way (default ``host.cpp``). Raises
    :class:`NativeHostBuildError` when there is no compiler or the compile fails."""
    source = HOST_SOURCE if source is None else source
    libtorch = find_libtorch()
    target = binary_path(libtorch, source)
    if target.is_file() and not force:
        return NativeHost(target, from_cache=True, build_time_s=0.0)
    compiler = find_compiler()
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(prefix=f".{target.name}-", dir=target.parent)
    os.close(handle)
    temp = Path(temp_name)
    started = time.perf_counter()
    try:
        _compile(compiler, libtorch, source, temp)
        temp.chmod(0o755)
        temp.replace(target)
    finally:
        temp.unlink(missing_ok=True)
    return NativeHost(target, from_cache=False, build_time_s=time.perf_counter() - started)
