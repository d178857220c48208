"""Speed, quality and latency benchmarks; results in benchmarks/RESULTS.md."""
