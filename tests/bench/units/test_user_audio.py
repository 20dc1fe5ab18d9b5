"""audio-user: the user's class folders of recordings generated as audio-fsdd generates."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

RATE = 8000
PITCHES = {"high": 900, "low": 200}


def _tones(root: Path, pitches: dict[str, int] = PITCHES) -> Path:
    """Class folders of 0.5 s tones, one pitch a class, three speakers x three takes."""
    import soundfile

    t = np.arange(RATE // 2) / RATE
    for word, pitch in pitches.items():
        for speaker in ("ann", "bob", "cy"):
            for take in range(3):
                path = root / word / f"{speaker}_{take}.wav"
                path.parent.mkdir(parents=True, exist_ok=True)
                soundfile.write(path, 0.3 * np.sin(2 * np.pi * pitch * t), RATE)
    return root


def test_compare_generates_every_class_and_judges_it(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    import soundfile

    from diffrnn.cli import main

    words, run = _tones(tmp_path / "words"), tmp_path / "run"
    args = ["compare", "--data", str(words), "--tasks", "audio-user", "--suite", "quick"]
    models = ["--models", "audio-gru,real-griffinlim", "--budget", "1", "--seeds", "1"]
    main([*args, *models, "--out", str(run), "--json"])
    records = {r["model"]: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    assert {m: r["status"] for m, r in records.items()} == {
        "audio-gru": "ok",
        "real-griffinlim": "ok",
    }
    real, gru = records["real-griffinlim"]["metrics"], records["audio-gru"]["metrics"]
    assert set(gru) >= {"accuracy", "fd", "inception_score", "fd_real_vs_real"}
    # the judge of two pitches hears them through the vocoder's round trip
    assert real["accuracy"] == 1.0 and real["fd_real_vs_real"] == gru["fd_real_vs_real"]
    unit = run / "units" / "audio-user" / "audio-gru" / "seed0"
    for label, word in enumerate(sorted(PITCHES)):
        wave, rate = soundfile.read(unit / f"class_{label}.wav")
        assert rate == RATE and wave.shape == ((64 - 1) * 80,)
        assert records["audio-gru"]["artefacts"][f"wav_{word}"] == f"class_{label}.wav"
    judge = run / "units" / "audio-user" / "recogniser-quick-seed0"  # shared by the units
    assert json.loads((judge / "config.json").read_text())["config"]["n_classes"] == 2
    generator = json.loads((unit / "model" / "config.json").read_text())["config"]
    assert generator["num_classes"] == 2  # one embedding row per class folder
    report = (run / "report.md").read_text()
    assert "audio-gru (seed 0): wav_high" in report
    assert "- generation: audio-user: audio-fsdd's 64-frame log-mel" in report


def test_the_folder_makes_both_tasks_unless_a_class_is_missing_from_training(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from diffrnn.bench.user_audio import prepare_user_audio
    from diffrnn.data import user_audio

    words = _tones(tmp_path / "words")
    assert prepare_user_audio(words)["tasks"] == ["speech-user", "audio-user"]

    def all_low_held_out(survey, seed=0):  # type: ignore[no-untyped-def]
        test = survey.labels == 1
        return np.flatnonzero(~test), np.flatnonzero(test), "by hand"

    monkeypatch.setattr(user_audio, "held_out_split", all_low_held_out)
    options = prepare_user_audio(words)
    assert options["tasks"] == ["speech-user"]
    assert options["summary"]["generation"] == (
        "not run: class 'low' has no recording in the training split"
    )


def test_one_class_is_refused_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from diffrnn.cli import main

    words = _tones(tmp_path / "words", {"hum": 300})
    with pytest.raises(SystemExit) as exited:
        main(
            ["compare", "--data", str(words), "--tasks", "audio-user", "--out", str(tmp_path / "r")]
        )
    err = capsys.readouterr().err
    assert exited.value.code == 2 and len(err.strip().splitlines()) == 1, err
    assert "single class folder (hum)" in err.replace("\n", "")
    assert not (tmp_path / "r").exists()
