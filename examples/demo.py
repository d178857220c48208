"""The main job end to end: export the clipper, load the file back, stream a test signal
through it as a DAW would, and print the composition plan and the reported delay."""

import math
import sys
from pathlib import Path

import torch

from neutone_core import load_neutone_model, save_neutone_model
from neutone_core.tools.host import active_stage_names, impulse_delay, stream

sys.path.insert(0, str(Path(__file__).parent))
from clipper import ClipperModelWrapper  # noqa: E402

HOST_SETTINGS = ((48000, 512, 2), (44100, 128, 1), (96000, 2048, 2))
"""(host rate Hz, buffer size samples, channels) the demo streams at."""


def test_signal(sample_rate: int, seconds: float, n_channels: int) -> torch.Tensor:
    """A decaying 220 Hz tone with a rising 0.1..1.2 amplitude ramp: ``(n_channels, n)``."""
    t = torch.arange(int(sample_rate * seconds)) / sample_rate
    tone = torch.sin(2 * math.pi * 220.0 * t) * torch.linspace(0.1, 1.2, t.numel())
    return tone.repeat(n_channels, 1)


def main(out_dir: str = "out/clipper") -> None:
    """Run the demo, writing the export to ``out_dir``."""
    result = save_neutone_model(ClipperModelWrapper(), out_dir, on_report=lambda name, report: print(f"check {name}: {report}"))
    print("plan:", " -> ".join(["root", *(p.spec.name for p in result.plan), "model"]))
    model, metadata = load_neutone_model(result.model_path)
    print(f"loaded {result.model_path}: {metadata['model_name']} ({metadata['model_type']})")
    for sample_rate, block_size, n_channels in HOST_SETTINGS:
        audio = test_signal(sample_rate, 1.0, n_channels)
        params = torch.tensor([[0.3], [0.6], [1.0], [0.0]]).expand(4, audio.size(1))
        out = stream(model, audio, sample_rate, block_size, params)
        active = active_stage_names(model)
        reported = model.calc_buffering_delay_samples() + model.calc_model_delay_samples()
        measured = impulse_delay(model, sample_rate, block_size, n_channels)
        layout = "stereo" if n_channels == 2 else "mono"
        print(
            f"host {sample_rate} Hz / {block_size} / {layout}: active stages "
            f"{active}, peak in {audio.abs().max():.2f} -> out {out.abs().max():.2f}, "
            f"delay reported {reported} measured {measured} samples"
        )


if __name__ == "__main__":
    main(*sys.argv[1:])
