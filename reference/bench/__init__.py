"""The benchmarks: the engine timed against micrograd and torch, interleaved (`adcheck bench`, the study)."""
