"""The STFT tests run torch on one thread: on this project's shared 2-core machine, MKL's FFT
spread over two busy cores takes milliseconds per call instead of microseconds (the results
are the same), which would make the streaming tests slow for no coverage."""

from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
