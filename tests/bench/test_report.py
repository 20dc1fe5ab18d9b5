"""The report: rendered from a stored run, every comparison row present, verdicts from numbers."""

from __future__ import annotations

import base64
import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
from claim_records import ENOUGH, designed_run

from diffrnn.bench import report as report_module
from diffrnn.bench.aggregate import ModelResult, TaskInfo
from diffrnn.bench.report import ASPECTS, write_report
from diffrnn.bench.rules import NOT_EVIDENCE, evidence_budgets
from diffrnn.bench.verdicts import fmt_seconds, pairwise_wins, rank_verdict, speed_verdict
from diffrnn.errors import ConfigError

FIXTURE = Path(__file__).parents[1] / "fixtures" / "bench_run"


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.sources: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag in ("img", "audio", "script", "source") and found.get("src"):
            self.sources.append(found["src"] or "")
        if tag == "link":
            self.links.append(found.get("href") or "")


REACHED = dict.fromkeys(("forecast-exchange", "image-digits", "long-adding"), 4.0)
"""Evidence budgets the fixture's 4-second units reach (its verdicts are read)."""


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    run = tmp_path_factory.mktemp("run") / "bench_run"
    shutil.copytree(FIXTURE, run)
    paths = write_report(run, evidence=REACHED)
    return paths.markdown.read_text(), paths.html.read_text()


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """The fixture against the default evidence budgets, which its 4-second units do not reach."""
    run = tmp_path_factory.mktemp("run") / "bench_run"
    shutil.copytree(FIXTURE, run)
    paths = write_report(run)
    return paths.markdown.read_text(), paths.html.read_text()


def test_every_row_of_the_comparison_table_is_there(rendered: tuple[str, str]) -> None:
    md, _ = rendered
    for aspect in ASPECTS:
        assert re.search(rf"^\| {aspect} \|", md, re.M), aspect
    for aspect, task in [
        ("training cost", "forecast-exchange"),
        ("training cost", "image-digits"),
        ("training cost", "long-adding"),
        ("quality", "forecast-exchange (crps_sum ↓)"),
        ("quality", "image-digits (fd ↓)"),
        ("inference speed", "image-digits"),
        ("long sequences: pass/fail vs T", "long-adding"),
        ("long sequences: gradient vs lag", "long-adding"),
        ("memory", "forecast-exchange"),
    ]:
        assert f"| {aspect} | {task} |" in md


def test_verdicts_follow_from_the_fixture_numbers(rendered: tuple[str, str]) -> None:
    md, _ = rendered
    # ddpm fd (8 + 9) / 2 = 8.5 against pixel-lstm (12 + 13) / 2 = 12.5: 4 / 12.5 = 32% lower
    assert "diffusion best on fd (8.5), 32% lower than rnn" in md
    # 0.4 s against 0.01 s per sample
    assert "rnn 40x faster to sample than diffusion" in md
    # random walk 0.0047 beats every learned model on exchange
    assert "baseline best on crps_sum (0.0047)" in md and "no learned family beats" in md
    # lstm passes T=100 on both seeds, T=200 on one only; the tanh RNN passes T=50 only
    assert "lstm holds longest (T ≤ 100); rnn only T ≤ 50" in md
    assert "lstm keeps the most gradient" in md


def test_missing_families_and_failures_are_said(rendered: tuple[str, str]) -> None:
    md, _ = rendered
    assert (
        "diffusion has no result on forecast-exchange: diffusion-forecaster registered but "
        "not run here" in md
    )
    assert "hybrid has no result on image-digits: no hybrid model is registered" in md
    assert "no family has a result on generate-etth1: no model is registered on it yet." in md
    assert "### generate-etth1" in md and "No unit of this task ran." in md
    assert "ddpm seed 2: TrainingDivergedError: non-finite loss at step 12" in md
    assert "| ddpm | diffusion | 2 (+1 failed) |" in md


def test_per_task_tables_cite_the_anchors_beside_ours(rendered: tuple[str, str]) -> None:
    md, _ = rendered
    assert "| TimeGrad (paper) | crps_sum | 0.006 +- 0.001 | Rasul et al. 2021" in md
    assert "| random-walk: 0.0047 |" in md  # ours, beside the anchor
    assert "| lstm | rnn | 2 | 0.001 ± 0 | 0.002 ± 0 | 0.0275 ± 0.032 | 2/2 pass |" in md


def test_the_html_is_self_contained(rendered: tuple[str, str]) -> None:
    md, page = rendered
    tags = _Tags()
    tags.feed(page)
    images_in_md = md.count("![")
    assert images_in_md >= 5  # pareto x2, training x2, crps_sum_vs_steps, grad_norm_vs_lag
    assert len(tags.sources) == images_in_md
    assert all(src.startswith("data:image/png;base64,") for src in tags.sources)
    assert tags.links == [] and "http://" not in page and "https://" not in page


