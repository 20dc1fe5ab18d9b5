"""Each claim's verdict on designed records: holds, refuted, mixed, below the evidence budget,
too few seeds; the verdict rule itself; the cost-to-level interpolation; the reference file."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from claim_records import (
    ENOUGH,
    TOO_LOW,
    designed_run,
    only,
    per_seed,
    record,
    seeds,
    unbounded_ladders,
)

from diffrnn.bench import scorecard
from diffrnn.bench.registry import TASKS
from diffrnn.bench.rules import NOT_EVIDENCE
from diffrnn.bench.scorecard import (
    CLAIMS,
    QUALITY_TASKS,
    REFERENCE_FILE,
    VERDICTS,
    Finding,
    cost_to_level,
    judge,
    load_reference,
    reference_snapshot,
    rerun_commands,
    score,
)

REPO = Path(__file__).parents[2]


def verdicts(records: list[dict[str, Any]], evidence: dict[str, float] = ENOUGH) -> dict[str, str]:
    return {c.claim: c.verdict for c in score(records, evidence)}


def claim(cid: str, records: list[dict[str, Any]], evidence: dict[str, float] = ENOUGH) -> Any:
    (c,) = [c for c in CLAIMS if c.id == cid]
    return c.score(records, evidence)


def test_the_claims_keep_their_ids_in_order() -> None:
    assert [c.id for c in CLAIMS] == [f"C{i}" for i in range(1, 11)]


def test_the_tasks_the_claims_read_are_judged_on_their_primary_metric() -> None:
    import diffrnn.bench.tasks  # noqa: F401  (the project's tasks, without the units)

    for name, metric in QUALITY_TASKS.items():
        assert TASKS[name].primary_metric == metric, name
    judged = {
        t.name
        for t in TASKS.values()
        if not (t.needs_user_data or "passed" in t.metrics or t.name.startswith("fake-"))
    }
    assert judged == {t for t in QUALITY_TASKS if not TASKS[t].needs_user_data}


def test_the_designed_run_gives_each_claim_its_designed_verdict() -> None:
    assert verdicts(designed_run()) == {
        "C1": "mixed",  # LSTM cheaper to its level on text, ddpm cheaper on digits
        "C2": "mixed",  # the tanh RNN's gradient vanishes, the LSTM's does not
        "C3": "holds",
        "C4": "mixed",  # the LSTM passes T=200 on adding (not limited there)
        "C5": "holds",
        "C6": "mixed",  # diffusion better on digits, worse on ETTh1
        "C7": "mixed",  # RNNs beat diffusion, but not the baselines
        "C8": "holds",
        "C9": "mixed",  # timegrad helps; dcrnn is inside the seed spread
        "C10": "holds",
    }


def test_below_the_evidence_budget_no_claim_gets_a_verdict() -> None:
    assert set(verdicts(designed_run(), TOO_LOW).values()) == {NOT_EVIDENCE}
    c3 = claim("C3", designed_run(), TOO_LOW)
    assert c3.headline == "below the evidence budget: image-digits trained 120 s, counts from 600 s"
    assert "--budget 600" in c3.decide
    numbers = "image-digits fd: ddpm (diffusion) vs pixel-lstm (rnn): 9 ± 1 (3 seeds) vs 32 ± 1"
    assert c3.numbers == (f"{numbers} (3 seeds)",)  # the numbers stay


def test_too_few_seeds_is_not_enough_evidence() -> None:
    two = [r for r in designed_run() if r["seed"] < 2]
    result = claim("C3", two)
    assert result.verdict == "not enough evidence"
    assert "seeds: ddpm 2, pixel-lstm 2; a verdict needs 3" in result.why


def test_what_would_decide_it_is_one_command_per_evidence_budget() -> None:
    pairs = [("image-digits", 100.0), ("audio-fsdd", 600.0), ("long-copy", 600.0)]
    assert rerun_commands(pairs) == [
        "`diffrnn compare --tasks image-digits --seeds 3 --budget 100`",
        "`diffrnn compare --tasks audio-fsdd,long-copy --seeds 3 --budget 600`",
    ]
    two = [r for r in designed_run() if r["seed"] < 2]
    assert claim("C3", two).decide == (
        "3 seeds at the evidence budgets: `diffrnn compare --tasks image-digits --seeds 3 "
        "--budget 100`"
    )


def test_c3_refuted_when_the_pixel_lstm_wins_in_every_seed() -> None:
    records = [
        *seeds("image-digits", "ddpm", "diffusion", lambda s: {"fd": 30.0 + s}),
        *seeds("image-digits", "pixel-lstm", "rnn", lambda s: {"fd": 10.0 + s}),
        *seeds("image-digits", "ddpm-cond", "diffusion", lambda s: {"fd": 1.0}),  # not read
    ]
    result = claim("C3", records)
    assert result.verdict == "refuted"
    assert result.headline == "fd: ddpm 31 ± 1 vs pixel-lstm 11 ± 1"


def test_c3_unclear_inside_the_seed_spread() -> None:
    records = [
        *seeds("image-digits", "ddpm", "diffusion", lambda s: {"fd": (10.0, 30.0, 20.0)[s]}),
        *seeds("image-digits", "pixel-lstm", "rnn", lambda s: {"fd": (20.0, 21.0, 19.0)[s]}),
    ]
    result = claim("C3", records)
    assert result.verdict == "not enough evidence"
    assert "no clear difference" in result.why and "more seeds" in result.decide


def test_c1_cost_ratio_follows_the_interpolated_ladders() -> None:
    result = claim("C1", only(designed_run(), "image-digits"))
    # level: the LSTM's best mean fd 32. ddpm seed 0 crosses it between (30 s, 40) and
    # (120 s, 9): 30 * 4^(8/31) = 42.9 s; the LSTM's seed 0 reaches 32 exactly at 120 s.
    assert result.verdict == "refuted"
    assert (
        "CPU seconds to it: ddpm 42.9 s, 48.9 s, 45.1 s, pixel-lstm 120 s, 90.9 s, > 120 s"
        in (result.numbers[0])
    )
    assert "per seed 0.36x, 0.54x, < 0.38x" in result.numbers[0]
    assert claim("C1", only(designed_run(), "lm-shakespeare")).verdict == "holds"


def test_c1_says_why_a_seed_s_ratio_has_no_bound() -> None:
    """Both at the first rung (costs <= 30 s each) or neither by the last (> 120 s each) bound
    the ratio by 0 and infinity: the numbers say which, never "< infx"."""
    result = claim("C1", unbounded_ladders())
    (numbers,) = result.numbers
    # seed 1 crosses 30.33 at 30 * 4^((40 - 30.33) / 30) = 46.9 s and 30 * 4^(4.67 / 5) = 109 s
    assert "ddpm ≤ 30 s, 46.9 s, > 120 s, pixel-lstm ≤ 30 s, 109 s, > 120 s" in numbers
    assert (
        "per seed no bound (both reached it at the first rung), 0.43x, no bound (neither "
        "reached it) (budgets 30 s, 120 s)" in numbers
    )
    assert result.verdict == "not enough evidence"  # the unbounded seeds decide nothing
    for text in (numbers, result.headline, result.why):
        assert "inf" not in text.replace("infer", "") and "nan" not in text


def test_cost_to_level_interpolates_in_log_seconds() -> None:
    rungs = [(10.0, 5.0), (100.0, 1.0)]
    assert cost_to_level(rungs, 3.0, lower=True).low == pytest.approx(math.sqrt(1000))
    first = cost_to_level(rungs, 6.0, lower=True)
    assert (first.low, first.high, first.text()) == (0.0, 10.0, "≤ 10 s")
    never = cost_to_level(rungs, 0.5, lower=True)
    assert (never.low, never.high, never.text()) == (100.0, math.inf, "> 100 s")
    assert cost_to_level([(10.0, 0.2), (100.0, 0.6)], 0.4, lower=False).low == pytest.approx(
        math.sqrt(1000)
    )


def test_c2_holds_when_every_rnn_loses_its_gradient() -> None:
    records = [r for r in only(designed_run(), "long-adding", "long-copy") if r["model"] == "rnn"]
    result = claim("C2", records)
    assert (
        result.verdict == "holds"
        and result.headline == "rnn: gradient vanishes (lag 3 / lag 0 ×1e-09)"
    )


def test_c4_holds_when_the_best_rnn_passes_short_and_fails_long() -> None:
    records = only(designed_run(), "long-copy", "forecast-etth1")
    result = claim("C4", records)
    assert result.verdict == "holds"
    assert "1.028 ± 0.0026 (3 seeds) at H=96, 1.224 ± 0.0022 (3 seeds) at H=336" in " ".join(
        result.numbers
    )


def test_c5_compares_the_fastest_sampler_that_reaches_the_rnn_quality() -> None:
    result = claim("C5", only(designed_run(), "image-digits"))
    # ddim-10 reaches fd 19 (<= the LSTM's 32) at 0.002 s against 1 / 2800 s: 5.6x slower
    assert result.verdict == "holds"
    assert result.headline == "diffusion 5.6x slower per image (image-digits)"
    assert "ddpm ddim-10 0.002 ± 0 (3 seeds) s per image" in result.numbers[0]


def test_c10_refuted_when_diffusion_diverges_more_often() -> None:
    records = [
        *seeds("image-digits", "ddpm", "diffusion", lambda s: {"fd": 9.0}, seeds=[0, 1]),
        record(
            "image-digits",
            "ddpm",
            "diffusion",
            2,
            None,
            status="failed",
            error="TrainingDivergedError: non-finite loss at step 12",
        ),
        *seeds("image-digits", "pixel-lstm", "rnn", lambda s: {"fd": 30.0}),
    ]
    result = claim("C10", records)
    assert result.verdict == "refuted" and result.headline == "diverged: diffusion 1/3, rnn 0/3"


def test_c10_reads_the_tasks_that_reach_their_evidence_budget_and_names_the_others() -> None:
    records = [
        *seeds("image-digits", "ddpm", "diffusion", lambda s: {"fd": 9.0 + s}),
        *seeds("image-digits", "pixel-lstm", "rnn", lambda s: {"fd": 30.0 + s}),
        *seeds("denoise-digits", "ddpm", "diffusion", lambda s: {"psnr": 17.0 + s}),
        *seeds("denoise-digits", "bigru", "rnn", lambda s: {"psnr": 18.0 + s}),
    ]
    evidence = {**ENOUGH, "denoise-digits": 600.0}
    result = claim("C10", records, evidence)
    assert result.verdict == "holds" and result.headline == "diverged: diffusion 0/3, rnn 0/3"
    assert "below their evidence budget, not read: denoise-digits" in " ".join(result.numbers)
    # with no task at its evidence budget nothing is read as evidence
    assert claim("C10", records, TOO_LOW).verdict == NOT_EVIDENCE


def test_a_claim_with_no_data_says_what_would_decide_it() -> None:
    result = claim("C9", only(designed_run(), "image-digits"))
    assert result.verdict == "not enough evidence"
    assert "timegrad and deepar: no result on forecast-exchange" in result.why
    assert "forecast-exchange" in result.decide and "graph-losloop" in result.decide


@pytest.mark.parametrize(
    ("outcomes", "verdict"),
    [
        (["supports", "supports", "context"], "holds"),
        (["supports", "contradicts"], "mixed"),
        (["supports", "unclear", "below budget"], "mixed"),
        (["contradicts", "unclear"], "refuted"),
        (["unclear", "no data"], "not enough evidence"),
        (["below budget", "too few seeds", "no data"], NOT_EVIDENCE),
        (["too few seeds", "no data"], "not enough evidence"),
        (["context"], "not enough evidence"),
    ],
)
def test_the_verdict_rule(outcomes: list[Any], verdict: str) -> None:
    findings = [Finding(f"f{i}", o, f"n{i}", f"h{i}", "a gap") for i, o in enumerate(outcomes)]
    result = judge("C0", findings)
    assert result.verdict == verdict and result.verdict in VERDICTS


def test_the_reference_scorecard_matches_its_evidence() -> None:
    evidence = REPO / "evidence" / "reference"
    stored = load_reference()
    if not (evidence / "results.jsonl").is_file():
        assert stored is None, f"{REFERENCE_FILE} exists without a committed reference run"
        return
    assert stored == json.loads(json.dumps(reference_snapshot(evidence), ensure_ascii=False)), (
        f"regenerate it: python -m diffrnn.bench.scorecard {evidence.relative_to(REPO)}"
    )


def test_main_writes_the_reference_scorecard(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = tmp_path / "run"
    run.mkdir()
    lines = "".join(json.dumps(r) + "\n" for r in designed_run())
    (run / "results.jsonl").write_text(lines)
    code = {"git_commit": "abc1234def", "git_dirty": False, "source_sha256": "0123456789ab"}
    info = {"command": "diffrnn compare --suite reference", "code": code}
    (run / "run.json").write_text(json.dumps(info))
    target = tmp_path / REFERENCE_FILE
    monkeypatch.setattr(scorecard, "reference_path", lambda: target)
    monkeypatch.setattr(scorecard, "evidence_budgets", lambda: ENOUGH)
    assert scorecard.main([str(run)]) == 0
    stored = json.loads(target.read_text())
    assert stored["command"] == "diffrnn compare --suite reference"
    assert stored["commit"] == "commit abc1234, source 01234567"
    assert {k: v["verdict"] for k, v in stored["claims"].items()} == verdicts(designed_run())
    assert scorecard.main([]) == 2
    assert scorecard.main([str(tmp_path / "nowhere")]) == 2


def test_c7_reads_the_users_text_when_the_run_holds_it() -> None:
    lstm, mdlm = per_seed(1.5, 1.6, 1.55), per_seed(2.2, 2.3, 2.1)
    records = [
        *seeds("lm-user", "lstm", "rnn", lambda s: {"nats_per_char": lstm(s)}),
        *seeds("lm-user", "mdlm-bigru", "diffusion", lambda s: {"nats_per_char": mdlm(s)}),
    ]
    result = claim("C7", records, {})  # a user's task has no evidence budget: every budget counts
    assert "lm-user nats_per_char: lstm (rnn) vs mdlm-bigru (diffusion)" in " ".join(result.numbers)
    assert result.tally.startswith("1 of 1 comparison supports it")
    assert not any("lm-user" in n for n in claim("C7", designed_run()).numbers)  # absent: silent
    two = [r for r in records if r["seed"] < 2]
    assert (
        "`diffrnn compare --data PATH --seeds 3` (lm-user: on your data)"
        in claim("C7", two, {}).decide
    )


def test_the_headline_shows_each_deciding_finding_up_to_the_tiles_room() -> None:
    """C5 holds on two tasks: its tile names both, not only the first."""
    findings = [
        Finding("a", "supports", "n1", "1.7x slower per image", ""),
        Finding("b", "context", "n2", "a baseline", ""),
        Finding("c", "supports", "n3", "10x slower per char", ""),
        Finding("d", "supports", "n4", "3x slower per clip", ""),
    ]
    result = judge("C0", findings)
    assert result.headlines == ("1.7x slower per image", "10x slower per char")
    assert result.headline == "1.7x slower per image; 10x slower per char"
    assert result.to_json()["headlines"] == list(result.headlines)  # the reference tile lists them


def _long_records(task: str, model: str, lengths: tuple[int, ...], up_to: int) -> list[dict]:
    """A cell that passes every length T <= `up_to` in all three seeds, with the task's metrics
    (adding: mse; copy: cross-entropy and the share of the symbols exact)."""

    def metrics(seed: int) -> dict[str, Any]:
        ok = {str(t): t <= up_to for t in lengths}
        if task == "long-adding":
            return {"mse": {t: 0.001 if p else 0.17 for t, p in ok.items()}, "passed": ok}
        return {
            "cross_entropy": {t: 0.01 if p else 0.2 for t, p in ok.items()},
            "accuracy": {t: 0.97 if p else 0.13 for t, p in ok.items()},
            "passed": ok,
        }

    return seeds(task, model, "rnn", metrics)


def test_c4_reads_the_curriculum_lengths_and_the_copy_accuracy() -> None:
    """The textbook pattern on the reference lengths: the tanh RNN passes T = 50 only, the LSTM
    holds adding to T = 500 and fails T = 1000, copy is decided by its accuracy's pass flags."""
    adding, copy = (50, 100, 200, 500, 1000), (50, 100, 200)
    records = [
        *_long_records("long-adding", "rnn", adding, 50),
        *_long_records("long-adding", "lstm", adding, 500),
        *_long_records("long-copy", "rnn", copy, 50),
        *_long_records("long-copy", "lstm", copy, 100),
    ]
    result = claim("C4", records)
    assert result.verdict == "holds"
    assert result.headline == "lstm passes T=50 (3/3); lstm fails T=1000 (0/3)"
    assert result.numbers[:2] == (
        "long-adding lstm (longest-holding rnn): passes T50 3/3, T100 3/3, T200 3/3, T500 3/3, "
        "T1000 0/3",
        "long-copy lstm (longest-holding rnn): passes T50 3/3, T100 3/3, T200 0/3",
    )
    holding = [r for r in records if r["model"] == "rnn"] + _long_records(
        "long-adding", "lstm", adding, 1000
    )
    held = claim("C4", holding)  # adding: the LSTM solves T = 1000 (not limited); copy: limited
    assert (held.verdict, held.headline) == (
        "mixed",
        "lstm passes T=50 (3/3); lstm passes T=1000 (3/3)",
    )
