"""The exceptions that cross rooms: what a backend cannot do, and where no exact answer is certain."""


class NoOracle(Exception):
    """No certain exact answer here; the message says why (one line)."""


class Unsupported(Exception):
    """The backend cannot do an op the case needs."""
