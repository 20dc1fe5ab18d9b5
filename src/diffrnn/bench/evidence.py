"""Committed evidence: a finished run reduced to what a reader needs, checked that it still holds.

    pack(Path("runs/reference"), Path("evidence/reference"))   # after `diffrnn compare`
    stale_names(Path("evidence/reference"))                    # [] while the registry agrees
    rerendered_matches(Path("evidence/reference"))             # True: report.md is reproducible

`evidence/<name>/` keeps `results.jsonl`, `run.json` (the command that made it, its suite, host and
timings), `report.md` and `plots/`; never checkpoints, saved models or unit folders (the repository
ignores `evidence/*/units/` and `evidence/*/report.html`). Its report.md is rendered there, from
those files alone, so `diffrnn report evidence/<name>` writes it again byte for byte.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from diffrnn.bench.report import PLOTS_DIR, REPORT_MD, write_report
from diffrnn.bench.results import RESULTS_FILE, latest_by_unit, read_records
from diffrnn.bench.runner import RUN_INFO_FILE, read_run_info
from diffrnn.errors import ConfigError

EVIDENCE_ROOT = Path("evidence")
"""Where the repository keeps its committed runs, one folder per run."""


def pack(run_dir: Path, dest: Path, replace: bool = False) -> Path:
    """Copy a run's results and set-up into `dest` and render its report there.

    Args:
        run_dir: a directory written by `diffrnn compare`.
        dest: the evidence folder to write, e.g. `evidence/reference`.
        replace: overwrite an existing evidence folder's files (else it must be absent or empty).

    Returns:
        The report.md rendered in `dest`.

    Raises:
        ConfigError: `run_dir` holds no results or no run.json, `dest` is `run_dir`, or `dest`
            already holds files and `replace` is False.
    """
    for name in (RESULTS_FILE, RUN_INFO_FILE):
        if not (run_dir / name).is_file():
            raise ConfigError(
                f"{run_dir} has no {name}.", "point at a directory written by `diffrnn compare`."
            )
    if dest.resolve() == run_dir.resolve():
        raise ConfigError(f"{dest} is the run itself.", "pack it into another folder.")
    if dest.exists() and any(dest.iterdir()) and not replace:
        raise ConfigError(f"{dest} already holds files.", "pass --replace to overwrite them.")
    dest.mkdir(parents=True, exist_ok=True)
    for name in (RESULTS_FILE, RUN_INFO_FILE):
        shutil.copyfile(run_dir / name, dest / name)
    shutil.rmtree(dest / PLOTS_DIR, ignore_errors=True)  # drawn again from these results
    paths = write_report(dest)
    paths.html.unlink(missing_ok=True)
    return paths.markdown


def stale_names(directory: Path) -> list[str]:
    """What the evidence in `directory` names that the registry no longer has, one line each.

    Checked: every task of its records still exists; every (task, model) is still registered
    there, in the same family; the metrics its run.json lists for each task are still the task's,
    with the same primary metric; and every ok record reports that primary metric.

    Returns:
        One line per problem ([] when the evidence and the registry agree).
    """
    from diffrnn.bench.registry import TASKS, load_registry

    load_registry()
    snapshots = read_run_info(directory).get("tasks", {})
    problems: list[str] = []
    records = list(latest_by_unit(read_records(directory / RESULTS_FILE)).values())
    for name in sorted({r["task"] for r in records}):
        task = TASKS.get(name)
        if task is None:
            problems.append(f"task {name!r} is no longer registered")
            continue
        snap = snapshots.get(name, {})
        gone = [m for m in snap.get("metrics", ()) if m not in task.metrics]
        if gone:
            problems.append(f"{name}: metrics {gone} are no longer the task's")
        if snap.get("primary_metric", task.primary_metric) != task.primary_metric:
            problems.append(
                f"{name}: primary metric was {snap['primary_metric']!r}, "
                f"is now {task.primary_metric!r}"
            )
    for r in records:
        task = TASKS.get(r["task"])
        if task is None:
            continue
        entry = task.models.get(r["model"])
        unit = f"{r['task']}/{r['model']}"
        if entry is None:
            problems.append(f"{unit} is no longer registered")
        elif entry.family != r["family"]:
            problems.append(f"{unit} was {r['family']!r}, is now {entry.family!r}")
        if r["status"] == "ok" and task.primary_metric not in (r["metrics"] or {}):
            problems.append(f"{unit} seed {r['seed']} lacks {task.primary_metric!r}")
    return list(dict.fromkeys(problems))


def rerendered_matches(directory: Path) -> bool:
    """Whether rendering the report of `directory` again gives its report.md byte for byte.

    Renders a copy of its results.jsonl and run.json in a temporary folder: `directory` is not
    touched.
    """
    committed = directory / REPORT_MD
    if not committed.is_file():
        return False
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / directory.resolve().name
        copy.mkdir()
        for name in (RESULTS_FILE, RUN_INFO_FILE):
            shutil.copyfile(directory / name, copy / name)
        return write_report(copy).markdown.read_bytes() == committed.read_bytes()


def evidence_dirs(root: Path = EVIDENCE_ROOT) -> list[Path]:
    """The evidence folders under `root` (those holding a results.jsonl), sorted by name."""
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if (p / RESULTS_FILE).is_file())
