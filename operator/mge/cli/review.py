"""`mge review`: the review queue of a project — list, show, approve, edit, regenerate.

The same three decisions the operator exposes as AtomReview patches, against the same store
(``--database-url`` / the workdir's SQLite). ``edit`` validates the new code in the local
sandbox before accepting it; ``regenerate`` asks the project's model (or its recordings) for a
new attempt with your feedback and validates it. Heavy modules load only when a command runs.
"""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import signal
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mge.cli.app import State, app
from mge.errors import InputError
from mge.models.review import ReviewDecision

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine

    from mge.config import Settings
    from mge.llm import LLMClient
    from mge.models.review import ReviewItem
    from mge.pipeline.review_decision import DecisionTools
    from mge.review.decisions import DecisionResult
    from mge.store import Store
    from mge.store.records import StoredProject
    from mge.validation.batch import BatchValidator, Workspace

review_app = typer.Typer(
    name="review",
    help="The atoms waiting for a person: list them, then approve, edit or regenerate.",
    no_args_is_help=True,
)
app.add_typer(review_app, name="review")

ProjectArg = Annotated[str, typer.Argument(help="Project key (the manifest's metadata.name).")]
AtomArg = Annotated[str, typer.Argument(help="Atom id (from `mge review list`).")]
ByOpt = Annotated[
    str | None, typer.Option("--by", help="Who decides (default: $USER).", show_default=False)
]
DEFAULT_EDITOR = "vi"


def _by(by: str | None) -> str | None:
    return by or os.environ.get("USER") or None


async def _open_store(settings: Settings) -> Store:
    from mge.store import Store

    return await Store.open(settings.resolved_database_url())


async def _item(store: Store, project: str, atom: str) -> ReviewItem:
    item = await store.get_review_item(project, atom)
    if item is None:
        raise InputError(f"project {project!r} has no review item for atom {atom!r}")
    return item


