"""`timed_call`: warm-up calls are not timed and the median of the repeats is returned."""

from __future__ import annotations

import pytest

from diffrnn.evaluation import timing
from diffrnn.evaluation.timing import seconds_per_call, timed_call


def test_the_warm_up_is_untimed_and_the_median_is_returned(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fake clock: call k takes durations[k] seconds; the cold first call takes 100."""
    durations = iter([100.0, 3.0, 1.0, 2.0])
    now = [0.0]
    calls = []

    def fn() -> int:
        now[0] += next(durations)
        calls.append(now[0])
        return len(calls)

    monkeypatch.setattr(timing.time, "perf_counter", lambda: now[0])
    result, seconds = timed_call(fn, repeats=3, warmup=1)
    assert (result, seconds) == (4, 2.0)  # the last call's result; median of 3, 1, 2


def test_bad_counts_are_refused() -> None:
    assert seconds_per_call(lambda: None, repeats=1, warmup=0) >= 0
    with pytest.raises(ValueError, match="repeats"):
        timed_call(lambda: None, repeats=0)
