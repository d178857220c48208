"""FIFO adapter: host blocks of any length around a model with native block sizes.

Audio and knobs are queued; the model runs whenever a full native block is available (zero,
one or several times per host call) and the host takes its samples from the output queue,
delayed by the least amount a causal FIFO allows for the host's block pattern. A model that
looks behind gets its newest past samples prepended to every block.
"""

from neutone_adapters.fifo.stage import FifoStage, fifo_delay_samples

__all__ = ["FifoStage", "fifo_delay_samples"]
