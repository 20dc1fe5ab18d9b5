"""`compare --data` on kinds of data other than series: recognised, run, reported, refused."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from diffrnn.data.user_text import MIN_TOKENS

PROSE = "It is a truth universally acknowledged, that a single man in possession of a fortune.\n"


def _fails(args: list[str], capsys: pytest.CaptureFixture) -> str:
    from diffrnn.cli import main

    with pytest.raises(SystemExit) as exited:
        main(args)
    err = capsys.readouterr().err
    assert exited.value.code == 2, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err.replace("\n", "")


def test_compare_data_on_a_text_runs_the_language_task(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from diffrnn.cli import main

    (tmp_path / "book.txt").write_text(PROSE * (MIN_TOKENS // len(PROSE) + 20))
    run = tmp_path / "run"
    args = ["compare", "--data", str(tmp_path / "book.txt"), "--models", "ngram"]
    main([*args, "--budget", "2", "--seeds", "1", "--out", str(run), "--json"])
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["task"], r["model"], r["seed"], r["status"]) for r in records] == [
        ("lm-user", "ngram", 0, "ok")
    ]
    assert 0 < records[0]["metrics"]["nats_per_char"] < 0.5  # one sentence repeated: learnable
    report = (run / "report.md").read_text()
    assert "- kind: text (inferred: a .txt file)" in report
    assert "- split: contiguous: the first 90% (" in report
    assert "Pick baseline (ngram): nats_per_char" in report and "held-out split" in report
    samples = (run / "units/lm-user/ngram/seed0/samples.txt").read_text()
    assert len(samples) > 16 and set(samples) <= set(PROSE)
    main([*args, "--budget", "2", "--seeds", "1", "--out", str(run)])  # resumes
    assert "[1/1] lm-user ngram seed 0: already done" in capsys.readouterr().out


def test_kind_override_and_flags_of_another_kind(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    table = tmp_path / "notes.txt"
    table.write_text("a,b\n1,2\n3,4\n")
    book = tmp_path / "book.txt"
    book.write_text(PROSE * 10)
    out = ["--out", str(tmp_path / "run")]
    err = _fails(["compare", "--data", str(table), "--kind", "text", *out], capsys)
    assert f"needs at least {MIN_TOKENS:,}" in err  # read as text because --kind says so
    err = _fails(["compare", "--data", str(book), "--horizon", "3", *out], capsys)
    assert "--horizon is for series data; --data holds text (inferred: a .txt file)" in err
    err = _fails(["compare", "--data", str(book), "--kind", "poetry", *out], capsys)
    assert "--kind must be one of series, text, images, audio, graph" in err
    err = _fails(["compare", "--data", str(table), "--horizon", "1", "--tokens", "bytes"], capsys)
    assert "--tokens is not for series" in err
    err = _fails(["compare", "--tokens", "bytes", *out], capsys)
    assert "--kind, --tokens, --graph, --size and --uses are for your own data" in err


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({}, "holds no .txt, PNG/JPEG or WAV/FLAC files"),
        ({"a.txt": b"x", "b.png": b"x"}, "mixes kinds of files"),
        ({"a.txt": b"\xff\xfe" + b"x" * 20_000}, "is not UTF-8 (byte 0xff at offset 0)"),
        ({"a.txt": b"short"}, "needs at least"),
    ],
)
def test_hostile_text_folders_get_one_line_and_exit_2(
    tmp_path: Path, files: dict[str, bytes], message: str, capsys: pytest.CaptureFixture
) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    for name, data in files.items():
        (folder / name).write_bytes(data)
    err = _fails(["compare", "--data", str(folder), "--out", str(tmp_path / "run")], capsys)
    assert message in err
    assert not (tmp_path / "run" / "results.jsonl").exists()  # nothing half-written


def test_compare_data_on_a_graph_folder_runs_the_graph_task(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from diffrnn.cli import main

    folder = tmp_path / "net"
    folder.mkdir()
    t = np.arange(80)
    days = np.arange(np.datetime64("2025-01-01"), np.datetime64("2025-01-01") + 80)
    lines = ["date,up,down,side"] + [
        f"{d},{np.sin(k / 3):.4f},{np.sin((k - 1) / 3):.4f},{np.cos(k / 5):.4f}"
        for k, d in zip(t, days, strict=True)
    ]
    (folder / "nodes.csv").write_text("\n".join(lines) + "\n")
    (folder / "edges.csv").write_text("src,dst,weight\nup,down,1\n")
    run = tmp_path / "run"
    args = ["compare", "--data", str(folder), "--models", "last-value,linear-ar"]
    main([*args, "--seeds", "1", "--out", str(run), "--json"])
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["task"], r["model"], r["status"]) for r in records] == [
        ("graph-user", "last-value", "ok"),
        ("graph-user", "linear-ar", "ok"),
    ]
    assert records[1]["metrics"]["mse"] < records[0]["metrics"]["mse"]  # sines are linear AR
    report = (run / "report.md").read_text()
    assert "- kind: graph (inferred: a folder holding edges.csv and a node table)" in report
    assert "the graph is disconnected: 2 pieces of 2, 1 nodes" in report
    assert "Pick baseline (linear-ar): mse" in report


@pytest.mark.parametrize(
    ("edges", "message"),
    [
        ("src,dst\nup,nowhere\n", "names node 'nowhere'"),
        ("src,dst\nup,up\n", "is a self-loop"),
        ("src,dst,weight\nup,down,-2\n", "is not a non-negative number"),
    ],
)
def test_hostile_edge_lists_get_one_line_and_exit_2(
    tmp_path: Path, edges: str, message: str, capsys: pytest.CaptureFixture
) -> None:
    days = np.arange(np.datetime64("2025-01-01"), np.datetime64("2025-01-01") + 40)
    table = tmp_path / "nodes.csv"
    table.write_text("date,up,down\n" + "".join(f"{d},{k},{k % 3}\n" for k, d in enumerate(days)))
    (tmp_path / "e.csv").write_text(edges)
    args = ["compare", "--data", str(table), "--graph", str(tmp_path / "e.csv")]
    err = _fails([*args, "--out", str(tmp_path / "run")], capsys)
    assert message in err
    assert not (tmp_path / "run" / "results.jsonl").exists()


def _image_folder(root: Path, classes: dict[str, int], side: int = 8) -> Path:
    from PIL import Image

    rng = np.random.default_rng(0)
    for k, (name, n) in enumerate(classes.items()):
        (root / name).mkdir(parents=True)
        for i in range(n):
            pixels = np.clip(rng.normal(60 + 120 * k, 20, (side, side)), 0, 255)
            Image.fromarray(pixels.astype(np.uint8), "L").save(root / name / f"{i}.png")
    return root


def test_compare_data_on_an_image_folder_runs_the_image_task(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from diffrnn.cli import main

    monkeypatch.setenv("DIFFRNN_CACHE_DIR", str(tmp_path / "cache"))
    folder = _image_folder(tmp_path / "pics", {"dark": 10, "light": 10})
    run = tmp_path / "run"
    args = ["compare", "--data", str(folder), "--models", "pixel-lstm", "--budget", "1"]
    main([*args, "--seeds", "1", "--out", str(run), "--json"])
    (record,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert (record["task"], record["model"], record["status"]) == ("image-user", "pixel-lstm", "ok")
    metrics = record["metrics"]
    assert 0 < metrics["bits_per_dim"] < 9 and metrics["fd"] > 0 and metrics["fd_real_vs_real"] > 0
    assert any("a classifier of your 2 classes" in note for note in record["notes"])
    report = (run / "report.md").read_text()
    assert "- kind: images (inferred: a folder of 20 image files)" in report
    assert "- split: 16 train, 2 validation, 2 test (80/10/10 within each class)" in report
    assert "resized to 8 x 8 (the largest of 8, 16, 28, 32" in report
    assert (run / "units/image-user/pixel-lstm/seed0/samples.png").stat().st_size > 0
    assert list((tmp_path / "cache").glob("user-images-*-8.npz"))  # decoded once, then cached


@pytest.mark.parametrize(
    ("classes", "message"),
    [
        ({"only": 5}, "a single class folder (only)"),
        ({"a": 5, "b": 1}, "class 'b' of"),
    ],
)
def test_hostile_image_folders_get_one_line_and_exit_2(
    tmp_path: Path, classes: dict[str, int], message: str, capsys: pytest.CaptureFixture
) -> None:
    folder = _image_folder(tmp_path / "pics", classes)
    err = _fails(["compare", "--data", str(folder), "--out", str(tmp_path / "run")], capsys)
    assert message in err


def test_a_size_the_smallest_image_does_not_allow_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    folder = _image_folder(tmp_path / "pics", {"a": 3, "b": 3}, side=10)
    args = ["compare", "--data", str(folder), "--size", "16", "--out", str(tmp_path / "run")]
    err = _fails(args, capsys)
    assert "--size 16 does not fit: the smallest image is 10 px" in err


def test_a_symlink_out_of_the_data_folder_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "a.txt").write_text(PROSE * 200)
    (tmp_path / "secret.txt").write_text("not yours")
    (folder / "b.txt").symlink_to(tmp_path / "secret.txt")
    err = _fails(["compare", "--data", str(folder), "--out", str(tmp_path / "run")], capsys)
    assert "is a symlink leading out of" in err and "copy the file into the folder" in err


def test_compare_data_on_class_folders_of_recordings_runs_the_speech_task(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    import soundfile

    from diffrnn.cli import main

    rate = 8000
    t = np.arange(rate // 4) / rate
    for word, pitch in (("low", 200), ("high", 900)):
        for speaker in ("ann", "bob", "cy"):
            for take in range(3):
                path = tmp_path / "words" / word / f"{speaker}_{take}.wav"
                path.parent.mkdir(parents=True, exist_ok=True)
                soundfile.write(path, 0.3 * np.sin(2 * np.pi * pitch * t), rate)
    run = tmp_path / "run"
    args = ["compare", "--data", str(tmp_path / "words"), "--models", "majority"]
    main([*args, "--seeds", "1", "--out", str(run), "--json"])
    (record,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert (record["task"], record["status"]) == ("speech-user", "ok")
    assert record["metrics"]["accuracy"] == 0.5  # 3 low and 3 high recordings of one speaker
    report = (run / "report.md").read_text()
    assert "- kind: audio (inferred: a folder of 18 audio files)" in report
    assert "12 train, 6 test: file-name prefixes held out for the test" in report


def test_default_seeds_count_every_task_the_data_makes(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A folder of recordings makes two tasks: the seeds must fit the time limit of both."""
    import diffrnn.bench.user_data as user_data
    import diffrnn.bench.user_kinds as user_kinds
    from diffrnn.cli import main

    made = {"tasks": ["speech-user", "audio-user"], "task": "speech-user", "summary": {}}
    monkeypatch.setattr(user_kinds, "prepare_data", lambda *a, **k: dict(made))
    asked: list[list[str]] = []

    def seeds(suite, budget, jobs, models, tasks):  # type: ignore[no-untyped-def]
        asked.append(list(tasks))
        raise SystemExit(0)  # stop before anything runs

    monkeypatch.setattr(user_data, "data_seeds", seeds)
    (tmp_path / "a").mkdir()
    with pytest.raises(SystemExit):
        main(["compare", "--data", str(tmp_path), "--kind", "audio", "--out", str(tmp_path / "r")])
    assert asked == [["speech-user", "audio-user"]]


