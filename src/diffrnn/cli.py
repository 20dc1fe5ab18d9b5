"""The `diffrnn` command: the only place that prints.

Thin by design: parse, call the library, render. Heavy imports (torch, lightning, diffusers) happen
inside the commands, never at module level, so `diffrnn --help` is instant.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from typer.exceptions import TyperException

from diffrnn import __version__
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

console = Console()
err_console = Console(stderr=True)

EXIT_USER_ERROR = 2


@app.command()
def version() -> None:
    """Print the diffrnn version."""
    console.print(f"diffrnn {__version__}")


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
    out: Annotated[
        Path, typer.Option(help="Run directory: checkpoints/, artefacts/, result.json.")
    ],
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
    output = train_unit(
        task,
        model,
        seed,
        out,
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
        console.print(f"trained {output.train_seconds:.1f} s; wrote {out / 'result.json'}")


def main(argv: list[str] | None = None) -> None:
    """Entry point: user errors become one line on stderr and exit code 2, never a traceback."""
    try:
        app(args=argv, standalone_mode=False)
    except DiffrnnError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
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


if __name__ == "__main__":
    main()