def test_an_empty_run_directory_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="holds no results"):
        write_report(tmp_path)


def _result(family: str, quality: float, lower: bool = True) -> ModelResult:
    task = TaskInfo("t", "", "", ("m",), "m", lower, (), {})
    return ModelResult(task, f"{family}-model", family, ok=[{"metrics": {"m": quality}}])


def test_pairwise_wins_count_tasks_where_both_families_ran() -> None:
    per_task = {
        "a": {"rnn": _result("rnn", 1.0), "diffusion": _result("diffusion", 2.0)},
        "b": {"rnn": _result("rnn", 3.0), "diffusion": _result("diffusion", 2.0)},
        "c": {"rnn": _result("rnn", 0.9, lower=False), "diffusion": _result("diffusion", 0.8)},
        "d": {"rnn": _result("rnn", 1.0)},
    }
    assert pairwise_wins(per_task) == ["rnn better than diffusion on 2 of 3 tasks where both ran"]


def test_rank_and_speed_verdicts() -> None:
    values = {"baseline": 1.0, "rnn": 0.5, "diffusion": 0.8}
    assert rank_verdict(values, True, "mse") == (
        "rnn best on mse (0.5), 38% lower than diffusion and 50% lower than the best baseline"
    )
    assert rank_verdict({"rnn": 0.9, "hybrid": 0.6}, False, "accuracy") == (
        "rnn best on accuracy (0.9), 50% higher than hybrid"
    )
    times = {"baseline": 1e-6, "rnn": 0.01, "diffusion": 0.4, "hybrid": 0.1}
    assert (
        speed_verdict(times, "per sample")
        == "rnn fastest (0.01 s per sample); diffusion 40x slower"
    )


def _sections(md: str) -> list[str]:
    return re.findall(r"^#{1,3} (.+)$", md, re.M)


def test_the_scorecard_is_the_first_section(quick: tuple[str, str]) -> None:
    md, page = quick
    assert _sections(md)[:2] == ["diffrnn compare: quick suite", "Scorecard: the article's claims"]
    first_table = md[md.index("\n| ") :].split("\n", 2)[1]
    assert first_table.startswith("| claim | tasks / metric | verdict |")
    assert md.index("| C10: Diffusion trains stably |") < md.index(
        "- command: "
    )  # before the header
    assert page.index('class="tiles"') < page.index("<table>") < page.index("<ul>")
    assert page.count('<div class="tile tone-') == 10


def test_the_quick_suite_reports_no_verdict_below_the_evidence_budget(
    quick: tuple[str, str],
) -> None:
    md, page = quick
    row = next(line for line in md.splitlines() if line.startswith("| C3: "))
    assert f"| {NOT_EVIDENCE} |" in row
    assert "ddpm (diffusion) vs pixel-lstm (rnn): 8.5 ± 0.71 (2 seeds) vs 12.5 ± 0.71" in row
    assert "diffusion best on fd" not in md and "rnn best on" not in md
    quality = next(line for line in md.splitlines() if "| quality | image-digits (fd ↓) |" in line)
    assert quality.endswith(
        f"| {NOT_EVIDENCE} (trained 4 s; image-digits counts from "
        f"{fmt_seconds(evidence_budgets()['image-digits'])}) |"
    )
    assert "| pixel-lstm: 12.5 ± 0.71 |" in quality  # the numbers stay
    assert f"{NOT_EVIDENCE}: no task reached its evidence budget" in md
    assert page.count('<div class="tile tone-muted">') >= 3  # C2, C3, C4 read fixture tasks


def test_the_reference_verdict_is_shown_beside_the_live_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = tmp_path / "bench_run"
    shutil.copytree(FIXTURE, run)
    monkeypatch.setattr(report_module, "load_reference", lambda: None)
    md = write_report(run).markdown.read_text()
    assert md.count("| reference: not yet run |") == 10
    gap = "long-adding trained 40 s, counts from 600 s"
    reference = {
        "run": "evidence/reference",
        "command": "diffrnn compare --suite reference",
        "commit": "abc1234",
        "claims": {
            "C3": {"verdict": "holds", "headline": "fd: ddpm 8.9 ± 2.4 vs pixel-lstm 32"},
            "C2": {"verdict": NOT_EVIDENCE, "headline": f"below the evidence budget: {gap}"},
        },
    }
    monkeypatch.setattr(report_module, "load_reference", lambda: reference)
    paths = write_report(run)
    md, page = paths.markdown.read_text(), paths.html.read_text()
    row = next(line for line in md.splitlines() if line.startswith("| C3: "))
    assert row.endswith("| reference: holds (fd: ddpm 8.9 ± 2.4 vs pixel-lstm 32) |")
    c2 = next(line for line in md.splitlines() if line.startswith("| C2: "))
    assert c2.endswith(
        f"| reference: {NOT_EVIDENCE} (long-adding trained 40 s, counts from 600 s) |"
    )
    assert "| reference: not scored |" in md  # C1 has no entry in this reference
    assert "The reference column is the committed run evidence/reference (abc1234)." in md
    tile = page[page.index('<span class="tile-id">C3</span>') :].split('<div class="tile ')[0]
    assert (
        '<span class="dot tone-good"></span>reference: holds<ul class="tile-findings">'
        "<li>fd: ddpm 8.9 ± 2.4 vs pixel-lstm 32</li></ul>"
    ) in tile


