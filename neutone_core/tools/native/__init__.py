"""A C++ host, compiled against the installed LibTorch, that runs model.nm as a native plugin does.

>>> from neutone_core.tools.native import Configure, Process, run_session
>>> result = run_session("model.nm", [Configure(48000, 512), Process(audio)])  # doctest: +SKIP
"""

from neutone_core.tools.native.build import NativeHost, NativeHostBuildError, build_native_host
from neutone_core.tools.native.session import (
    BlockTimeSummary,
    CallResult,
    Configure,
    ConfigureResult,
    HostCall,
    NativeHostError,
    NativeHostFailure,
    NativeSession,
    NativeSessionResult,
    Process,
    ProcessResult,
    Reset,
    ResetResult,
    read_results,
    run_session,
    summarise_block_times,
    write_session,
)

__all__ = [
    "BlockTimeSummary",
    "CallResult",
    "Configure",
    "ConfigureResult",
    "HostCall",
    "NativeHost",
    "NativeHostBuildError",
    "NativeHostError",
    "NativeHostFailure",
    "NativeSession",
    "NativeSessionResult",
    "Process",
    "ProcessResult",
    "Reset",
    "ResetResult",
    "build_native_host",
    "read_results",
    "run_session",
    "summarise_block_times",
    "write_session",
]
