"""Filters: designs against scipy (firwin, bilinear + lfilter), a per-sample reference for the
modulated SVF, random block partitions and rates, SDK usage, TorchScript, reset, allocations."""

import io
import math

import numpy as np
import pytest
import scipy.signal
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from neutone_blocks.filters import IIRSVF, FilterType, FIRFilter, IIRFilter
from neutone_blocks.fir_design import fir_taps
from neutone_blocks.state_space import StateSpaceFilter
from neutone_blocks.testing import stream
from neutone_core.testing import count_allocations

RATES = st.sampled_from([8000, 22050, 44100, 48000, 96000, 192000])
BLOCKS = st.lists(st.integers(1, 8192), min_size=1, max_size=4)

FIR_CASES = [
    (FilterType.LOWPASS, [0.1], True),
    (FilterType.HIGHPASS, [0.3], False),
    (FilterType.BANDPASS, [0.05, 0.2], False),
    (FilterType.BANDSTOP, [0.1, 0.3], True),
]
"""(type, cutoffs as fractions of the rate, scipy's pass_zero)."""


@settings(max_examples=30, deadline=None)
@given(case=st.sampled_from(FIR_CASES), rate=RATES, half_taps=st.integers(8, 300))
def test_fir_design_matches_firwin(case: tuple, rate: int, half_taps: int) -> None:
    filter_type, fractions, pass_zero = case
    cutoffs = [f * rate for f in fractions]
    n_taps = 2 * half_taps + 1
    reference = scipy.signal.firwin(n_taps, cutoffs, window=("kaiser", 8.6), pass_zero=pass_zero, fs=rate)
    assert np.abs(fir_taps(filter_type.value, cutoffs, float(rate), n_taps).numpy() - reference).max() <= 1e-6


