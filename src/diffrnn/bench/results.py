"""`results.jsonl`: one JSON line per finished unit, appended atomically, read back tolerantly.

Each line is one `write` of a whole line to a file opened with O_APPEND, then fsync
(`diffrnn.fileio.append_json_line`): a kill during a write leaves at most one torn last line,
which reading ignores and the next append cuts (else the next line would be glued to it).
The latest record of a (task, model, seed, budget_s) wins, so a failed unit run again replaces its
failure; the same unit at another budget (a rung of a compute ladder) is another unit.
"""

from __future__ import annotations

import json
import logging
import math
import os
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from diffrnn.errors import ConfigError
from diffrnn.fileio import append_json_line, atomic_write_bytes
from diffrnn.paths import check_run_file

logger = logging.getLogger(__name__)

UnitKey = tuple[str, str, int, float]
"""(task, model, seed, budget_s): what identifies a unit's record."""

RESULTS_FILE = "results.jsonl"
RETIRED_FILE = "results.retired.jsonl"
"""Records moved out of `RESULTS_FILE` because their units left the plan (see `retire_records`)."""
SCHEMA_VERSION = 1
MAX_CURVE_POINTS = 1000
"""Curves longer than this are stored as block means (their x keeps the original positions)."""

RECORD_FIELDS = (
    "schema",
    "task",
    "model",
    "family",
    "seed",
    "suite",
    "budget_s",
    "status",
    "error",
    "params",
    "metrics",
    "train_seconds",
    "train_cpu_seconds",
    "steps",
    "stopped_by",
    "infer_seconds_per_sample",
    "throughput",
    "throughput_unit",
    "sampler_steps",
    "unit_wall_seconds",
    "unit_cpu_seconds",
    "peak_rss_mb",
    "start_rss_mb",
    "threads",
    "curves",
    "artefacts",
    "notes",
    "out_dir",
    "started_at",
    "finished_at",
    "host",
    "inputs",
    "input_fingerprint",
    "code",
)
"""Every record carries exactly these keys (None where a failed unit has no value). `inputs` is
what the unit's result depends on besides the code (`provenance.unit_inputs`), `input_fingerprint`
their sha256, `code` the code's identity (`provenance.code_identity`)."""


