"""Makes `fake_units` importable by name, here and in the unit processes the runner forks.

Tests import in importlib mode (no sys.path changes), but a unit process finds its function by
module name: the runner hands it `fake_units.fake_rnn`, so this folder must be on sys.path.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = str(Path(__file__).parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)
