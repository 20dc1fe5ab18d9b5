"""The `diffrnn` command: the only place that prints.

Thin by design: parse, call the library, render. Heavy imports (torch, lightning, diffusers) happen
inside the commands, never at module level, so `diffrnn --help` is instant.
"""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from typer.exceptions import TyperException

from diffrnn import __version__
from diffrnn import paths as check
from diffrnn.errors import DiffrnnError

app = typer.Typer(
    name="diffrnn",
    help="Recurrent networks vs denoising diffusion (and the hybrids joining them), "
    "measured side by side on real data.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
datasets_app = typer.Typer(help="The vendored real datasets.", no_args_is_help=True)
app.add_typer(datasets_app, name="datasets")
evidence_app = typer.Typer(
    help="Committed runs under evidence/<name>/: pack one, check them.", no_args_is_help=True
)
app.add_typer(evidence_app, name="evidence")

console = Console()
err_console = Console(stderr=True)

EXIT_USER_ERROR = 2
STOP_SIGNALS = {
    signal.SIGINT: "Ctrl-C (SIGINT)",
    signal.SIGTERM: "SIGTERM",
    signal.SIGHUP: "SIGHUP",
}
"""Signals that stop a command cleanly: exit code 128 + the signal's number, and one line."""


class Interrupted(BaseException):
    """A stop signal arrived (a BaseException, so no `except Exception` of a library swallows it
    and every `finally` on the way out runs: the runner stops its unit processes)."""

    def __init__(self, signum: int) -> None:
        super().__init__(STOP_SIGNALS.get(signum, f"signal {signum}"))
        self.signum = signum
        self.run_dir: Path | None = None


def _raise_interrupted(signum: int, _frame: Any) -> None:
    raise Interrupted(signum)


@app.command()
def version() -> None:
    """Print the diffrnn version."""
    console.print(f"diffrnn {__version__}")


def _print_version(value: bool) -> None:
    if value:
        console.print(f"diffrnn {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version", is_eager=True, callback=_print_version, help="Print the version."
        ),
    ] = False,
) -> None:
    """Options of every command (the app's help is its own)."""


@datasets_app.command("list")
def datasets_list() -> None:
    """Table of the datasets: name, modality, shape, size on disk, licence."""
    from rich.table import Table

    from diffrnn.data import registry

    table = Table(title=f"datasets under {registry.data_root()}")
    table.add_column("name", no_wrap=True)
    for column in ("modality", "shape", "size", "licence"):
        table.add_column(column, overflow="fold")
    for name, entry in registry.DATASETS.items():
        size = f"{registry.size_on_disk(name) / 1e6:.1f} MB" if entry.files else "in sklearn"
        table.add_row(name, entry.modality, entry.shape, size, entry.licence)
    console.print(table)


@datasets_app.command("show")
def datasets_show(name: str) -> None:
    """All registry facts of one dataset: source, licence, upstream, files and splits."""
    from rich.table import Table

    from diffrnn.data import registry

    entry = registry.get(name)
    table = Table(title=entry.name, show_header=False)
    table.add_column("fact", style="bold")
    table.add_column("value", overflow="fold")
    for fact in ("modality", "description", "shape", "splits", "licence", "source", "url"):
        table.add_row(fact, getattr(entry, fact))
    if entry.note:
        table.add_row("note", entry.note)
    for file in entry.files:
        table.add_row("file", f"{file.path}  sha256 {file.sha256}")
    if entry.manifest:
        n_listed = len(registry.files(name)) - len(entry.files)
        table.add_row("manifest", f"{entry.manifest} lists {n_listed} more files with sha256")
    table.add_row("data root", str(registry.data_root()))
    console.print(table)


@datasets_app.command("verify")
def datasets_verify(
    name: str = typer.Argument(None, help="One dataset; all of them when left out."),
) -> None:
    """Check the sha256 of every vendored file (exit code 2 naming the file on a mismatch)."""
    from diffrnn.data import registry

    counts = {name: len(registry.verify(name))} if name else registry.verify_all()
    for dataset, n_files in counts.items():
        console.print(f"[green]ok[/] {dataset}: {n_files} files")


@app.command()
def train(
    task: Annotated[str, typer.Option(help="Task name (see diffrnn.bench.tasks).")],
    model: Annotated[str, typer.Option(help="Model registered on the task.")],
    out: Annotated[str, typer.Option(help="Run directory: checkpoints/, artefacts/, result.json.")],
    seed: Annotated[int, typer.Option(help="Seeds the weights, the data order and the noise.")] = 0,
    resume: Annotated[bool, typer.Option(help="Continue from OUT/checkpoints/last.ckpt.")] = False,
    suite: Annotated[str, typer.Option(help="quick (tiny models) or full (target budgets).")] = (
        "quick"
    ),
    budget: Annotated[
        float | None, typer.Option(min=0.1, help="Training seconds (default: the suite's).")
    ] = None,
    max_steps: Annotated[
        int | None,
        typer.Option(min=1, help="Optimiser steps instead of a time budget (repeatable results)."),
    ] = None,
    devices: Annotated[str, typer.Option(help="Devices per node: a number or 'auto'.")] = "1",
    strategy: Annotated[str, typer.Option(help="Lightning strategy, e.g. ddp.")] = "auto",
    num_nodes: Annotated[int, typer.Option(min=1, help="Machines (DDP across nodes).")] = 1,
    threads: Annotated[int, typer.Option(min=1, help="torch threads per process.")] = 1,
) -> None:
    """Train one unit (task, model, seed) into OUT; --resume continues a killed run."""
    from diffrnn.bench.train import launched_as_rank_zero, train_unit
    from diffrnn.errors import ConfigError

    if not (devices == "auto" or (devices.isdigit() and int(devices) >= 1)):
        raise ConfigError(f"--devices must be a positive number or 'auto', got {devices!r}.")
    out_dir = check.output_dir(out, "--out")
    output = train_unit(
        task,
        model,
        seed,
        out_dir,
        suite=suite,
        budget_s=budget,
        resume=resume,
        threads=threads,
        max_steps=max_steps,
        devices=int(devices) if devices.isdigit() else devices,
        strategy=strategy,
        num_nodes=num_nodes,
    )
    if launched_as_rank_zero():
        metrics = ", ".join(f"{name} {value}" for name, value in output.metrics.items())
        console.print(f"{task} / {model} (seed {seed}): {metrics}")
        console.print(f"trained {output.train_seconds:.1f} s; wrote {out_dir / 'result.json'}")


