"""The root `mge` Typer app: global options, error handling, and command registration."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, ClassVar

import typer

from mge.config import Settings, load_settings
from mge.errors import MGEError, NotAvailableYet

app = typer.Typer(
    name="mge",
    help=(
        "MGE turns requirements into a complete, tested codebase.\n\n"
        "Locally: `mge run examples/NAME/project.yaml` runs the whole pipeline (discovery, "
        "retrieval, masterplan, atomization, dependency graph, execution with validation and "
        "retries, review) on embedded defaults. In a cluster the same pipeline runs as the "
        "`mge operator`."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)


class State:
    """Options shared by every command, resolved once."""

    config_file: Path | None = None
    overrides: ClassVar[dict[str, object]] = {}

    @classmethod
    def settings(cls, **more: object) -> Settings:
        """Settings with flags > env > file > defaults."""
        return load_settings(cls.config_file, **{**cls.overrides, **more})


@app.callback()
def _root(
    config: Annotated[
        Path | None, typer.Option("--config", help="YAML settings file (also MGE_CONFIG).")
    ] = None,
    workdir: Annotated[
        Path | None, typer.Option("--workdir", help="State folder (default .mge; MGE_WORKDIR).")
    ] = None,
    database_url: Annotated[
        str | None, typer.Option("--database-url", help="Store URL (MGE_DATABASE_URL).")
    ] = None,
    log_level: Annotated[
        str | None, typer.Option("--log-level", help="DEBUG, INFO, WARNING or ERROR.")
    ] = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            help="Print the version and exit.",
            is_eager=True,
            callback=lambda v: _print_version(v),
        ),
    ] = False,
) -> None:
    State.config_file = config
    State.overrides = {"workdir": workdir, "database_url": database_url, "log_level": log_level}
    from mge.logs import configure_logging

    settings = State.settings()
    configure_logging(settings.log_level, settings.log_format)


def _print_version(value: bool) -> None:
    """Eager `--version`: runs while parsing, before a subcommand is required."""
    if value:
        from importlib.metadata import version as dist_version

        typer.echo(f"mge {dist_version('mge-operator')}")
        raise typer.Exit(0)


def not_available(feature: str, issue: str) -> None:
    """Fail clearly for a command whose feature is not built yet."""
    raise NotAvailableYet(f"{feature} is not available yet ({issue}).")


COMMAND_MODULES = (
    "db",
    "plan",
    "atomize",
    "run",
    "review",
    "sandbox",
    "operator",
    "export",
    "eval",
    "rag",
)


def _register(argv: list[str] | None = None) -> None:
    """Import command modules so they attach to `app`.

    Only the invoked command's module is imported when it can be told from ``argv`` (so
    `mge sandbox run` stays light inside the sandbox image); `--help` and unknown words import
    them all. Modules that do not exist yet are simply absent.
    """
    import importlib

    args = sys.argv[1:] if argv is None else argv
    words = [a for a in args if not a.startswith("-")]
    wanted = [words[0]] if words and words[0] in COMMAND_MODULES else list(COMMAND_MODULES)
    if words and words[0] == "graph":
        wanted = ["atomize"]
    for mod in wanted:
        try:
            importlib.import_module(f"mge.cli.{mod}")
        except ModuleNotFoundError as e:
            if e.name != f"mge.cli.{mod}":
                raise


def main() -> None:
    """Console entry point: run the app, print MGE errors as one clear message, exit 2."""
    _register()
    try:
        # Standalone mode: the CLI library prints usage errors and exits with their codes itself.
        app()
    except MGEError as e:
        typer.secho(f"error: {e}", fg="red", err=True)
        sys.exit(2)