def test_ddpm_cond_is_left_out_of_the_plan_on_images_without_classes(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Planned, it trained nothing and counted as one ok diffusion run (C10 read it)."""
    from diffrnn.bench import compare, report
    from diffrnn.bench.user_images import NO_CLASSES
    from diffrnn.cli import main

    monkeypatch.setenv("DIFFRNN_CACHE_DIR", str(tmp_path / "cache"))
    loose = _image_folder(tmp_path / "pics", {"": 20})  # no class subfolders
    planned: list[list[str]] = []

    def run(job: compare.CompareJob, on_event: object = None) -> list[dict]:
        planned.append([u.model for u in job.units])
        return []

    monkeypatch.setattr(compare, "execute", run)
    monkeypatch.setattr(report, "write_report", lambda d: report.ReportPaths(d / "r.md", d / "r"))
    capsys.readouterr()
    main(
        [
            "compare",
            "--data",
            str(loose),
            "--budget",
            "1",
            "--seeds",
            "1",
            "--out",
            str(tmp_path / "run"),
        ]
    )
    out = capsys.readouterr().out.replace("\n", " ")
    assert planned == [["ddpm", "pixel-lstm"]]
    assert f"left out: ddpm-cond ({NO_CLASSES})" in out
    user_data = json.loads((tmp_path / "run" / "run.json").read_text())["user_data"]
    assert user_data["left out"] == f"ddpm-cond: {NO_CLASSES}"  # the report's "Your data"
    args = ["compare", "--data", str(loose), "--models", "ddpm-cond", "--out", str(tmp_path / "r2")]
    err = _fails(args, capsys)
    assert f"ddpm-cond cannot run on your data: {NO_CLASSES}." in err
    assert not (tmp_path / "r2" / "run.json").exists()


def test_ddpm_cond_is_planned_on_class_folders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from diffrnn.bench.compare import CompareRequest, prepare
    from diffrnn.bench.user_images import prepare_user_images

    monkeypatch.setenv("DIFFRNN_CACHE_DIR", str(tmp_path / "cache"))
    options = prepare_user_images(_image_folder(tmp_path / "pics", {"dark": 10, "light": 10}))
    assert "left_out" not in options and "left out" not in options["summary"]
    job = prepare(CompareRequest(seeds=1, user_options=options, out=tmp_path / "run"))
    assert [u.model for u in job.units] == ["ddpm", "ddpm-cond", "pixel-lstm"]
    assert job.left_out == {}