@app.command()
def sample(
    task: Annotated[str, typer.Option(help="Task name; sampling is offered on audio-fsdd.")],
    model: Annotated[str, typer.Option(help="audio-diffusion or audio-gru.")],
    digit: Annotated[int, typer.Option(min=0, max=9, help="The digit to say.")],
    output: Annotated[str, typer.Option("--output", "-o", help="WAV file to write.")],
    from_dir: Annotated[
        str | None,
        typer.Option("--from", help="A saved model folder (a run's artefacts/model)."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seeds the sampling noise (and quick training).")] = 0,
    steps: Annotated[
        int | None, typer.Option(min=1, help="Diffusion sampler steps (default: the model's).")
    ] = None,
    budget: Annotated[
        float, typer.Option(min=0.1, help="Training seconds when no --from is given.")
    ] = 60.0,
) -> None:
    """Generate one spoken digit as an 8 kHz WAV (log-mel generator + Griffin-Lim)."""
    from diffrnn.bench.train import check_seed
    from diffrnn.errors import ConfigError
    from diffrnn.spoken_digits import check_name

    if task != "audio-fsdd":
        raise ConfigError(f"sample supports --task audio-fsdd, got {task!r}.")
    check_name(model)
    check_seed(seed)
    wav = check.output_file(output, "--output")  # checked before any training
    saved = check.input_dir(from_dir, "--from") if from_dir is not None else None
    import numpy as np

    import diffrnn
    from diffrnn.data.audio import SAMPLE_RATE
    from diffrnn.data.spectrograms import write_wav
    from diffrnn.evaluation.audio import generated_audio
    from diffrnn.spoken_digits import check_generator, quick_generator

    if saved is None:
        console.print(
            f"no --from given: training the quick configuration of {model} first "
            f"({budget:g} s); its samples will be rough."
        )
        generator = quick_generator(model, seed, budget)
    else:
        generator = diffrnn.load(saved).eval()
        check_generator(generator)
    kwargs = {"steps": steps} if steps is not None and model == "audio-diffusion" else {}
    waves, _, sample_s, vocoder_s = generated_audio(generator, np.array([digit]), seed, **kwargs)
    write_wav(wav, waves[0])
    console.print(
        f"wrote {output}: digit {digit}, {len(waves[0]) / SAMPLE_RATE:.2f} s of audio "
        f"({sample_s:.2f} s sampling + {vocoder_s:.2f} s Griffin-Lim)"
    )


def _budgets(value: str | None) -> tuple[float, ...] | None:
    """A comma-separated list of seconds (`--budgets 30,120,480`; None when not given)."""
    from diffrnn.errors import ConfigError

    if value is None:
        return None
    try:
        return tuple(float(item) for item in value.split(",") if item.strip())
    except ValueError:
        raise ConfigError(
            f"--budgets takes seconds separated by commas, got {value!r}.",
            "pass e.g. --budgets 30,120,480.",
        ) from None


def _names(value: str | None) -> tuple[str, ...] | None:
    """A comma-separated list of names (None when not given)."""
    if value is None:
        return None
    return tuple(name.strip() for name in value.split(",") if name.strip()) or None


class _CompareView:
    """Progress bar and live table of a running `compare` (Rich renders it on each refresh)."""

    SHOWN_ROWS = 12

    def __init__(self, job: Any) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        self.job = job
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        self.bar = self.progress.add_task(f"{job.suite.name} suite", total=len(job.units))
        self.running: dict[tuple[str, str, int, float], float] = {}
        self.finished: list[dict[str, Any]] = []
        self.failed = 0
        self.ladder = len({u.budget_s for u in job.units}) > 1

    def __call__(self, event: Any) -> None:
        import time

        if event.kind == "started":
            self.running[event.spec.key] = time.monotonic()
            return
        self.running.pop(event.spec.key, None)
        self.finished.append(
            {**event.record, "_skipped": event.kind == "skipped", "_reason": event.reason}
        )
        self.failed += event.record["status"] != "ok"
        self.progress.advance(self.bar)

    def _primary(self, record: dict[str, Any]) -> str:
        task = self.job.tasks[record["task"]]
        value = (record.get("metrics") or {}).get(task.primary_metric)
        if isinstance(value, float):
            return f"{task.primary_metric} {value:.4g}"
        if isinstance(value, dict):
            return f"{task.primary_metric} per T ({len(value)})"
        return ""

    def line(self, record: dict[str, Any], kind: str) -> str:
        """One plain line for a finished or skipped unit."""
        done = len(self.finished)
        unit = f"{record['task']} {record['model']} seed {record['seed']}"
        if self.ladder:
            unit += f" at {record['budget_s']:g} s"
        head = f"[{done}/{len(self.job.units)}] {unit}"
        if kind == "skipped":
            return f"{head}: already done"
        if record.get("_reason"):
            head += f" ({record['_reason']})"
        if record["status"] != "ok":
            return f"{head}: FAILED {record['error']}"
        return f"{head}: {self._primary(record)} ({record['unit_wall_seconds']:.1f} s)"

    def __rich__(self) -> Any:
        import time

        from rich.console import Group
        from rich.table import Table

        table = Table(expand=False, show_edge=False, pad_edge=False)
        columns = ("task", "model", "family", "seed", "budget s", "status", "result", "wall s")
        for column in columns:
            table.add_column(column)
        for r in self.finished[-self.SHOWN_ROWS :]:
            status = "skipped (done)" if r["_skipped"] else r["status"]
            status += f", {r['_reason']}" if r["_reason"] else ""
            style = "green" if r["status"] == "ok" else "red"
            result = self._primary(r) if r["status"] == "ok" else (r["error"] or "")[:60]
            wall = r.get("unit_wall_seconds")
            table.add_row(
                r["task"],
                r["model"],
                r["family"],
                str(r["seed"]),
                f"{r['budget_s']:g}",
                f"[{style}]{status}[/]",
                result,
                f"{wall:.1f}" if wall is not None else "",
            )
        now = time.monotonic()
        for (task, model, seed, budget), since in self.running.items():
            family = self.job.tasks[task].models[model].family
            table.add_row(
                task,
                model,
                family,
                str(seed),
                f"{budget:g}",
                "[yellow]running[/]",
                "",
                f"{now - since:.0f}",
            )
        return Group(table, self.progress)


@app.command()
def compare(
    ctx: typer.Context,
    suite: Annotated[
        str, typer.Option(help="quick (every task, tiny budgets), full or reference.")
    ] = "quick",
    tasks: Annotated[str | None, typer.Option(help="Comma-separated task names.")] = None,
    models: Annotated[str | None, typer.Option(help="Comma-separated model names.")] = None,
    seeds: Annotated[int | None, typer.Option(help="Run seeds 0..N-1.")] = None,
    budget: Annotated[float | None, typer.Option(help="Training seconds per unit.")] = None,
    budgets: Annotated[
        str | None,
        typer.Option(help="A compute ladder, e.g. 30,120,480: every unit at each budget."),
    ] = None,
    out: Annotated[
        str | None,
        typer.Option(help="Run directory (default runs/<timestamp>); an existing one resumes."),
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the records as JSON lines when done.")
    ] = False,
    jobs: Annotated[int | None, typer.Option(help="Units run at once.")] = None,
    threads: Annotated[int, typer.Option(help="Torch threads per unit.")] = 1,
    data: Annotated[
        str | None,
        typer.Option(help="Your own CSV/Parquet: forecast it with every forecasting family."),
    ] = None,
    data_format: Annotated[
        str | None, typer.Option("--format", help="long (unique_id, ds, y) or wide; inferred.")
    ] = None,
    horizon: Annotated[int | None, typer.Option(help="Steps to forecast (with --data).")] = None,
    freq: Annotated[str | None, typer.Option(help="Pandas frequency, e.g. D, h; inferred.")] = None,
    context: Annotated[
        int | None, typer.Option(help="History steps (default 2 x horizon).")
    ] = None,
    windows: Annotated[
        int | None,
        typer.Option(help="Backtest origins (default 5 to 20, over the last 15% of the rows)."),
    ] = None,
    fill: Annotated[
        str, typer.Option(help="NaN policy: error, ffill, interpolate or zero.")
    ] = "error",
    rerun: Annotated[
        bool,
        typer.Option(
            "--rerun",
            help="Redo the units of --out whose stored results older code made; a task run "
            "again whole (no --models/--seeds/--budget) moves its units the suite no longer "
            "plans to results.retired.jsonl.",
        ),
    ] = False,
    id_col: Annotated[
        str | None, typer.Option(help="Long format: the series id column (default unique_id).")
    ] = None,
    time_col: Annotated[
        str | None, typer.Option(help="The time column (default ds; wide: a date column).")
    ] = None,
    target_col: Annotated[
        str | None, typer.Option(help="Long format: the value column (default y).")
    ] = None,
    encoding: Annotated[
        str | None, typer.Option(help="The CSV's text encoding (default UTF-8).")
    ] = None,
    kind: Annotated[
        str | None,
        typer.Option(help="What --data holds: series, text, images, audio or graph; inferred."),
    ] = None,
    tokens: Annotated[
        str | None, typer.Option(help="Text: model chars (default) or bytes (any encoding).")
    ] = None,
    graph: Annotated[
        str | None,
        typer.Option(help="Graph: the edge list (CSV src,dst[,weight]) over --data's nodes."),
    ] = None,
    size: Annotated[
        int | None,
        typer.Option(
            help="Images: the side they are resized to (default 8/16/28/32: the largest "
            "the smallest image allows)."
        ),
    ] = None,
    uses: Annotated[
        str | None,
        typer.Option(
            help="Series: what to measure, some of forecast,generate,denoise (default forecast)."
        ),
    ] = None,
    executor: Annotated[
        str,
        typer.Option(
            help="local (processes of this machine) or ray (tasks on a Ray cluster: "
            "pip install 'diffrnn[ray]'; --out on storage every node sees)."
        ),
    ] = "local",
    address: Annotated[
        str | None,
        typer.Option(
            help="The Ray cluster: auto, HOST:6379, ray://HOST:10001 or local "
            "(default $RAY_ADDRESS, else local)."
        ),
    ] = None,
    gpus_per_unit: Annotated[
        float, typer.Option(help="GPUs each unit's Ray task asks for (default 0).")
    ] = 0.0,
) -> None:
    """Train and measure every model on every task, then write report.md and report.html.

    With --data, run every family registered for your own data's kind on it: series
    (rolling-origin backtest), text (a .txt file or folder), images (a folder of PNG/JPEG,
    optionally one subfolder per class), audio (WAV/FLAC in one subfolder per class) or a graph
    (a node table with --graph edges.csv, or a folder of both); the kind is inferred from what
    PATH holds (--kind overrides it). The report ends with which family to pick for it.
    """
    import json

    from rich.live import Live

    from diffrnn.bench.compare import CompareRequest, default_run_dir, execute, prepare
    from diffrnn.bench.registry import UNIT_IMPORT_ERRORS
    from diffrnn.bench.report import write_report
    from diffrnn.bench.results import RETIRED_FILE
    from diffrnn.errors import ConfigError

    run_dir = check.run_dir(out if out is not None else default_run_dir(), "--out")
    user_options: dict[str, Any] = {}
    if data is None and horizon is not None:
        raise ConfigError("--horizon is for your own data.", "pass it with --data FILE.")
    if data is None and any(v is not None for v in (id_col, time_col, target_col, encoding)):
        raise ConfigError(
            "--id-col, --time-col, --target-col and --encoding are for your own data.",
            "pass them with --data FILE.",
        )
    if data is None and any(v is not None for v in (kind, tokens, graph, size, uses)):
        raise ConfigError(
            "--kind, --tokens, --graph, --size and --uses are for your own data.",
            "pass them with --data.",
        )
    data_kind, stated = "series", ""
    if data is not None:
        from diffrnn.bench.user_kinds import resolve_kind

        data_path = check.resolve(data, "--data")
        if not data_path.exists():
            raise ConfigError(f"No file at {data} (--data).", "check the path.")
        is_dir = data_path.is_dir()
        data_path = check.input_dir(data, "--data") if is_dir else check.input_file(data, "--data")
        edges = check.input_file(graph, "--graph") if graph is not None else None
        data_kind, stated = resolve_kind(data_path, kind, edges)
        if edges is not None and data_kind != "graph":
            raise ConfigError(f"--graph is for graphs; --data holds {stated}.", "drop --graph.")
    if data is not None and data_kind != "series":
        from diffrnn.bench.user_kinds import prepare_data

        series_only = {
            "--horizon": horizon,
            "--format": data_format,
            "--freq": freq,
            "--context": context,
            "--windows": windows,
            "--id-col": id_col,
            "--time-col": time_col,
            "--target-col": target_col,
            "--encoding": encoding,
        }
        if data_kind == "graph":  # the node table is read as series are, with their flags
            series_only = {"--windows": windows}
        given = [flag for flag, value in series_only.items() if value is not None]
        if given:
            raise ConfigError(
                f"{given[0]} is for series data; --data holds {stated}.",
                f"drop {given[0]}, or pass --kind series to read --data as a table.",
            )
        settings: dict[str, Any] = {}
        if data_kind == "text":
            settings = {"tokens": tokens or "chars"}
        elif data_kind == "images":
            settings = {"size": size}
        elif data_kind == "graph":
            _check_table_flags(data_format, fill)
            settings = {
                "edges": edges,
                "horizon": horizon,
                "context": context,
                "format": data_format,
                "freq": freq,
                "fill": fill,
                "id_column": id_col,
                "time_column": time_col,
                "target_column": target_col,
                "encoding": encoding,
            }
        if tokens is not None and data_kind != "text":
            raise ConfigError(f"--tokens is for text; --data holds {stated}.", "drop --tokens.")
        if size is not None and data_kind != "images":
            raise ConfigError(f"--size is for images; --data holds {stated}.", "drop --size.")
        if uses is not None:
            raise ConfigError(f"--uses is for series; --data holds {stated}.", "drop --uses.")
        user_options = prepare_data(data_path, data_kind, stated, **settings)
    elif data is not None:
        from diffrnn.bench.user_series import parse_uses, prepare_series

        if tokens is not None or size is not None:
            flag = "--tokens" if tokens is not None else "--size"
            raise ConfigError(f"{flag} is not for series; --data holds {stated}.", f"drop {flag}.")
        _check_table_flags(data_format, fill)
        check.input_file(data, "--data")
        user_options = prepare_series(
            data,
            parse_uses(uses),
            horizon,
            format=data_format,
            freq=freq,
            context=context,
            windows=windows,
            fill=fill,
            id_column=id_col,
            time_column=time_col,
            target_column=target_col,
            encoding=encoding,
        )
        user_options["summary"] = {"kind": stated, **user_options["summary"]}
    if data is not None:  # seeds that fit the time limit of every task the data made
        from diffrnn.bench.compare import user_tasks
        from diffrnn.bench.user_data import data_seeds

        why = f"{seeds} (--seeds)"
        if seeds is None:
            made = user_tasks(user_options)
            seeds, why = data_seeds(suite, budget, jobs, _names(models), made)
        user_options["summary"]["seeds"] = why
    request = CompareRequest(
        suite=suite,
        tasks=_names(tasks),
        models=_names(models),
        seeds=seeds,
        budget_s=budget,
        budgets=_budgets(budgets),
        out=run_dir,
        jobs=jobs,
        threads=threads,
        user_options=user_options,
        command=" ".join(["diffrnn", *sys.argv[1:]]),
        rerun=rerun,
        executor=executor,  # type: ignore[arg-type]  # checked by prepare
        address=address,
        gpus_per_unit=gpus_per_unit,
    )
    ctx.with_resource(check.locked_run(run_dir))  # held until the command ends
    job = prepare(request)
    screen = err_console if json_output else console
    for module, error in UNIT_IMPORT_ERRORS.items():
        screen.print(
            f"[yellow]warning:[/] {module} did not import ({error}); its models are "
            "missing from this run.",
            highlight=False,
        )
    where = ""
    if job.cluster is not None:
        where = f" on the Ray cluster at {job.cluster.address} ({job.cluster.nodes} node(s))"
    screen.print(
        f"{len(job.units)} units, {job.jobs} at a time{where}, {job.threads} thread(s) each "
        f"-> {job.run_dir}",
        highlight=False,
        soft_wrap=True,
    )
    for model, why in job.left_out.items():
        screen.print(f"left out: {model} ({why})", highlight=False, soft_wrap=True)
    if job.retired:
        screen.print(
            f"retired: {job.retired} stored result(s) of units this suite no longer plans, "
            f"moved to {job.run_dir / RETIRED_FILE}",
            highlight=False,
            soft_wrap=True,
        )
    screen.print("starting the unit processes (torch and the models load once)...", highlight=False)
    view = _CompareView(job)

    def log_line(event: Any) -> None:  # a log (CI, a pipe): one line per finished unit
        view(event)
        if event.kind != "started":
            screen.print(view.line(view.finished[-1], event.kind), highlight=False, soft_wrap=True)

    try:
        if screen.is_terminal:
            with Live(view, console=screen, refresh_per_second=4, transient=False):
                records = execute(job, on_event=view)
        else:
            records = execute(job, on_event=log_line)
    except Interrupted as stop:
        stop.run_dir = job.run_dir
        raise
    paths = write_report(job.run_dir)
    ok = sum(r["status"] == "ok" for r in records)
    screen.print(f"{ok} of {len(records)} units ok, {view.failed} failed.", highlight=False)
    screen.print(f"report: {paths.markdown}\n        {paths.html}", highlight=False, soft_wrap=True)
    if json_output:
        for record in records:
            sys.stdout.write(json.dumps(record, sort_keys=True) + "\n")


@app.command()
def report(
    run_dir: Annotated[str, typer.Argument(help="A run directory written by compare.")],
) -> None:
    """Re-render report.md and report.html from a run's results.jsonl."""
    from diffrnn.bench.report import write_report

    paths = write_report(check.input_dir(run_dir, "RUN_DIR"))
    console.print(
        f"report: {paths.markdown}\n        {paths.html}", highlight=False, soft_wrap=True
    )


@evidence_app.command("pack")
def evidence_pack(
    run_dir: Annotated[Path, typer.Argument(help="A run directory written by compare.")],
    dest: Annotated[Path, typer.Argument(help="The evidence folder, e.g. evidence/reference.")],
    replace: Annotated[bool, typer.Option(help="Overwrite an existing evidence folder.")] = False,
) -> None:
    """Copy a run's results.jsonl and run.json into DEST and render report.md and plots there
    (no checkpoints, models or unit folders: what DEST holds is what to commit)."""
    from diffrnn.bench.evidence import pack

    markdown = pack(run_dir, dest, replace=replace)
    console.print(f"packed {run_dir} -> {dest} (report: {markdown})", highlight=False)


@evidence_app.command("check")
def evidence_check(
    dirs: Annotated[
        list[Path] | None,
        typer.Argument(help="Evidence folders (default: every one under evidence/)."),
    ] = None,
) -> None:
    """Check that each evidence folder's tasks, models and metrics are still registered and that
    its report.md renders again byte for byte (exit code 1 naming what does not hold)."""
    from diffrnn.bench.evidence import evidence_dirs, rerendered_matches, stale_names

    folders = dirs or evidence_dirs()
    failed = False
    for folder in folders:
        problems = stale_names(folder)
        if not rerendered_matches(folder):
            problems.append("report.md differs from a fresh `diffrnn report` of its results")
        failed |= bool(problems)
        for problem in problems:
            console.print(f"[red]{folder}[/]: {problem}", highlight=False)
        if not problems:
            console.print(f"[green]ok[/] {folder}", highlight=False)
    if not folders:
        console.print("no evidence folders found.")
    if failed:
        raise typer.Exit(1)


# ---- using the models on your own series: forecast, denoise, tasks, models ------------------


def _cpu_budget_column() -> Any:
    """A Rich progress column: this process's CPU seconds since the task started, as a bar
    against the task's budget (the clock training budgets count on a CPU)."""
    import time

    from rich.progress import ProgressColumn
    from rich.progress_bar import ProgressBar
    from rich.text import Text

    class CPUBudget(ProgressColumn):
        def render(self, task: Any) -> Any:
            spent = time.process_time() - task.fields["cpu0"]
            if task.total is None or task.finished:
                return Text(f"{spent:.1f} CPU s")
            return ProgressBar(total=task.total, completed=min(spent, task.total), width=30)

    return CPUBudget()


class _TrainingProgress:
    """A progress line per training stage (`Forecaster.fit(progress=...)` calls it)."""

    def __init__(self, screen: Console) -> None:
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            _cpu_budget_column(),
            TextColumn("{task.fields[budget]}"),
            TimeElapsedColumn(),
            console=screen,
            transient=True,
            disable=not screen.is_terminal,  # a log gets the summary lines only
        )
        self.current: Any = None

    def __call__(self, description: str, budget_s: float | None) -> None:
        import time

        if self.current is not None:
            self.progress.update(self.current, completed=self.progress.tasks[-1].total or 0)
            self.progress.stop_task(self.current)
        budget = f"budget {budget_s:g} CPU s" if budget_s is not None else ""
        self.current = self.progress.add_task(
            description, total=budget_s, cpu0=time.process_time(), budget=budget
        )

    def __enter__(self) -> _TrainingProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()


FreqOption = Annotated[
    str | None, typer.Option("--freq", help="Pandas frequency, e.g. D, h; inferred.")
]
FormatOption = Annotated[str | None, typer.Option("--format", help="long or wide; inferred.")]
FillOption = Annotated[
    str, typer.Option("--fill", help="NaN policy: error, ffill, interpolate or zero.")
]
IdColOption = Annotated[
    str | None,
    typer.Option("--id-col", help="Long format: the series id column (default unique_id)."),
]
TimeColOption = Annotated[
    str | None,
    typer.Option("--time-col", help="The time column (default ds; wide: a date column)."),
]
TargetColOption = Annotated[
    str | None, typer.Option("--target-col", help="Long format: the value column (default y).")
]
EncodingOption = Annotated[
    str | None, typer.Option("--encoding", help="The CSV's text encoding (default UTF-8).")
]
ThreadsOption = Annotated[int, typer.Option("--threads", min=1, help="Torch threads.")]
BudgetOption = Annotated[float, typer.Option(min=0.1, help="Training CPU seconds.")]
MaxStepsOption = Annotated[
    int | None,
    typer.Option(min=1, help="Optimiser steps instead of the time budget (repeatable)."),
]
FILL_POLICIES = ("error", "ffill", "interpolate", "zero")


def _check_table_flags(data_format: str | None, fill: str) -> None:
    """--format and --fill of a series table, checked before anything is read."""
    _choice(data_format, "--format", ("long", "wide"))
    _choice(fill, "--fill", FILL_POLICIES)


def _started() -> tuple[float, float]:
    """Wall and CPU clocks now, for `_done_in`."""
    import time

    return time.perf_counter(), time.process_time()


def _done_in(started: tuple[float, float]) -> str:
    """'done in W s (C CPU s)' since `started` (`_started()`)."""
    import time

    wall, cpu = time.perf_counter() - started[0], time.process_time() - started[1]
    return f"done in {wall:.1f} s ({cpu:.1f} CPU s)"


def _trained_line(what: str, steps: int, cpu_s: float, wall_s: float, stopped_by: str) -> str:
    """One line on a training: its steps, CPU and wall seconds, and what stopped it."""
    return (
        f"trained {what}: {steps} steps in {cpu_s:.1f} CPU s ({wall_s:.1f} s wall), stopped by "
        f"{stopped_by.replace('_', ' ')}"
    )


def _user_series(
    path: Path,
    data_format: str | None,
    freq: str | None,
    fill: str,
    columns: tuple[str | None, str | None, str | None],
    encoding: str | None,
) -> Any:
    """The user's file through the loader of `compare --data`, its fixes spelled as flags.

    Args:
        columns: --id-col, --time-col and --target-col (None: unique_id, ds, y).
    """
    from diffrnn.data.user import load_user_data

    id_col, time_col, target_col = columns
    return load_user_data(
        path,
        format=data_format,  # type: ignore[arg-type]
        freq=freq,
        fill=fill,  # type: ignore[arg-type]
        id_column=id_col or "unique_id",
        time_column=time_col or "ds",
        target_column=target_col or "y",
        date_column=time_col,
        encoding=encoding or "utf-8",
        surface="cli",
    )


def _set_threads(threads: int) -> None:
    """Torch's intra-op threads (1 by default: these models are small, and spare threads spin
    on a busy machine, spending the CPU-second budget)."""
    import torch

    torch.set_num_threads(threads)


def _levels(value: str, option: str) -> tuple[float, ...]:
    """Comma-separated quantile levels in (0, 1)."""
    from diffrnn.errors import ConfigError

    try:
        levels = tuple(float(item) for item in value.split(",") if item.strip())
    except ValueError:
        levels = ()
    if not levels or not all(0 < q < 1 for q in levels):
        raise ConfigError(
            f"{option} takes levels between 0 and 1 separated by commas, got {value!r}.",
            f"pass e.g. {option} 0.1,0.5,0.9.",
        )
    return levels


def _table_file(value: str, option: str) -> Path:
    """An output table path: CSV, or Parquet by its extension."""
    from diffrnn.errors import ConfigError
    from diffrnn.fileio import TABLE_SUFFIXES

    path = check.output_file(value, option)
    if path.suffix.lower() not in TABLE_SUFFIXES:
        raise ConfigError(
            f"{option} {value}: unknown table type {path.suffix or '(no extension)'!r}.",
            f"end the name in {', '.join(TABLE_SUFFIXES)}.",
        )
    return path


def _choice(value: str | None, option: str, allowed: tuple[str, ...]) -> None:
    from diffrnn.errors import ConfigError

    if value is not None and value not in allowed:
        raise ConfigError(
            f"{option} must be one of {', '.join(allowed)}, got {value!r}.",
            f"pass {option} {allowed[0]}.",
        )


@app.command()
def forecast(
    output: Annotated[
        str, typer.Option("--output", "-o", help="Forecasts: a .csv or .parquet file.")
    ],
    data: Annotated[
        str | None,
        typer.Option(help="Your CSV/Parquet: long (unique_id, ds, y) or wide (date + series)."),
    ] = None,
    horizon: Annotated[int | None, typer.Option(min=1, help="Steps to forecast.")] = None,
    model: Annotated[
        str, typer.Option(help="auto (chosen by a rolling-origin backtest) or a model name.")
    ] = "auto",
    save: Annotated[
        str | None, typer.Option(help="Save the trained forecaster in this folder.")
    ] = None,
    from_dir: Annotated[
        str | None,
        typer.Option("--from", help="Forecast with a saved forecaster instead of training."),
    ] = None,
    plot: Annotated[
        str | None, typer.Option(help="Write a fan chart PNG per series into this folder.")
    ] = None,
    context: Annotated[
        int | None, typer.Option(min=1, help="History steps (default 2 x horizon).")
    ] = None,
    budget: Annotated[float, typer.Option(min=0.1, help="Training CPU seconds per model.")] = 30.0,
    max_steps: MaxStepsOption = None,
    candidates: Annotated[
        str | None, typer.Option(help="Comma-separated models --model auto backtests.")
    ] = None,
    recipe: Annotated[str, typer.Option(help="Model sizes: quick or full.")] = "quick",
    num_samples: Annotated[int, typer.Option(min=1, help="Sample paths per series.")] = 100,
    quantiles: Annotated[str, typer.Option(help="Quantile levels.")] = "0.1,0.5,0.9",
    threads: ThreadsOption = 1,
    seed: Annotated[int, typer.Option(help="Seeds training and the sample paths.")] = 0,
    freq: FreqOption = None,
    data_format: FormatOption = None,
    fill: FillOption = "error",
    id_col: IdColOption = None,
    time_col: TimeColOption = None,
    target_col: TargetColOption = None,
    encoding: EncodingOption = None,
) -> None:
    """Forecast your series: mean and quantiles of the next --horizon steps of each.

    A model is trained on all of --data (--model auto: the one with the lowest CRPS in a
    rolling-origin backtest, as compare --data runs it), or loaded with --from.
    """
    from diffrnn.errors import ConfigError
    from diffrnn.fileio import atomic_write_table
    from diffrnn.forecast import ALIASES, MODEL_NAMES, MODELS, Forecaster

    started = _started()
    target = _table_file(output, "--output")
    levels = _levels(quantiles, "--quantiles")
    if model not in ALIASES:  # an old name is taken, with a note (Forecaster.notes_)
        _choice(model, "--model", MODEL_NAMES)
    _choice(recipe, "--recipe", ("quick", "full"))
    _check_table_flags(data_format, fill)
    for name in _names(candidates) or ():
        if name not in ALIASES:
            _choice(name, "--candidates", tuple(MODELS))
    if save is not None and from_dir is not None:
        raise ConfigError("--save and --from exclude each other.", "pass one of them.")
    save_dir = check.output_dir(save, "--save") if save is not None else None
    plot_dir = check.output_dir(plot, "--plot") if plot is not None else None
    data_path = check.input_file(data, "--data") if data is not None else None
    _set_threads(threads)
    if from_dir is not None:
        forecaster = Forecaster.load(check.input_dir(from_dir, "--from"))
        forecaster.surface = "cli"
        if horizon is not None and horizon != forecaster.horizon:
            raise ConfigError(
                f"the forecaster in {from_dir} forecasts {forecaster.horizon} steps, "
                f"not {horizon}.",
                f"leave out --horizon, or train a new one with --horizon {horizon}.",
            )
        console.print(
            f"loaded {forecaster.model_} from {from_dir} (horizon {forecaster.horizon}, "
            f"{len(forecaster.series_ids_)} series)",
            highlight=False,
        )
    else:
        if data_path is None or horizon is None:
            raise ConfigError(
                "forecast needs --data and --horizon (or a saved forecaster).",
                "pass --data FILE --horizon H, or --from DIR.",
            )
        forecaster = Forecaster(
            model=model,
            horizon=horizon,
            freq=freq,
            context=context,
            budget=budget,
            seed=seed,
            recipe=recipe,  # type: ignore[arg-type]
            max_steps=max_steps,
            candidates=_names(candidates),
            format=data_format,  # type: ignore[arg-type]
            fill=fill,  # type: ignore[arg-type]
            id_column=id_col,
            time_column=time_col,
            target_column=target_col,
            encoding=encoding,
            surface="cli",
        )
        with _TrainingProgress(console) as progress:
            forecaster.fit(data_path, progress=progress)
        _print_fit(forecaster)
    forecasts = forecaster.predict(
        data_path if from_dir is not None else None, num_samples=num_samples, quantiles=levels
    )
    atomic_write_table(target, forecasts)
    first, last = forecasts["ds"].min(), forecasts["ds"].max()
    console.print(
        f"wrote {output}: {len(forecaster.series_ids_)} series x {forecaster.horizon} steps "
        f"({first} to {last}), mean and quantiles {', '.join(f'{q:g}' for q in levels)} of "
        f"{num_samples} paths",
        highlight=False,
        soft_wrap=True,
    )
    if save_dir is not None:
        forecaster.save(save_dir)
        console.print(f"saved the forecaster to {save} (diffrnn forecast --from {save})")
    if plot_dir is not None:
        charts = forecaster.plot(forecasts, plot_dir)
        console.print(f"fan charts: {len(charts)} PNG in {plot}", highlight=False)
    console.print(_done_in(started), highlight=False)


def _print_fit(forecaster: Any) -> None:
    """What `fit` inferred, backtested and trained, as lines and a table."""
    from rich.table import Table

    for note in forecaster.notes_:
        console.print(f"note: {note}", highlight=False, soft_wrap=True)
    table = forecaster.backtest_
    if table is not None:
        view = Table(title=f"backtest: {table.attrs.get('backtest', '')}", title_justify="left")
        for column in ("model", "family", "crps", "crps_sum", "mse", "mae", "train CPU s"):
            left = column in ("model", "family")
            view.add_column(column, justify="left" if left else "right", no_wrap=left)
        for row in table.to_dict("records"):
            chosen = row["model"] == forecaster.model_
            if row.get("error"):
                view.add_row(row["model"], row["family"], f"[red]{row['error'][:70]}[/]")
                continue
            cells = [f"{row[k]:.4g}" for k in ("crps", "crps_sum", "mse", "mae")]
            view.add_row(
                f"[bold green]{row['model']}[/]" if chosen else row["model"],
                row["family"],
                *cells,
                f"{row['train_cpu_s']:.1f}",
            )
        console.print(view)
        console.print(
            f"chose {forecaster.model_}: the lowest CRPS in the backtest", highlight=False
        )
    info = forecaster.fit_info_
    if info.get("steps"):
        what = f"{forecaster.model_} on {info['rows']} rows"
        steps, cpu_s, wall_s = info["steps"], info["cpu_seconds"], info["wall_seconds"]
        console.print(
            _trained_line(what, steps, cpu_s, wall_s, info["stopped_by"]), highlight=False
        )
    else:
        console.print(f"fitted {forecaster.model_} on {info['rows']} rows", highlight=False)


@app.command()
def denoise(
    data: Annotated[str, typer.Option(help="Your noisy series: CSV or Parquet, long or wide.")],
    output: Annotated[
        str, typer.Option("--output", "-o", help="Denoised series: a .csv or .parquet file.")
    ],
    sigma: Annotated[
        str,
        typer.Option(help="Noise sd in the data's units, or auto (from the first differences)."),
    ] = "auto",
    budget: BudgetOption = 30.0,
    max_steps: MaxStepsOption = None,
    threads: ThreadsOption = 1,
    seed: Annotated[int, typer.Option(help="Seeds training and the noise draws.")] = 0,
    freq: FreqOption = None,
    data_format: FormatOption = None,
    fill: FillOption = "error",
    id_col: IdColOption = None,
    time_col: TimeColOption = None,
    target_col: TargetColOption = None,
    encoding: EncodingOption = None,
) -> None:
    """Remove white noise from your series with a bi-GRU trained on them alone (Noisier2Noise);
    the output has the input's format (wide or long)."""
    import math

    from diffrnn.errors import ConfigError

    started = _started()
    target = _table_file(output, "--output")
    _check_table_flags(data_format, fill)
    level: float | str = "auto"
    if sigma != "auto":
        try:
            level = float(sigma)
        except ValueError:
            level = math.nan
        if not (math.isfinite(level) and level > 0):
            raise ConfigError(
                f"--sigma must be auto or a positive number, got {sigma!r}.",
                "pass --sigma auto, or the noise sd in your data's units (e.g. --sigma 0.5).",
            )
    path = check.input_file(data, "--data")
    from diffrnn.denoise import as_frame, denoise_series
    from diffrnn.fileio import atomic_write_table

    columns = (id_col, time_col, target_col)
    series = _user_series(path, data_format, freq, fill, columns, encoding)
    _set_threads(threads)
    with _TrainingProgress(console) as progress:
        result = denoise_series(series, level, budget, max_steps, seed, progress=progress)
    how = "estimated from the first differences" if result.estimated else "given"
    shown = ", ".join(
        f"{sid} {s:.4g}" for sid, s in zip(series.series_ids[:8], result.sigmas[:8], strict=False)
    )
    more = f", ... ({len(result.sigmas)} series)" if len(result.sigmas) > 8 else ""
    console.print(f"noise sd ({how}): {shown}{more}", highlight=False, soft_wrap=True)
    costs = (result.steps, result.cpu_seconds, result.wall_seconds, result.stopped_by)
    console.print(_trained_line("the bi-GRU denoiser", *costs), highlight=False)
    atomic_write_table(target, as_frame(series, result.values))
    console.print(
        f"wrote {output} ({series.format} format, {len(series.series_ids)} series x "
        f"{len(series.timestamps)} steps); {_done_in(started)}",
        highlight=False,
        soft_wrap=True,
    )


@app.command()
def generate(
    data: Annotated[str, typer.Option(help="Your series: CSV or Parquet, long or wide.")],
    output: Annotated[
        str, typer.Option("--output", "-o", help="Synthetic windows: a .csv or .parquet file.")
    ],
    length: Annotated[int, typer.Option(min=2, help="Steps per synthetic window.")] = 24,
    n: Annotated[int, typer.Option("-n", "--num", min=1, help="Windows to draw.")] = 100,
    model: Annotated[str, typer.Option(help="diffusion-generator or gru.")] = "gru",
    budget: BudgetOption = 30.0,
    max_steps: MaxStepsOption = None,
    threads: ThreadsOption = 1,
    seed: Annotated[int, typer.Option(help="Seeds training, the draws and the scores.")] = 0,
    freq: FreqOption = None,
    data_format: FormatOption = None,
    fill: FillOption = "error",
    id_col: IdColOption = None,
    time_col: TimeColOption = None,
    target_col: TargetColOption = None,
    encoding: EncodingOption = None,
) -> None:
    """Draw synthetic windows of your series from a generator fitted to them, scored against
    the last 20% of the rows (TimeGAN's discriminative and predictive scores)."""
    from diffrnn.generate import GENERATORS

    started = _started()
    target = _table_file(output, "--output")
    _choice(model, "--model", GENERATORS)
    _check_table_flags(data_format, fill)
    path = check.input_file(data, "--data")
    from diffrnn.fileio import atomic_write_table
    from diffrnn.generate import generate_windows, windows_frame

    columns = (id_col, time_col, target_col)
    series = _user_series(path, data_format, freq, fill, columns, encoding)
    _set_threads(threads)
    with _TrainingProgress(console) as progress:
        result = generate_windows(series, model, length, n, budget, max_steps, seed, progress)
    costs = (result.steps, result.cpu_seconds, result.wall_seconds, result.stopped_by)
    console.print(_trained_line(model, *costs), highlight=False)
    for name, value in result.scores.items():
        meaning = {
            "discriminative_score": "|accuracy - 0.5| of a classifier telling them from real; "
            "0 = indistinguishable",
            "predictive_score": "MAE on real windows of a predictor trained on synthetic ones",
        }[name]
        console.print(
            f"{name.replace('_', ' ')} against {result.held_out} held-out windows: {value:.4f} "
            f"({meaning})",
            highlight=False,
            soft_wrap=True,
        )
    atomic_write_table(target, windows_frame(result))
    console.print(
        f"wrote {output}: {n} windows x {length} steps x {len(result.series_ids)} series; "
        f"{_done_in(started)}",
        highlight=False,
        soft_wrap=True,
    )


@app.command()
def tasks() -> None:
    """The tasks of `diffrnn compare`, one line each."""
    from rich.table import Table

    import diffrnn.bench.tasks  # noqa: F401  (defines the tasks without importing the units)
    from diffrnn.bench.registry import TASKS

    table = Table(show_edge=False, pad_edge=False)
    for column in ("task", "data", "ranked by", "what"):
        table.add_column(column, overflow="fold")
    for task in TASKS.values():
        direction = "lower" if task.lower_is_better else "higher"
        what = task.description.split(". ")[0].split(": ")[0]
        table.add_row(task.name, task.dataset, f"{task.primary_metric} ({direction})", what)
    console.print(table)


@app.command()
def models(
    task: Annotated[str | None, typer.Option(help="Only the models of this task.")] = None,
) -> None:
    """The models registered on the tasks, one line each (name, family, tasks, what it is)."""
    from rich.table import Table

    from diffrnn.bench.registry import UNIT_IMPORT_ERRORS, get_task, load_registry

    chosen = [get_task(task)] if task is not None else list(load_registry().values())
    found: dict[str, tuple[str, list[str], str]] = {}
    for each in chosen:
        for name, entry in each.models.items():
            family, on, what = found.get(name, (entry.family, [], ""))
            first = entry.description.strip().splitlines()[0] if entry.description else ""
            found[name] = (family, [*on, each.name], what or first)
    table = Table(show_edge=False, pad_edge=False)
    for column in ("model", "family", "tasks", "what"):
        table.add_column(column, overflow="fold")
    for name, (family, on, what) in sorted(found.items(), key=lambda kv: (kv[1][0], kv[0])):
        table.add_row(name, family, ", ".join(on), what)
    console.print(table)
    aliases: dict[tuple[str, str], list[str]] = {}
    for each in chosen:
        for old, new in each.aliases.items():
            aliases.setdefault((old, new), []).append(each.name)
    for (old, new), on in aliases.items():
        console.print(
            f"deprecated: {old} on {', '.join(on)} is now {new} (the old name still works)",
            highlight=False,
        )
    for module, error in UNIT_IMPORT_ERRORS.items():
        err_console.print(f"warning: {module} did not import ({error})", highlight=False)


def _stopped(signum: int, run_dir: Path | None) -> None:
    where = (
        f"; the finished units are kept in {run_dir}: the same command resumes the run"
        if run_dir is not None
        else ""
    )
    err_console.print(
        f"[bold red]stopped:[/] {STOP_SIGNALS.get(signum, f'signal {signum}')}{where}.",
        highlight=False,
        soft_wrap=True,
    )
    sys.exit(128 + signum)


def main(argv: list[str] | None = None) -> None:
    """Entry point: user errors become one line on stderr and exit code 2, never a traceback.

    SIGINT (Ctrl-C), SIGTERM and SIGHUP stop a command cleanly (unit processes stopped, nothing
    half-written) with one line and exit code 128 + the signal's number (130, 143, 129).
    """
    previous = {}
    if threading.current_thread() is threading.main_thread():
        previous = {sig: signal.signal(sig, _raise_interrupted) for sig in STOP_SIGNALS}
    try:
        code = app(args=argv, standalone_mode=False)
    except Interrupted as stop:
        _stopped(stop.signum, stop.run_dir)
    except DiffrnnError as exc:
        # escaped: a fix such as "pip install 'diffrnn[audio]'" is text, not Rich markup
        message = escape(str(exc))
        err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
        sys.exit(EXIT_USER_ERROR)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err_console.print("aborted.")
        sys.exit(130)
    except TyperException as exc:  # typer's (vendored click) usage errors
        if type(exc).__name__ == "NoArgsIsHelpError":
            sys.exit(0)  # help was printed
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
        sys.exit(EXIT_USER_ERROR)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if code == 128 + signal.SIGINT:  # typer's answer to a KeyboardInterrupt raised elsewhere
        _stopped(signal.SIGINT, None)
    if isinstance(code, int) and code:
        sys.exit(code)


if __name__ == "__main__":
    main()
