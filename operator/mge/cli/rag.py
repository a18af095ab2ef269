"""`mge rag`: the learned collection — what projects taught MGE, and removing it.

Learned code is kept when a Project is deleted (later projects keep benefiting); ``mge rag
forget`` is how it goes away: all of a namespace's entries, or one project's. It talks to the
Chroma of the settings (``MGE_CHROMA_URL`` or ``chroma_url`` in ``--config``, else the
workdir's embedded one), so the same command cleans a cluster's Chroma server from a
workstation.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from mge.cli.app import State, app
from mge.errors import InputError

rag_app = typer.Typer(
    name="rag",
    help="The learned collection (code that passed validation in earlier projects).",
    no_args_is_help=True,
)
app.add_typer(rag_app, name="rag")


@rag_app.command("forget")
def forget(
    namespace: Annotated[
        str | None,
        typer.Option(
            "--namespace",
            help="Namespace whose learned entries go (local runs learn into 'local'). Alone: "
            "every project of it.",
            show_default=False,
        ),
    ] = None,
    project: Annotated[
        str | None,
        typer.Option(
            "--project",
            help="Project (metadata.name) whose learned entries go; with --namespace (default "
            "'local' for `mge run` projects).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Remove learned entries of a namespace, or of one project in a namespace."""
    from mge.pipeline.learning import LOCAL_NAMESPACE
    from mge.rag import Retriever

    if namespace is None and project is None:
        raise InputError("mge rag forget: give --namespace N, or --project P [--namespace N]")
    if project is not None and namespace is None:
        namespace = LOCAL_NAMESPACE

    async def run() -> int:
        retriever = await Retriever.open(State.settings())
        return await retriever.forget(namespace=namespace, project=project)

    removed = asyncio.run(run())
    what = (
        f"project {project!r} in namespace {namespace!r}" if project else f"namespace {namespace!r}"
    )
    typer.echo(f"forgot {removed} learned entr{'y' if removed == 1 else 'ies'} of {what}")


@rag_app.command("count")
def count() -> None:
    """How many entries the pattern and learned collections hold."""
    from mge.rag import Retriever

    async def run() -> tuple[int, int]:
        retriever = await Retriever.open(State.settings())
        return await retriever.count("patterns"), await retriever.count("learned")

    patterns, learned = asyncio.run(run())
    typer.echo(f"patterns: {patterns}\nlearned: {learned}")
