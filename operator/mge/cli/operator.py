"""`mge operator run` (start the kopf operator) and `mge operator crds` (print the CRDs)."""

from __future__ import annotations

from typing import Annotated

import typer
import yaml

from mge.cli.app import State, app

operator_app = typer.Typer(help="The Kubernetes operator (kopf).", no_args_is_help=True)
app.add_typer(operator_app, name="operator")


def kopf_args(namespaces: list[str], all_namespaces: bool) -> list[str]:
    """The `kopf run` arguments for the namespace scope (pure; tests start kopf with these)."""
    if all_namespaces and namespaces:
        raise typer.BadParameter("give --namespace or --all-namespaces, not both")
    scope = ["--all-namespaces"] if all_namespaces or not namespaces else []
    for ns in namespaces:
        scope += ["--namespace", ns]
    return ["run", "--standalone", *scope, "-m", "mge.kube.handlers"]


@operator_app.command("run")
def run(
    namespace: Annotated[
        list[str] | None, typer.Option("--namespace", "-n", help="Watch this namespace (repeat).")
    ] = None,
    all_namespaces: Annotated[
        bool, typer.Option("--all-namespaces", "-A", help="Watch every namespace.")
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", help="Debug logging.")] = False,
) -> None:
    """Run the operator until interrupted (settings as for every command: flags > MGE_* env >
    --config file > defaults; kubeconfig from KUBECONFIG or the in-cluster ServiceAccount)."""
    from kopf.cli import main as kopf_main

    from mge.kube.settings import use

    use(State.settings())  # before kopf imports the handlers, which read them once
    args = kopf_args(namespace or [], all_namespaces)
    if verbose:
        args.insert(1, "--verbose")
    kopf_main(args=args, prog_name="mge operator", standalone_mode=True)


@operator_app.command("crds")
def crds() -> None:
    """Print the CRD manifests (YAML stream), e.g. `mge operator crds | kubectl apply -f -`."""
    from mge.kube.crds import atomreview_crd, project_crd

    typer.echo(yaml.safe_dump_all([project_crd(), atomreview_crd()], sort_keys=False), nl=False)
