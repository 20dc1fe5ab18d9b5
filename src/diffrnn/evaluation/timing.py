"""Inference timing that a speed verdict can rest on: one warm-up, then the median of repeats.

A single cold call charges the first call's one-off costs (lazy allocations, kernel selection,
caches) to the model and swings with whatever else the machine runs at that instant; the median
of a few warm calls does neither (nanoGPT's `bench.py` does the same).

    paths, seconds = timed_call(lambda: model.sample(history, generator=fresh_generator()))
    infer_seconds_per_sample = seconds / paths.shape[0]

Seconds are wall seconds (`time.perf_counter`) of one call. `fn` must be repeatable: a call that
draws random numbers should seed its own generator, so every call returns the same result.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def timed_call(fn: Callable[[], T], repeats: int = 3, warmup: int = 1) -> tuple[T, float]:
    """Call `fn` `warmup` times untimed, then `repeats` times timed.

    Args:
        fn: the call to time, without arguments; it is called `warmup + repeats` times.
        repeats: timed calls (at least 1).
        warmup: untimed calls before them (at least 0).

    Returns:
        (the result of the last call, the median wall seconds of the timed calls).
    """
    if repeats < 1 or warmup < 0:
        raise ValueError(f"repeats must be >= 1 and warmup >= 0, got {repeats} and {warmup}")
    for _ in range(warmup):
        fn()
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        seconds.append(time.perf_counter() - start)
    return result, statistics.median(seconds)


def seconds_per_call(fn: Callable[[], object], repeats: int = 3, warmup: int = 1) -> float:
    """The median wall seconds of `repeats` calls of `fn` after `warmup` untimed ones."""
    return timed_call(fn, repeats, warmup)[1]
