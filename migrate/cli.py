"""The command line: parse, call, render. No logic lives here."""

from __future__ import annotations

import sys

import click
import typer

from migrate.errors import UserError

app = typer.Typer(
    name="flm",
    help="Move Gemini Pro code to google-genai and a Flash-Lite model, with evidence.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _mount_subcommands() -> None:
    from migrate.shadow.cli import app as shadow_app

    app.add_typer(shadow_app, name="shadow", help="Shadow-compare Pro and Flash-Lite on your prompts.")


def main() -> None:
    """Entry point: every UserError becomes one line on stderr and exit 2; --verbose keeps tracebacks."""
    verbose = "--verbose" in sys.argv
    if verbose:
        sys.argv.remove("--verbose")
    try:
        _mount_subcommands()
        code = app(standalone_mode=False)
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except click.exceptions.Abort:
        typer.echo("flm: interrupted", err=True)
        sys.exit(130)
    except click.ClickException as exc:  # usage errors: bad option, missing argument
        typer.echo(f"flm: error: {exc.format_message()}", err=True)
        sys.exit(2)
    except UserError as exc:
        typer.echo(f"flm: error: {exc}", err=True)
        sys.exit(2)
    except SystemExit:
        raise
    except Exception as exc:  # noqa: BLE001 - the last line of defence for a CLI
        if verbose:
            raise
        typer.echo(f"flm: internal error: {type(exc).__name__}: {exc} (run with --verbose for details)", err=True)
        sys.exit(2)
    sys.exit(code if isinstance(code, int) else 0)
