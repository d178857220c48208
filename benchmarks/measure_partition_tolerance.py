"""What the block_partition check measures for real models: float rounding against state bugs.

Exports each shipped example, a pass-through behind the resampler and the FIFO in both
resampler presets, a float32 running sum, and two models with state bugs, running only the
block_partition check, and prints the largest difference between partitions relative to the
output's peak. Run it under other kernel sets too (``ATEN_CPU_CAPABILITY=default``,
``MKL_CBWR=COMPATIBLE``, ``MKL_ENABLE_INSTRUCTIONS=AVX2``) to see rounding move.

Run: ``python -m benchmarks.measure_partition_tolerance``.
"""

import re
import tempfile
from pathlib import Path

from neutone_core import save_neutone_model
from neutone_core.plugins import get_registry
from neutone_core.testing import PassThroughWrapper
from neutone_core.tools.sources import load_wrapper_from_file

ROOT = Path(__file__).parents[1]
CASES = {
    "clipper": (f"{ROOT}/examples/clipper.py:ClipperModelWrapper", None),
    "mono_overdrive": (f"{ROOT}/examples/mono_overdrive.py:MonoOverdriveWrapper", None),
    "sdk_style clipper": (f"{ROOT}/examples/sdk_style/clipper.py:build", None),
    "delayed_passthrough": (f"{ROOT}/examples/sdk_style/delayed_passthrough.py:build", None),
    "rave_like": (f"{ROOT}/examples/sdk_style/rave_like.py:build", None),
    "prefiltered": (f"{ROOT}/examples/sdk_style/prefiltered.py:build", None),
    "shaper": (f"{ROOT}/examples/sdk_style/shaper.py:ShaperWrapper", None),
    "running sum": (f"{ROOT}/tests/host_tools_models.py:RunningSumWrapper", None),
    "pass-through 44.1 kHz / 2048, high": (None, {"resample": {"quality": "high"}}),
    "pass-through 44.1 kHz / 2048, low-latency": (None, {"resample": {"quality": "low-latency"}}),
    "state dropped every call (bug)": (f"{ROOT}/tests/host_tools_models.py:ForgetfulSumWrapper", None),
    "gain follows the block length (bug)": (f"{ROOT}/tests/host_tools_models.py:BlockLengthGainWrapper", None),
}


def main() -> None:
    """Print one line per case: the largest partition difference, or the failure's."""
    skip = set(get_registry().checks) - {"block_partition"}
    for name, (source, options) in CASES.items():
        wrapper = (
            load_wrapper_from_file(source)
            if source
            else PassThroughWrapper(native_sample_rates=[44100], native_buffer_sizes=[2048])
        )
        try:
            result = save_neutone_model(wrapper, tempfile.mkdtemp(), skip_checks=skip, adapter_options=options)
            found = re.search(r"to ([0-9.e+-]+) of the peak", result.reports["block_partition"])
            print(f"{name:45s} {found.group(1) if found else result.reports['block_partition']}")
        except Exception as exc:  # the state bugs fail the check: print by how much
            found = re.search(r"by ([0-9.e+-]+) of the peak", str(exc))
            print(f"{name:45s} fails: {found.group(1) if found else exc}")


if __name__ == "__main__":
    main()
