"""Kept column views: the right columns, each made once, bounded, one cache per buffer."""

import torch
from torch import Tensor, nn

from neutone_adapters.fifo.tests.fifo_helpers import scripted_root
from neutone_adapters.fifo.views import MAX_KEPT_VIEWS, ColumnViews
from neutone_core.tools.host import walk_stages


class TwoBuffers(nn.Module):
    """Two caches configured in one scripted method (where TorchScript could share one empty
    dict constant between them)."""

    def __init__(self) -> None:
        super().__init__()
        self.audio = ColumnViews()
        self.knobs = ColumnViews()

    @torch.jit.export
    def configure(self, audio: Tensor, knobs: Tensor) -> None:
        self.audio.configure(audio)
        self.knobs.configure(knobs)

    def forward(self, start: int, length: int) -> Tensor:
        return self.knobs(start, length)


def test_views_are_the_columns_kept_once_and_each_buffer_has_its_own() -> None:
    module = torch.jit.script(TwoBuffers())
    audio, knobs = torch.arange(20.0).reshape(2, 10), torch.arange(40.0).reshape(4, 10)
    module.configure(audio, knobs)
    view = module(3, 4)
    assert torch.equal(view, knobs[:, 3:7]) and view.data_ptr() == knobs[:, 3:].data_ptr()
    assert module(3, 4) is view, "the second request returns the kept view"
    assert len(module.knobs.views) == 1 and len(module.audio.views) == 0


def test_a_cache_keeps_at_most_its_limit_and_forgets_at_configure() -> None:
    views = torch.jit.script(ColumnViews())
    buffer = torch.arange(2.0 * 200).reshape(2, 200)
    views.configure(buffer)
    for start in range(MAX_KEPT_VIEWS + 10):
        assert torch.equal(views(start, 5), buffer[:, start : start + 5])
    assert len(views.views) == MAX_KEPT_VIEWS
    views.configure(torch.zeros(2, 8))
    assert len(views.views) == 0 and views(2, 6).shape == (2, 6)


def test_a_host_keeping_its_buffer_size_reaches_a_few_recurring_views() -> None:
    module = scripted_root("pass", (2048,))
    fifo = next(stage for stage in walk_stages(module) if stage.stage_name == "fifo")
    caches = (fifo.input_audio_views, fifo.input_params_views, fifo.output_views)
    module.prepare(48000, 512, 2, 0, 0)
    block = torch.randn(2, 512)
    kept = []
    for _ in range(2):
        for _ in range(40):
            module(block, None)
        kept.append([len(cache.views) for cache in caches])
    assert kept[0] == kept[1] and max(kept[0]) <= 16, kept
