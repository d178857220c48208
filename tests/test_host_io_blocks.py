"""Blocks a configured root receives with knobs: the full float32 block takes the host I/O's
short path; every other shape is checked in full and refused with one clear error."""

import pytest
import torch

from neutone_core import compose
from neutone_core.testing import PassThroughWrapper


@pytest.fixture(scope="module")
def root() -> torch.jit.ScriptModule:
    module = torch.jit.script(compose(PassThroughWrapper()).graph)
    module.set_daw_sample_rate_and_buffer_size(48000, 512)
    return module


@pytest.mark.parametrize(
    ("audio_shape", "knob_shape", "message"),
    [
        ((512,), (4, 512), r"audio block of shape \[512\]: expected \(1 or 2 channels, samples\)"),
        ((2, 512, 1), (4, 512), r"audio block of shape \[2, 512, 1\]: expected \(1 or 2 channels, samples\)"),
        ((2, 512), (4, 511), r"params of shape \[4, 511\]: expected \(4, 512\)"),
        ((2, 512), (3, 512), r"params of shape \[3, 512\]: expected \(4, 512\)"),
        ((2, 512), (4, 512, 1), r"params of shape \[4, 512, 1\]: expected \(4, 512\)"),
    ],
)
def test_a_block_off_the_short_path_is_refused_naming_its_shape(
    root: torch.jit.ScriptModule, audio_shape: tuple, knob_shape: tuple, message: str
) -> None:
    with torch.no_grad(), pytest.raises(Exception, match=message):
        root(torch.zeros(audio_shape), torch.zeros(knob_shape))


def test_full_short_and_mono_blocks_with_knobs_come_back_whole(root: torch.jit.ScriptModule) -> None:
    audio, knobs = torch.rand(2, 512), torch.rand(4, 512)
    with torch.no_grad():
        assert root.calc_buffering_delay_samples() == 0
        assert torch.equal(root(audio, knobs), audio)
        assert torch.equal(root(audio[:, :300], knobs[:, :300]), audio[:, :300])
        assert torch.equal(root(audio[:1, :200], knobs[:, :200]), audio[:1, :200])
