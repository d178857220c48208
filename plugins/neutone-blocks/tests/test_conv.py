"""Cached convolutions: streaming equals torch's own conv run offline (causal or symmetric
padding), exact latency, strides 1..4, dilations, groups, mode switch, TorchScript, allocations."""

import io

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from neutone_blocks.conv import CachedConv1d, CachedConvTranspose1d
from neutone_core.testing import count_allocations


def stream_blocks(layer: torch.nn.Module, x: torch.Tensor, block_lengths: list[int]) -> torch.Tensor:
    outputs, start, i = [], 0, 0
    while start < x.size(2):
        n = block_lengths[i % len(block_lengths)]
        outputs.append(layer(x[:, :, start : start + n]).clone())
        start, i = start + n, i + 1
    return torch.cat(outputs, 2)


def assert_delayed_copy(streamed: torch.Tensor, offline: torch.Tensor, delay: int) -> None:
    length = min(offline.size(2), streamed.size(2) - delay)
    assert length > 0
    # float32 sums in a different order: within 1e-5 of the output's peak
    tolerance = 1e-5 * float(offline.abs().max())
    assert torch.allclose(streamed[:, :, delay : delay + length], offline[:, :, :length], rtol=0, atol=tolerance)


@settings(max_examples=40, deadline=None)
@given(
    kernel=st.integers(1, 9),
    stride=st.integers(1, 4),
    dilation=st.integers(1, 3),
    groups=st.sampled_from([1, 2]),
    padding=st.one_of(st.just("causal"), st.integers(0, 6)),
    groups_of_stride=st.lists(st.integers(1, 40), min_size=1, max_size=4),
)
def test_cached_conv_equals_offline_conv_delayed(
    kernel: int, stride: int, dilation: int, groups: int, padding, groups_of_stride: list[int]
) -> None:
    torch.manual_seed(kernel * 100 + stride * 10 + dilation)
    layer = CachedConv1d(4, 6, kernel, stride, padding, dilation, groups)
    x = torch.randn(2, 4, stride * 150)
    reference = torch.nn.Conv1d(4, 6, kernel, stride, 0, dilation, groups)
    reference.load_state_dict(layer.state_dict())
    left = (kernel - 1) * dilation - (stride - 1) if padding == "causal" else padding
    right = 0 if padding == "causal" else padding
    with torch.no_grad():
        offline = reference(torch.nn.functional.pad(x, [left, right]))
        assert torch.allclose(layer(x), offline, atol=1e-6)
        layer.set_cached(True)
        streamed = stream_blocks(layer, x, [stride * g for g in groups_of_stride])
    assert_delayed_copy(streamed, offline, layer.latency_samples())
    if padding == "causal":
        assert layer.latency_samples() == 0


@pytest.mark.parametrize("stride", [1, 2, 3, 4])
def test_causal_strided_conv_reads_its_whole_stride_group(stride: int) -> None:
    """cached_conv's padding drops the last stride - 1 samples of a block until the next one."""
    layer = CachedConv1d(1, 1, 2 * stride, stride, bias=False, cached=True)
    torch.nn.init.ones_(layer.weight)
    with torch.no_grad():
        for last in range(1, stride + 1):
            layer.reset()
            x = torch.zeros(1, 1, 4 * stride)
            x[0, 0, -last] = 1.0
            assert float(layer(x)[0, 0, -1]) == 1.0


@settings(max_examples=40, deadline=None)
@given(
    kernel=st.integers(1, 9),
    stride=st.integers(1, 4),
    dilation=st.integers(1, 3),
    groups=st.sampled_from([1, 2]),
    padding=st.integers(0, 3),
    block_lengths=st.lists(st.integers(1, 40), min_size=1, max_size=4),
)
def test_cached_transposed_conv_equals_offline_delayed(
    kernel: int, stride: int, dilation: int, groups: int, padding: int, block_lengths: list[int]
) -> None:
    torch.manual_seed(kernel * 100 + stride * 10 + dilation)
    layer = CachedConvTranspose1d(4, 6, kernel, stride, padding, dilation, groups)
    x = torch.randn(2, 4, 120)
    reference = torch.nn.ConvTranspose1d(4, 6, kernel, stride, padding, dilation=dilation, groups=groups)
    reference.load_state_dict(layer.state_dict())
    with torch.no_grad():
        offline = reference(x)
        assert torch.allclose(layer(x), offline, atol=1e-6)
        layer.set_cached(True)
        streamed = stream_blocks(layer, x, block_lengths)
    assert streamed.size(2) == 120 * stride
    assert layer.latency_samples() == padding
    if offline.size(2) > 0:
        assert_delayed_copy(streamed, offline, padding)


def test_down_then_up_round_trip_has_no_extra_latency() -> None:
    """An encoder/decoder pair of stride 4: output sample t is produced in the block holding input t."""
    down = CachedConv1d(1, 4, 4, 4, bias=False, cached=True)
    up = CachedConvTranspose1d(4, 1, 4, 4, bias=False, cached=True)
    with torch.no_grad():
        down.weight.copy_(torch.eye(4).flip(1).view(4, 1, 4))
        up.weight.copy_(torch.eye(4).flip(1).view(4, 1, 4))
        x = torch.randn(1, 1, 64)
        y = stream_blocks(lambda block: up(down(block)), x, [8, 4, 16])
    assert torch.allclose(y, x, atol=1e-6)


def test_round_trip_reset_and_allocations() -> None:
    layers = [CachedConv1d(8, 8, 5, 2, dilation=3, groups=2, cached=True), CachedConvTranspose1d(8, 4, 6, 2, 1, cached=True)]
    for layer in layers:
        buffer = io.BytesIO()
        torch.jit.save(torch.jit.script(layer), buffer)
        buffer.seek(0)
        loaded = torch.jit.load(buffer)
        x = torch.randn(1, 8, 256, generator=torch.Generator().manual_seed(3))
        with torch.no_grad():
            first = stream_blocks(loaded, x, [64])
            assert torch.allclose(first, stream_blocks(layer, x, [64]), atol=1e-6)
            loaded.reset()
            assert torch.equal(stream_blocks(loaded, x, [64]), first)
            block = x[:, :, :64]
            assert count_allocations(lambda layer=loaded, block=block: layer(block), 8) == 0
        loaded.set_cached(False)
        assert not loaded.is_cached()


def test_bad_arguments_are_named() -> None:
    with pytest.raises(ValueError, match="must be 'causal' or a number of samples >= 0"):
        CachedConv1d(1, 1, 3, padding="same")
    with pytest.raises(ValueError, match="blocks must be multiples of the stride"), torch.no_grad():
        CachedConv1d(1, 1, 3, stride=4, cached=True)(torch.zeros(1, 1, 6))
