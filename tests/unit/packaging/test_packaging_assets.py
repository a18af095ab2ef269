"""Static packaging assets: the Grafana dashboard queries only metrics that exist, the chart's
generated files match their sources, the RBAC split is complete, the GitOps examples parse."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import yaml

from mge import metrics as mm
from mge.kube.rbac import OPERATOR_RULES

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "hack" / "helm"))

import sync_chart  # noqa: E402


def exposed_names() -> set[str]:
    """Every sample name the metrics can expose (counters with _total, histogram series)."""
    m = mm.Metrics()
    names = set()
    for family in m.registry.collect():
        names.add(family.name)
        if family.type == "counter":
            names.add(family.name + "_total")
        if family.type == "histogram":
            names |= {family.name + s for s in ("_bucket", "_sum", "_count")}
    return names


def test_the_dashboard_uses_only_metrics_that_exist() -> None:
    dash = json.loads((REPO / "charts/mge-operator/dashboards/mge-operator.json").read_text())
    exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]]
    used = {n for e in exprs for n in re.findall(r"\b(mge_[a-z_]+)", e)}
    assert used and used <= exposed_names(), used - exposed_names()
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids))
    assert {"validation", "llm", "sandbox", "reconcile"} <= {
        w for p in dash["panels"] for w in re.findall(r"[a-z]+", p["title"].lower())
    }


def test_every_operator_rule_has_exactly_one_function() -> None:
    split = sync_chart.split_by_function(OPERATOR_RULES)
    assert sum(len(r) for r in split.values()) == len(OPERATOR_RULES)
    assert all(split.values()), split
    assert all(r.endswith("/status") for rule in split["status"] for r in rule["resources"])


def test_generated_chart_files_are_current() -> None:
    proc = subprocess.run(
        [sys.executable, str(REPO / "hack/helm/sync_chart.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_argocd_examples_parse_and_point_at_the_chart() -> None:
    docs = {
        p.name: yaml.safe_load(p.read_text()) for p in (REPO / "examples/argocd").glob("*.yaml")
    }
    assert docs["operator-application.yaml"]["spec"]["source"]["path"] == "charts/mge-operator"
    assert docs["projects-application.yaml"]["spec"]["syncPolicy"]["automated"]["prune"] is False
    lua = docs["argocd-cm-health.yaml"]["data"]["resource.customizations.health.mge.dev_Project"]
    assert '"Degraded"' in lua and '"Healthy"' in lua and '"Progressing"' in lua