def test_ladders_are_drawn_where_a_model_ran_at_several_budgets(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in designed_run()))
    md = write_report(run, evidence=ENOUGH).markdown.read_text()
    for task in ("image-digits", "lm-shakespeare"):
        assert f"](plots/{task}-ladder.png)" in md and (run / f"plots/{task}-ladder.png").is_file()
    assert "denoise-digits-ladder" not in md  # one budget only
    assert "| C1: Diffusion training costs more than RNN training |" in md


def test_html_in_a_unit_s_text_is_shown_not_run(tmp_path: Path) -> None:
    run = tmp_path / "bench_run"
    shutil.copytree(FIXTURE, run)
    lines = (run / "results.jsonl").read_text().splitlines()
    first = json.loads(lines[0])
    first["notes"] = ["<script>alert(1)</script>"]
    first["curves"] = {"<script>x</script>_vs_step": {"x": [0.0, 1.0], "y": [1.0, 2.0]}}
    (run / "results.jsonl").write_text("\n".join([json.dumps(first), *lines[1:]]) + "\n")
    info = json.loads((run / "run.json").read_text())  # a series named in the user's file
    info["user_data"] = {"series": "2 (<script>alert(2)</script>, <img src=x onerror=alert(3)>)"}
    (run / "run.json").write_text(json.dumps(info))
    paths = write_report(run)
    md, page = paths.markdown.read_text(), paths.html.read_text()
    assert "<script>" not in md and "&lt;script&gt;alert(1)&lt;/script&gt;" in md
    assert "&lt;script&gt;alert(2)&lt;/script&gt;, &lt;img src=x onerror=alert(3)&gt;" in md
    assert "<img src=x" not in md and "<img src=x" not in page
    assert "<script" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert (run / "plots" / "forecast-exchange-script_x_script__vs_step.png").is_file()


