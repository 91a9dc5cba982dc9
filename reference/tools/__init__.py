"""The fuzzer: random expressions through every backend, failures minimised (built on the testing API)."""