@review_app.command("list")
def list_items(
    project: ProjectArg,
    all_items: Annotated[bool, typer.Option("--all", help="Also decided items.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Items waiting for a decision, least confident first."""

    async def run() -> list[ReviewItem]:
        store = await _open_store(State.settings())
        try:
            return await store.list_review_items(project, decision=None if all_items else "pending")
        finally:
            await store.close()

    items = asyncio.run(run())
    if as_json:
        typer.echo(json.dumps([i.wire() for i in items], indent=2, default=str))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Review queue of {project}: {len(items)} item(s)")
    table.add_column("atom", no_wrap=True)
    for col in ("reason", "confidence", "decision"):
        table.add_column(col, no_wrap=True)
    table.add_column("where", overflow="fold")
    for i in items:
        where = i.context_summary.splitlines()[0] if i.context_summary else ""
        table.add_row(i.atom_id, i.reason, f"{i.confidence.score:.2f}", i.decision, where)
    Console().print(table)


@review_app.command("show")
def show(project: ProjectArg, atom: AtomArg) -> None:
    """One item: context, code, confidence parts and the suggestion."""

    async def run() -> ReviewItem:
        store = await _open_store(State.settings())
        try:
            return await _item(store, project, atom)
        finally:
            await store.close()

    item = asyncio.run(run())
    parts = item.confidence
    typer.echo(f"{item.atom_id} ({item.reason}, decision: {item.decision})")
    typer.echo(
        f"confidence {parts.score:.2f} = validation {parts.validation:.2f}·0.4 + attempts "
        f"{parts.attempts:.2f}·0.3 + complexity {parts.complexity:.2f}·0.2 + integration "
        f"{parts.integration:.2f}·0.1"
    )
    typer.echo("\n" + item.context_summary + "\n\n--- code ---\n" + item.code)
    typer.echo("\n--- suggestion ---\n" + (item.suggestion or "(none)"))


@review_app.command("approve")
def approve_cmd(project: ProjectArg, atom: AtomArg, by: ByOpt = None) -> None:
    """Accept the item's code as it is."""
    result = asyncio.run(_decide(project, ReviewDecision(atom, "approve", by=_by(by))))
    _finish(result)


@review_app.command("edit")
def edit_cmd(
    project: ProjectArg,
    atom: AtomArg,
    file: Annotated[
        Path | None,
        typer.Option("--file", help="Take the code from this file instead of opening $EDITOR."),
    ] = None,
    by: ByOpt = None,
) -> None:
    """Replace the code with yours; it is validated in the sandbox before it is accepted."""
    if file is not None:
        try:
            code = file.read_text(encoding="utf-8")
        except OSError as e:
            raise InputError(f"cannot read {file}: {e}") from e
    else:
        code = _edit_in_editor(project, atom)
    result = asyncio.run(_decide(project, ReviewDecision(atom, "edit", code=code, by=_by(by))))
    _finish(result)


@review_app.command("regenerate")
def regenerate_cmd(
    project: ProjectArg,
    atom: AtomArg,
    feedback: Annotated[str, typer.Option("--feedback", help="What should change.")],
    recordings: Annotated[
        Path | None,
        typer.Option("--recordings", help="Recordings folder (scripted provider only)."),
    ] = None,
    by: ByOpt = None,
) -> None:
    """Ask for a new attempt with your feedback; accepted if it passes validation."""
    decision = ReviewDecision(atom, "regenerate", feedback=feedback, by=_by(by))
    result = asyncio.run(_decide(project, decision, recordings))
    _finish(result)


def _edit_in_editor(project: str, atom: str) -> str:
    async def current() -> ReviewItem:
        store = await _open_store(State.settings())
        try:
            return await _item(store, project, atom)
        finally:
            await store.close()

    item = asyncio.run(current())
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or DEFAULT_EDITOR
    with tempfile.NamedTemporaryFile("w+", suffix=".py", delete=False, encoding="utf-8") as f:
        f.write(item.edited_code or item.code)
        path = f.name
    try:
        subprocess.run([*shlex.split(editor), path], check=True)
        return Path(path).read_text(encoding="utf-8")
    except (OSError, subprocess.CalledProcessError) as e:
        raise InputError(f"the editor {editor!r} failed: {e}") from e
    finally:
        Path(path).unlink(missing_ok=True)


async def _decide(
    project: str, decision: ReviewDecision, recordings: Path | None = None
) -> DecisionResult:
    from mge.pipeline.review_decision import carry_out_decision

    settings = State.settings()
    store = await _open_store(settings)
    try:
        tools = _local_tools(settings, store, recordings)
        result = await carry_out_decision(store, project, decision, tools)
        if result.accepted and not await store.list_review_items(project, decision="pending"):
            typer.echo(await _learn(settings, store, project))
        return result
    finally:
        await store.close()


async def _learn(settings: Settings, store: Store, project: str) -> str:
    """The last review is decided: the project is complete, so its code is learned."""
    from mge.pipeline.collaborators import PatternIndex, local_memory
    from mge.pipeline.memory_stages import learn_stage

    stored = await store.get_project(project)
    framework = (stored.spec.hints.framework if stored else None) or "none"
    memory = local_memory(PatternIndex(settings), project)
    return await learn_stage(store, project, memory, framework)


def _local_tools(settings: Settings, store: Store, recordings: Path | None) -> DecisionTools:
    """The process sandbox for validation; the project's model (or ``recordings``) to
    regenerate."""
    from mge.pipeline.collaborators import open_llm
    from mge.pipeline.review_decision import DecisionTools

    async def make_validator(workspace: Workspace, project: StoredProject) -> BatchValidator:
        from mge.validation.local import local_runner, local_validator

        runner = local_runner(settings, project.spec.execution)
        return local_validator(workspace, runner, settings)

    async def llm(project: StoredProject) -> LLMClient:
        return await open_llm(project.spec.llm, settings, store, recordings=lambda _: recordings)

    return DecisionTools(make_validator, llm)


@review_app.command("serve")
def serve_cmd(
    project: Annotated[
        str | None,
        typer.Option("--project", help="Open this project's queue first.", show_default=False),
    ] = None,
    port: Annotated[
        int, typer.Option("--port", help="Port on 127.0.0.1 (0: any free port).", min=0, max=65535)
    ] = 8765,
    no_browser: Annotated[
        bool, typer.Option("--no-browser", help="Only print the URL; do not open a browser.")
    ] = False,
    recordings: Annotated[
        Path | None,
        typer.Option("--recordings", help="Recordings folder for regenerate (scripted provider)."),
    ] = None,
    by: ByOpt = None,
) -> None:
    """The review web interface on 127.0.0.1 over the local store, until Ctrl-C.

    It prints a URL with a secret made for this start (as Jupyter does); opening it logs the
    browser in with a cookie and drops the secret from the address bar. Decisions are the
    same as approve / edit / regenerate here, recorded as --by (default $USER).
    """
    from mge.web import ServeOptions, serve

    options = ServeOptions(port=port, project=project, open_browser=not no_browser, by=_by(by))

    def announce(url: str) -> None:
        typer.echo(
            f"MGE review: open {url}\n(the secret in it is made for this start; Ctrl-C stops)"
        )

    async def run() -> None:
        settings = State.settings()
        store = await _open_store(settings)
        try:
            if project is not None and await store.get_project(project) is None:
                raise InputError(f"--project {project!r}: no such project in the store")
            await serve(store, _local_tools(settings, store, recordings), options, announce)
        finally:
            await store.close()

    _serve_until_stopped(run, f"127.0.0.1:{port}", "; try --port 0")


@review_app.command("serve-cluster")
def serve_cluster_cmd(
    kubeconfig: Annotated[
        Path | None,
        typer.Option(
            "--kubeconfig",
            help="Take the API server's address and CA from this kubeconfig (its credentials "
            "are NOT used). Default: --api-server and --ca-file.",
        ),
    ] = None,
    api_server: Annotated[
        str,
        typer.Option("--api-server", help="The API server's URL (in a pod: the default)."),
    ] = "https://kubernetes.default.svc",
    ca_file: Annotated[
        Path | None,
        typer.Option("--ca-file", help="PEM of the API server's CA (the chart mounts it)."),
    ] = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "0.0.0.0",
    port: Annotated[
        int, typer.Option("--port", help="Port to listen on.", min=1, max=65535)
    ] = 8080,
    namespace: Annotated[
        list[str] | None,
        typer.Option(
            "--namespace",
            help="Show Projects of this namespace (repeat). Default: every namespace the "
            "person may list.",
        ),
    ] = None,
    proxy_header: Annotated[
        list[str] | None,
        typer.Option(
            "--proxy-header",
            help="A header an auth proxy in front puts the person's bearer token in (repeat). "
            "Default: Authorization and X-Forwarded-Access-Token.",
        ),
    ] = None,
    no_proxy_headers: Annotated[
        bool, typer.Option("--no-proxy-headers", help="Trust no header; the login form only.")
    ] = False,
    no_login_form: Annotated[
        bool, typer.Option("--no-login-form", help="No token pasting; an auth proxy only.")
    ] = False,
    settle_seconds: Annotated[
        float,
        typer.Option(
            "--settle-seconds",
            help="How long a decision's answer waits for the operator's outcome (seconds); "
            "later outcomes reach the page as live updates.",
            min=0.0,
        ),
    ] = 20.0,
    store_details: Annotated[
        bool,
        typer.Option(
            "--store-details",
            help="Show attempt history and context from the store (--database-url / "
            "MGE_DATABASE_URL), after the person's token was allowed to read the AtomReview.",
        ),
    ] = False,
    session_key_file: Annotated[
        Path | None,
        typer.Option(
            "--session-key-file",
            envvar="MGE_REVIEW_SESSION_KEY_FILE",
            help="File of secrets (one per line, >= 32 characters; the first seals, all open) "
            "that seal login sessions into their cookies. Give every replica the same file "
            "(the chart mounts a Secret) so sessions span replicas and restarts. Default: a "
            "key made at start; sessions then end with the process.",
        ),
    ] = None,
) -> None:
    """The review web interface in a cluster (the chart's review-ui), acting as each reviewer.

    It has no Kubernetes credentials: each person's bearer token (from an auth proxy's header,
    or pasted on the login page and kept sealed in an HttpOnly session cookie) goes to the API
    server with every call, so RBAC decides and the audit log names them. Decisions patch the
    AtomReview with the mge.dev/decided-by annotation = the authenticated user. Give every
    replica the same --session-key-file so logins span replicas and restarts.
    See docs/review-ui.md.
    """
    from mge.kube.client import ApiServer
    from mge.web.cluster_app import ClusterAuth
    from mge.web.cluster_auth import PROXY_HEADERS
    from mge.web.serve_cluster import ClusterServeOptions, serve_cluster
    from mge.web.session_cookie import SessionKeys, load_session_keys

    if no_proxy_headers and no_login_form:
        raise InputError("--no-proxy-headers with --no-login-form leaves no way to log in")
    if kubeconfig is not None:
        server = ApiServer.from_kubeconfig(str(kubeconfig))
    else:
        if ca_file is not None and not ca_file.is_file():
            raise InputError(f"--ca-file {ca_file}: no such file")
        server = ApiServer(api_server, str(ca_file) if ca_file else None)
    headers: tuple[str, ...] = ()
    if not no_proxy_headers:
        headers = tuple(proxy_header) if proxy_header else PROXY_HEADERS
    options = ClusterServeOptions(
        server=server,
        host=host,
        port=port,
        namespaces=tuple(namespace or ()),
        auth=ClusterAuth(
            proxy_headers=headers,
            login_form=not no_login_form,
            keys=load_session_keys(session_key_file)
            if session_key_file is not None
            else SessionKeys.generate(),
        ),
        settle_seconds=settle_seconds,
    )

    async def run() -> None:
        store = await _open_store(State.settings()) if store_details else None
        try:
            await serve_cluster(options, store, typer.echo)
        finally:
            if store is not None:
                await store.close()

    _serve_until_stopped(run, f"{host}:{port}")


def _serve_until_stopped(
    run: Callable[[], Coroutine[None, None, None]], where: str, hint: str = ""
) -> None:
    """Serve until Ctrl-C or SIGTERM (a pod being stopped, a service manager), closing the
    server and the store first; an address that cannot be bound is an input error naming it.

    The signals are handled here, not left to Python's KeyboardInterrupt: a process started
    in the background by a shell ignores SIGINT, and SIGTERM would otherwise kill it without
    closing anything."""

    async def until_signal() -> None:
        loop = asyncio.get_running_loop()
        serving = asyncio.ensure_future(run())
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, serving.cancel)
        try:
            await serving
        except asyncio.CancelledError:
            if not serving.cancelled():
                raise
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)

    try:
        asyncio.run(until_signal())
    except KeyboardInterrupt:
        pass
    except OSError as e:
        raise InputError(f"cannot listen on {where}: {e.strerror}{hint}") from e
    typer.echo("MGE review: stopped")


def _finish(result: DecisionResult) -> None:
    typer.echo(result.message)
    if not result.accepted:
        if result.attempt is not None and result.attempt.validation is not None:
            for c in result.attempt.validation.checks:
                if not c.passed:
                    typer.echo(f"  {c.name}: {c.detail[:800]}")
        raise typer.Exit(1)
