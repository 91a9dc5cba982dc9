"""reference: everything that checks an autograd engine (the exact oracle, finite differences, other AD systems)."""
import os

__version__ = "0.1.0"

# torch calls Intel MKL's vector maths, whose code path (and last bit) depends on the CPU's vendor and
# features: torch.tanh(0.5) is 1 ulp apart on an Intel Xeon and an AMD EPYC. MKL reads this setting when
# it loads, so it is set before anything here imports torch; it makes reports the same on every x86-64.
os.environ.setdefault("MKL_CBWR", "COMPATIBLE")
