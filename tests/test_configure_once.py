"""A host's set_daw_sample_rate_and_buffer_size configures every stage exactly once."""

from typing import Callable, Dict, List

import torch
from torch import Tensor, nn

from neutone_core import AdapterStage, Stream, StreamNeeds, compose, hookimpl
from neutone_core.testing import PassThroughWrapper


class CountingStage(AdapterStage):
    """Passes everything through and counts its ``configure`` calls."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__(inner, "counting")
        self.configured = 0

    @torch.jit.export
    def configure(self, stream: Stream) -> None:
        self.configured += 1
        self.inner.configure(stream)

    def forward(self, x: Tensor, params: Tensor) -> Tensor:
        return self.inner(x, params)

    def reset_state(self) -> None:
        pass

    @torch.jit.export
    def delay_samples(self) -> int:
        return self.inner.delay_samples()


class CountingModel(PassThroughWrapper):
    """A pass-through at 44.1 kHz in blocks of 1024 that counts how often its stream is set,
    and asks for the counting stage."""

    def __init__(self) -> None:
        super().__init__(native_sample_rates=[44100], native_buffer_sizes=[1024], extra_needs={"counted": True})
        self.stream_changes = 0

    def set_model_sample_rate_and_buffer_size(self, sample_rate: int, n_samples: int) -> bool:
        self.stream_changes += 1
        return True

    def do_forward_pass(self, x: Tensor, params: Dict[str, Tensor]) -> Tensor:
        return x


class CountingPlugin:
    """Nests the counting stage inside the resampler and outside the FIFO."""

    @staticmethod
    @hookimpl
    def register_adapters(register: Callable[..., None]) -> None:
        register(
            "counting",
            "counted",
            lambda inner, stage, options: CountingStage(stage),
            rank=150,
            needed=lambda inner: "counted" if "counted" in inner.extra else None,
            outer=lambda inner, options: inner.without_extra("counted"),
        )


def stage_named(module: torch.jit.ScriptModule, name: str) -> torch.jit.ScriptModule:
    stage = module.host.chain
    while stage.stage_name != name:
        stage = stage.inner
    return stage


def test_each_stage_is_configured_once_per_host_setting(register_plugin: Callable) -> None:
    register_plugin(CountingPlugin(), "counting")
    module = compose(CountingModel()).scripted
    names: List[str] = list(module.get_stage_names())
    assert names == ["mixer", "resample", "counting", "fifo", "model"]
    for setting, (rate, size) in enumerate([(48000, 512), (96000, 64), (44100, 2048)], start=1):
        module.set_daw_sample_rate_and_buffer_size(rate, size)
        assert stage_named(module, "counting").configured == setting
        assert stage_named(module, "model").wrapper.stream_changes == setting


def test_a_model_declaring_an_unknown_need_meets_the_planner(register_plugin: Callable) -> None:
    register_plugin(CountingPlugin(), "counting")
    plan = compose(PassThroughWrapper(extra_needs={"counted": True})).plan
    assert [(p.spec.name, p.reason, p.inner_needs) for p in plan][-1] == (
        "counting",
        "counted",
        StreamNeeds(2, 2, extra={"counted": True}),
    )
