"""The `diffrnn` command: the only place that prints.

Thin by design: parse, call the library, render. Heavy imports (torch, lightning, diffusers) happen
inside the commands, never at module level, so `diffrnn --help` is instant.
"""

from __future__ import annotations

import sys

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
