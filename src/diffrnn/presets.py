"""Preset sizes: every model file names its presets once, as functions returning a config.

    config = char_lm("quick", cell="gru", vocab_size=65)   # a CharLMConfig
    model = CharLM(config)                                 # building stays one step away

"tiny" is the smallest model a test trains in seconds, "quick" the quick suite's, "full" the
full and reference suites' (a model offers the sizes it has; asking for another is a ValueError).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, TypeVar

Size = Literal["tiny", "quick", "full"]

T = TypeVar("T")


def pick(size: str, presets: Mapping[str, T]) -> T:
    """`presets[size]`, or a ValueError naming `size` and the sizes `presets` offers."""
    if size not in presets:
        raise ValueError(f"size must be one of {tuple(presets)}, got {size!r}")
    return presets[size]
