"""Make `interop_peer` importable from a checkout: run `pytest images/python-peer/tests`."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
