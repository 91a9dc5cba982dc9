"""Another engine under test: loading it, adapting to its shape, isolated workers, probing and the diagnosis."""