def to_json_value(value: Any) -> Any:
    """`value` with NumPy/torch values as Python numbers/lists and non-finite floats as None."""
    if isinstance(value, dict):
        return {str(k): to_json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json_value(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if hasattr(value, "tolist") and callable(value.tolist):  # NumPy / torch scalars and arrays
        return to_json_value(value.tolist())
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot store a {type(value).__name__} in results.jsonl: {value!r}")


def compact_curve(
    values: Sequence[float] | Mapping[str, Sequence[float]],
) -> dict[str, list[float]]:
    """A curve as {"x": positions, "y": values}, block-averaged to at most MAX_CURVE_POINTS.

    Args:
        values: y at x = 0, 1, 2, ..., or a mapping {"x": [...], "y": [...]} of equal lengths.
    """
    if isinstance(values, Mapping):
        xs_in, ys_in = [float(x) for x in values["x"]], [float(y) for y in values["y"]]
        if len(xs_in) != len(ys_in):
            raise ValueError(f"a curve's x and y differ in length: {len(xs_in)} vs {len(ys_in)}")
    else:
        ys_in = [float(y) for y in values]
        xs_in = [float(i) for i in range(len(ys_in))]
    n = len(ys_in)
    if n <= MAX_CURVE_POINTS:
        return {"x": xs_in, "y": ys_in}
    width = math.ceil(n / MAX_CURVE_POINTS)
    blocks = [slice(start, start + width) for start in range(0, n, width)]
    return {
        "x": [statistics.fmean(xs_in[b]) for b in blocks],
        "y": [statistics.fmean(ys_in[b]) for b in blocks],
    }


def _close_last_line(path: Path) -> None:
    """End a last line that has no newline: a complete record (written by hand, or by a tool
    that omits the final newline) gets its newline; only an unparsable tail (a write interrupted
    by a kill) is cut."""
    with path.open("rb+") as f:
        data = f.read()
        if not data or data.endswith(b"\n"):
            return
        keep = data.rfind(b"\n") + 1
        try:
            complete = isinstance(json.loads(data[keep:]), dict)
        except (ValueError, RecursionError):
            complete = False
        if complete:
            f.write(b"\n")
        else:
            logger.warning("%s: dropping a torn last line of %d bytes", path, len(data) - keep)
            f.truncate(keep)
        os.fsync(f.fileno())


def append_record(path: Path, record: dict[str, Any]) -> None:
    """Append `record` as one fsynced line (a torn last line left by a kill is cut first).

    Raises:
        ConfigError: `path` is a symlink or not a regular file (see `paths.check_run_file`).
        StorageError: the disk is full or the file too large (nothing half-written is left).
    """
    check_run_file(path)
    if path.exists():
        _close_last_line(path)
    append_json_line(path, to_json_value(record))


_NUMBER = (int, float)
_STRING = ((str,), "a string")
_STRING_OR_NULL = ((str, type(None)), "a string")
_NUMBER_OR_NULL = ((*_NUMBER, type(None)), "a number or null")
_OBJECT_OR_NULL = ((dict, type(None)), "an object")
_TYPES: dict[str, tuple[tuple[type, ...], str]] = {
    **dict.fromkeys(("task", "model", "family"), _STRING),
    "seed": ((int,), "an integer"),
    "budget_s": (_NUMBER, "a number"),
    "status": _STRING,
    "suite": _STRING_OR_NULL,
    "error": ((str, type(None)), "a string or null"),
    "params": _NUMBER_OR_NULL,
    **dict.fromkeys(("metrics", "curves", "artefacts"), _OBJECT_OR_NULL),
    "notes": ((list, type(None)), "a list"),
    **dict.fromkeys(("host", "code", "inputs"), _OBJECT_OR_NULL),
    **dict.fromkeys(
        (
            "out_dir",
            "throughput_unit",
            "input_fingerprint",
            "started_at",
            "finished_at",
            "stopped_by",
        ),
        _STRING_OR_NULL,
    ),
    **dict.fromkeys(
        (
            "train_seconds",
            "train_cpu_seconds",
            "infer_seconds_per_sample",
            "throughput",
            "sampler_steps",
            "steps",
            "unit_wall_seconds",
            "unit_cpu_seconds",
            "peak_rss_mb",
            "start_rss_mb",
            "threads",
        ),
        _NUMBER_OR_NULL,
    ),
}
"""Each field's JSON type, checked on reading (the report and the resume logic rely on them)."""
LATER_FIELDS = ("inputs", "input_fingerprint", "code", "steps", "stopped_by")
"""Fields added after schema 1 (an older record without provenance is run again, not reused)."""
REQUIRED = tuple(name for name in _TYPES if name not in LATER_FIELDS)
"""Fields a record cannot be without (every schema-1 record has them)."""


def _relative_inside(path: str) -> bool:
    """A relative path that does not climb out of its directory (no `..`, not absolute)."""
    p = Path(path)
    return bool(path) and not p.is_absolute() and ".." not in p.parts and "\0" not in path


def record_problem(record: Any) -> str | None:
    """What makes `record` unusable as a results.jsonl record, in words (None: nothing)."""
    if not isinstance(record, dict):
        return f"a JSON {type(record).__name__}, not a record"
    for name in REQUIRED:
        if name not in record:
            return f"the record has no {name!r}"
    for name, (types, words) in _TYPES.items():
        value = record.get(name)
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            return f"{name!r} should be {words}, got {json.dumps(value)[:40]}"
        if isinstance(value, float) and not math.isfinite(value):
            return f"{name!r} is not finite"
    if record["status"] not in ("ok", "failed"):
        return f"'status' should be ok or failed, got {record['status'][:40]!r}"
    if record["seed"] < 0 or not record["budget_s"] > 0:
        return "'seed' is negative or 'budget_s' not positive"
    for name, curve in (record.get("curves") or {}).items():
        xs, ys = (curve.get("x"), curve.get("y")) if isinstance(curve, dict) else (None, None)
        numbers = [isinstance(v, list) and all(isinstance(e, _NUMBER) for e in v) for v in (xs, ys)]
        if not all(numbers) or len(xs) != len(ys):  # type: ignore[arg-type]
            return f"curve {name[:40]!r} should be {{x: [numbers], y: [numbers]}} of one length"
    places = [record.get("out_dir") or ".", *(record.get("artefacts") or {}).values()]
    if not all(isinstance(p, str) and _relative_inside(p) for p in places):
        return "an artefact or out_dir is not a path inside the run directory"
    if not all(isinstance(n, str) for n in record.get("notes") or []):
        return "'notes' should be a list of strings"
    for owner, keys in (("host", ("cpu",)), ("code", ("git_commit", "source_sha256"))):
        for key in keys:
            if not isinstance((record.get(owner) or {}).get(key), str | None):
                return f"'{owner}.{key}' should be a string"
    return None


def read_records(path: Path) -> list[dict[str, Any]]:
    """Every complete record of `path` in file order (a torn or garbled line is skipped).

    Raises:
        ConfigError: a line parses as JSON but is not a record (a missing field, a wrong type),
            naming the line.
    """
    if not path.exists():
        return []
    records = []
    for number, raw in enumerate(path.read_bytes().splitlines(), start=1):
        try:
            record = json.loads(raw)
        except (ValueError, RecursionError):  # torn by a kill, or not text at all
            logger.warning("%s line %d: not JSON, skipped", path, number)
            continue
        problem = record_problem(record)
        if problem:
            raise ConfigError(
                f"{path} line {number} is not a diffrnn record: {problem}.",
                "delete that line (its unit then runs again) or restore the file.",
            )
        records.append(record)
    return records


def retire_records(path: Path, retire: Callable[[dict[str, Any]], bool]) -> int:
    """Move the records of `path` for which `retire` is true to `RETIRED_FILE` beside it.

    They are appended there first (fsynced), then `path` is rewritten atomically with the other
    lines byte for byte: a kill in between leaves a record in both files, never in neither.
    Returns how many records moved.
    """
    if not path.exists():
        return 0
    keep: list[bytes] = []
    gone: list[dict[str, Any]] = []
    for raw in path.read_bytes().splitlines():
        try:
            record = json.loads(raw)
        except (ValueError, RecursionError):
            continue  # a torn line: reading skips it anyway
        if record_problem(record) is None and retire(record):
            gone.append(record)
        else:
            keep.append(raw)
    if not gone:
        return 0
    retired = path.with_name(RETIRED_FILE)
    check_run_file(retired)
    for record in gone:
        append_json_line(retired, record)
    atomic_write_bytes(path, b"".join(line + b"\n" for line in keep))
    return len(gone)


def unit_key(record: dict[str, Any]) -> UnitKey:
    """(task, model, seed, budget_s) of a record."""
    return (record["task"], record["model"], int(record["seed"]), float(record["budget_s"]))


def latest_by_unit(records: Iterable[dict[str, Any]]) -> dict[UnitKey, dict[str, Any]]:
    """(task, model, seed, budget_s) -> its last record."""
    return {unit_key(r): r for r in records}
