"""``python -m reference.oracle --rebuild``: remake the stored corpus oracle."""
import sys

from reference.oracle.rebuild import main

sys.exit(main())