def test_the_header_names_units_that_stopped_at_their_step_cap(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    records = designed_run()
    capped = next(r for r in records if r["family"] == "rnn")
    capped.update(stopped_by="step_cap", steps=150, train_seconds=0.1 * capped["budget_s"])
    spent = next(r for r in records if r["family"] == "diffusion")
    spent.update(stopped_by="step_cap", steps=900, train_seconds=0.95 * spent["budget_s"])
    (run / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    md = write_report(run, evidence=ENOUGH).markdown.read_text()
    line = next(x for x in md.splitlines() if "stopped at their recipe's step cap" in x)
    assert "(1 unit)" in line
    assert f"{capped['task']}/{capped['model']} 150 steps in " in line
    assert f"of {fmt_seconds(capped['budget_s'])}" in line


def test_an_artefact_linked_out_of_the_run_is_neither_shown_nor_inlined(tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(FIXTURE, run)
    records = [json.loads(line) for line in (run / "results.jsonl").read_text().splitlines()]
    first = next(r for r in records if r["status"] == "ok")  # its model's seed-0 record
    first["artefacts"] = {"fan chart": "fan.png", "leak": "leak.png"}
    (run / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    out = run / first["out_dir"]
    out.mkdir(parents=True)
    (out / "fan.png").write_bytes(b"\x89PNG inside the run")
    secret = tmp_path / "id_rsa"
    secret.write_bytes(b"-----BEGIN OPENSSH PRIVATE KEY-----")
    (out / "leak.png").symlink_to(secret)
    paths = write_report(run)
    md, page = paths.markdown.read_text(), paths.html.read_text()
    assert "fan chart" in md and base64.b64encode(b"\x89PNG inside the run").decode() in page
    assert "leak" not in md and "leak" not in page
    assert base64.b64encode(secret.read_bytes()).decode() not in page


# the first screen: the scorecard's tiles, read as a reader reads them

REFERENCE_RUN = Path(__file__).parents[2] / "evidence" / "reference"
BROWSERS = ("chromium", "chromium-browser", "google-chrome")
NOT_A_NUMBER = re.compile(r"(?<![a-z])[+-]?(inf|infinity|nan)(?![a-wyz])", re.IGNORECASE)
""""inf", "infx", "-inf", "NaN", "Infinity" as words (not "inference", "nanoGPT")."""
PROBE = """<script>
const clipped = [...document.querySelectorAll('.tile, .tile *')]
  .filter(e => getComputedStyle(e).display !== 'inline')
  .filter(e => e.scrollHeight > e.clientHeight + 1 || e.scrollWidth > e.clientWidth + 1)
  .map(e => e.className + ': ' + e.textContent);
const bottom = Math.max(...[...document.querySelectorAll('.tiles, .legend')]
  .map(e => e.getBoundingClientRect().bottom));
document.body.dataset.probe = JSON.stringify({clipped, bottom});
</script>"""
"""Measures the laid-out page: every tile element whose text does not fit its box, and where
the tiles and their legend end."""


def _first_screen(records: list[dict], tmp_path: Path, name: str) -> Path:
    """The top of the report of `records` (its title, then the scorecard), as report.html has it."""
    from diffrnn.bench.document import Heading, to_html
    from diffrnn.bench.report import scorecard_section
    from diffrnn.bench.scorecard import load_reference, score

    blocks = [
        Heading(f"diffrnn compare: {name}", 1),
        *scorecard_section(score(records), load_reference()),
    ]
    page = tmp_path / f"{name}.html"
    page.write_text(to_html(blocks, tmp_path, name))
    return page


def _tile(page: str, claim: str) -> str:
    return page[page.index(f'<span class="tile-id">{claim}</span>') :].split('<div class="tile ')[0]


@pytest.fixture(scope="module")
def reference_records() -> list[dict]:
    from diffrnn.bench.results import read_records

    records = read_records(REFERENCE_RUN / "results.jsonl")
    if not records:
        pytest.skip("no reference run committed under evidence/reference")
    return records


def test_the_reference_tiles_show_each_deciding_finding_whole(
    reference_records: list[dict], tmp_path: Path
) -> None:
    page = _first_screen(reference_records, tmp_path, "reference").read_text()
    for claim in ("C1", "C5", "C9"):  # two deciding findings each
        tile = _tile(page, claim)
        findings = re.findall(r"<li>(.*?)</li>", tile)
        assert len(findings) == 2, claim
        assert all(f in tile for f in findings) and "…" not in tile
    c5 = _tile(page, "C5")
    assert re.search(r"<li>diffusion [0-9.]+x slower per char \(lm-shakespeare\)</li>", c5)
    assert "reference: holds: the same numbers" in c5  # the reference run is the reference
    assert "this run: the same" in _tile(page, "C6")  # not evidence in both


@pytest.mark.skipif(not any(map(shutil.which, BROWSERS)), reason="no headless browser here")
@pytest.mark.parametrize("run", ["reference", "quick"])
def test_the_scorecard_fits_the_first_screen_with_nothing_cut(
    run: str, reference_records: list[dict], tmp_path: Path
) -> None:
    """At 1400 x 900 no tile's text is clipped and the tiles end above the fold."""
    import html
    import subprocess

    fixture = [json.loads(line) for line in (FIXTURE / "results.jsonl").read_text().splitlines()]
    records = reference_records if run == "reference" else fixture
    page = _first_screen(records, tmp_path, run)
    page.write_text(page.read_text().replace("</body>", PROBE + "</body>"))
    browser = next(b for b in map(shutil.which, BROWSERS) if b)
    command = [browser, "--headless", "--no-sandbox", "--window-size=1400,900", "--dump-dom"]
    dom = subprocess.run(
        [*command, page.as_uri()], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    probe = json.loads(html.unescape(re.search(r'data-probe="([^"]*)"', dom).group(1)))
    assert probe["clipped"] == []
    assert 0 < probe["bottom"] <= 900


def test_no_infinity_or_nan_text_in_the_scorecard(tmp_path: Path) -> None:
    """C1 on ladders whose cost ratio bounds nothing in two seeds (it printed "< infx")."""
    from claim_records import unbounded_ladders

    run = tmp_path / "run"
    run.mkdir()
    records = [r for r in designed_run() if r["task"] != "image-digits"] + unbounded_ladders()
    (run / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    paths = write_report(run, evidence=ENOUGH)
    md, page = paths.markdown.read_text(), paths.html.read_text()
    scorecard = md[: md.index("- command: ")]  # the scorecard is all above the header
    assert "no bound (both reached it at the first rung)" in scorecard
    assert NOT_A_NUMBER.findall(scorecard) == []
    tiles = page[page.index('<div class="tiles">') : page.index("<table>")]
    assert NOT_A_NUMBER.findall(tiles) == []


def test_no_infinity_or_nan_text_in_the_reference_scorecard(
    reference_records: list[dict], tmp_path: Path
) -> None:
    page = _first_screen(reference_records, tmp_path, "reference").read_text()
    assert NOT_A_NUMBER.findall(page[page.index("<body>") :]) == []