@pytest.mark.parametrize(
    "filter_type,cutoffs,size,message",
    [
        ("lowpass", [1000.0, 2000.0], 257, "needs exactly 1"),
        ("bandpass", [1000.0], 257, "needs exactly 2"),
        ("lowpass", [1000.0], 256, "must be odd"),
        ("lowpass", [30000.0], 257, "inside \\(0, 24000.0\\) Hz"),
        ("bandstop", [2000.0, 1000.0], 257, "must increase"),
        ("notch", [1000.0], 257, "must be one of"),
    ],
)
def test_fir_design_rejects_bad_arguments(filter_type: str, cutoffs: list, size: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        fir_taps(filter_type, cutoffs, 48000.0, size)


@settings(max_examples=15, deadline=None)
@given(case=st.sampled_from(FIR_CASES), rate=RATES, blocks=BLOCKS)
def test_fir_filter_streams_like_lfilter(case: tuple, rate: int, blocks: list) -> None:
    filter_type, fractions, _ = case
    fir = torch.jit.script(FIRFilter(filter_type, [f * 48000 for f in fractions], filt_size=129))
    fir.set_parameters(cutoffs=[f * rate for f in fractions], sample_rate=rate)
    x = torch.randn(2, 4000, generator=torch.Generator().manual_seed(rate))
    with torch.no_grad():
        y = stream(fir, x, blocks)
    taps = fir_taps(filter_type.value, [f * rate for f in fractions], float(rate), 129).double().numpy()
    reference = scipy.signal.lfilter(taps, [1.0], x.double().numpy(), axis=1)
    # float32 sums of 129 products: within 1e-5 of the signal's peak
    assert np.abs(y.numpy() - reference).max() <= 1e-5 * np.abs(x.numpy()).max()
    assert fir.delay == fir.latency_samples() == 64


def test_fir_filter_delay_is_the_impulse_peak() -> None:
    fir = FIRFilter(FilterType.LOWPASS, cutoffs=[1000.0], filt_size=257)
    impulse = torch.zeros(1, 1024)
    impulse[0, 100] = 1.0
    with torch.no_grad():
        assert int(fir(impulse).argmax()) == 100 + fir.delay


def _svf_reference_coefficients(filter_type: FilterType, cutoff: float, q: float, rate: int) -> tuple:
    w = 2 * rate * math.tan(math.pi * cutoff / rate)
    k = 1 / q
    numerator = {"lowpass": [0, 0, w * w], "highpass": [1, 0, 0], "bandpass": [0, k * w, 0], "bandstop": [1, 0, w * w]}
    return scipy.signal.bilinear(numerator[filter_type.value], [1, k * w, w * w], rate)


@settings(max_examples=15, deadline=None)
@given(
    filter_type=st.sampled_from(list(FilterType)),
    rate=RATES,
    blocks=BLOCKS,
    q=st.floats(0.3, 8.0),
    fraction=st.floats(0.002, 0.4),
)
def test_iir_filter_matches_the_bilinear_biquad(
    filter_type: FilterType, rate: int, blocks: list, q: float, fraction: float
) -> None:
    iir = torch.jit.script(IIRFilter(filter_type, fraction * rate, q))
    iir.set_parameters(sample_rate=rate)
    x = torch.randn(2, 4000, generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        y = stream(iir, x, blocks)
    b, a = _svf_reference_coefficients(filter_type, fraction * rate, q, rate)
    reference = scipy.signal.lfilter(b, a, x.double().numpy(), axis=1)
    # the prefix scan reorders float32 products: within 1e-5 of the output's peak (resonant peaks scale with q)
    assert np.abs(y.numpy() - reference).max() <= 1e-5 * max(1.0, q) * np.abs(reference).max()


def svf_per_sample(x: np.ndarray, cutoff: np.ndarray, q: np.ndarray, mix: np.ndarray, rate: int) -> np.ndarray:
    """The trapezoidal SVF sample by sample in float64 (Zavalishin ch. 4)."""
    out = np.zeros_like(x)
    for c in range(x.shape[0]):
        s1 = s2 = 0.0
        for t in range(x.shape[1]):
            g = math.tan(math.pi * cutoff[c, t] / rate)
            k = 1 / q[c, t]
            hp = (x[c, t] - (g + k) * s1 - s2) / (1 + g * (g + k))
            bp = g * hp + s1
            lp = g * bp + s2
            s1, s2 = 2 * bp - s1, 2 * lp - s2
            out[c, t] = mix[c, t, 0] * k * bp + mix[c, t, 1] * lp + mix[c, t, 2] * hp
    return out


@settings(max_examples=10, deadline=None)
@given(rate=RATES, blocks=st.lists(st.integers(1, 600), min_size=1, max_size=4), seed=st.integers(0, 1000))
def test_modulated_svf_matches_the_per_sample_recursion(rate: int, blocks: list, seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    n = 1500
    x = torch.randn(2, n, generator=generator)
    sweep = torch.linspace(0, 1, n).view(1, n, 1)
    cutoff = (20.0 * (0.45 * rate / 20.0) ** sweep).expand(2, n, 1).contiguous()
    q = 0.5 + 4 * torch.rand(2, n, 1, generator=generator)
    mix = torch.rand(2, n, 3, generator=generator)
    svf = torch.jit.script(IIRSVF())
    with torch.no_grad():
        y = stream(lambda a, c, r, m: svf(a, c, r, m, rate), x, blocks, cutoff, q, mix)
    reference = svf_per_sample(
        x.double().numpy(), cutoff[..., 0].double().numpy(), q[..., 0].double().numpy(), mix.double().numpy(), rate
    )
    assert np.abs(y.numpy() - reference).max() <= 2e-5 * np.abs(reference).max()


def test_sdk_prefilter_usage_and_torchscript_round_trip() -> None:
    class Wrapper(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.pre_filter = FIRFilter(FilterType.LOWPASS, cutoffs=[1000.0], filt_size=257)
            self.tone = IIRFilter(FilterType.HIGHPASS, 80.0, 0.7071)
            self.svf = IIRSVF()
            self.register_buffer("cutoff", torch.full((1, 512, 1), 500.0))
            self.register_buffer("resonance", torch.ones(1, 512, 1))
            self.register_buffer("mix", torch.tensor([[[0.0, 1.0, 0.0]]]).expand(1, 512, 3))

        @torch.jit.export
        def set_model_sample_rate_and_buffer_size(self, sample_rate: int, n_samples: int) -> bool:
            self.pre_filter.set_parameters(sample_rate=sample_rate)
            self.tone.set_parameters(sample_rate=sample_rate)
            return True

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            n = x.size(1)
            y = self.tone(self.pre_filter(x))
            return self.svf(y, self.cutoff[:, :n], self.resonance[:, :n], self.mix[:, :n], 44100)

        @torch.jit.export
        def reset(self) -> None:
            self.pre_filter.reset()
            self.tone.reset()
            self.svf.reset()

    buffer = io.BytesIO()
    torch.jit.save(torch.jit.script(Wrapper()), buffer)
    buffer.seek(0)
    loaded = torch.jit.load(buffer)
    loaded.set_model_sample_rate_and_buffer_size(44100, 512)
    eager = Wrapper()
    eager.set_model_sample_rate_and_buffer_size(44100, 512)
    x = torch.randn(2, 3000, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        first = stream(loaded, x, [512])
        assert torch.allclose(first, stream(eager, x, [512]), atol=1e-6)
        loaded.reset()
        assert torch.equal(stream(loaded, x, [512]), first)
        block = x[:, :512]
        assert count_allocations(lambda: loaded(block), 8) == 0


def test_filters_accept_mono_and_reset_to_silence() -> None:
    for module in (FIRFilter(FilterType.HIGHPASS, [500.0], 65), IIRFilter(FilterType.LOWPASS, 500.0, 2.0)):
        with torch.no_grad():
            module(torch.randn(1, 300))
            module.reset()
            assert float(module(torch.zeros(1, 300)).abs().max()) == 0.0
    with pytest.raises(ValueError, match="fixed at construction"):
        FIRFilter(FilterType.LOWPASS, [1000.0]).set_parameters(filt_size=129)


@settings(max_examples=10, deadline=None)
@given(blocks=st.lists(st.integers(1, 8192), min_size=1, max_size=4), seed=st.integers(0, 100))
def test_state_space_filter_equals_its_recursion_over_long_blocks(blocks: list, seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    rotation = torch.tensor([[math.cos(0.3), -math.sin(0.3)], [math.sin(0.3), math.cos(0.3)]])
    a = 0.97 * rotation @ torch.diag(torch.rand(2, generator=generator) * 0.2 + 0.8)
    b, c, d = torch.randn(2, generator=generator), torch.randn(2, generator=generator), 0.5
    ss = torch.jit.script(StateSpaceFilter(chunk_samples=64))
    ss.set_coefficients(a, b, c, d, 512)  # longer blocks grow the tables and keep the state
    x = torch.randn(2, 20000, generator=generator)
    with torch.no_grad():
        y = stream(ss, x, blocks)
    # reference: the transfer function c (zI - A)^-1 b + d run by lfilter in float64
    a64, b64, c64 = a.double().numpy(), b.double().numpy(), c.double().numpy()
    numerator, denominator = scipy.signal.ss2tf(a64, b64[:, None], c64[None, :], np.array([[d]]))
    reference = scipy.signal.lfilter(numerator[0], denominator, x.double().numpy(), axis=1)
    assert np.abs(y.numpy() - reference).max() <= 1e-5 * np.abs(reference).max()
