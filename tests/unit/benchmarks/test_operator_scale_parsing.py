"""The pure helpers of benchmarks/operator_scale.py: Prometheus text and audit-log parsing."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[3]


def load() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "operator_scale", REPO / "benchmarks" / "operator_scale.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["operator_scale"] = module
    spec.loader.exec_module(module)
    return module


METRICS = """\
# HELP apiserver_request_total [STABLE] Counter of apiserver requests
# TYPE apiserver_request_total counter
apiserver_request_total{code="200",group="batch",resource="jobs",subresource="",verb="GET"} 7
apiserver_request_total{code="404",group="batch",resource="jobs",subresource="",verb="GET"} 2
apiserver_request_total{code="200",resource="projects",subresource="status",verb="PATCH"} 3
apiserver_request_total_extra{verb="GET"} 99
apiserver_request_total{code="201",group="",resource="x\\"y",subresource="",verb="POST"} 1e+00
apiserver_requested_deprecated_apis{group="a"} 1
"""


def test_prometheus_text_is_summed_by_verb_and_resource() -> None:
    m = load()
    counts = m.request_counts(m.parse_prometheus(METRICS, "apiserver_request_total"))
    assert counts == {
        ("GET", "jobs"): 9,
        ("PATCH", "projects/status"): 3,
        ("POST", 'x"y'): 1,
    }


def test_counter_diff_keeps_what_grew() -> None:
    m = load()
    before = {("GET", "jobs"): 9, ("LIST", "pods"): 4}
    after = {("GET", "jobs"): 12, ("LIST", "pods"): 4, ("PATCH", "projects/status"): 2}
    assert m.diff_counts(before, after) == {("GET", "jobs"): 3, ("PATCH", "projects/status"): 2}


def test_audit_events_count_once_per_audit_id() -> None:
    m = load()
    base = {
        "user": {"username": "system:serviceaccount:mge-system:mge-operator"},
        "verb": "watch",
        "requestURI": "/apis/batch/v1/namespaces/a/jobs?watch=true",
        "objectRef": {"resource": "jobs", "namespace": "a", "apiGroup": "batch"},
        "requestReceivedTimestamp": "2026-11-24T12:00:00.000000Z",
    }
    lines = [
        json.dumps({**base, "auditID": "1", "stage": "ResponseStarted"}),
        json.dumps({**base, "auditID": "1", "stage": "ResponseComplete"}),
        json.dumps(
            {
                **base,
                "auditID": "2",
                "verb": "patch",
                "objectRef": {"resource": "projects", "subresource": "status", "name": "p"},
            }
        ),
        "",
    ]
    requests = m.audit_requests(lines)
    assert [(r.verb, r.resource, r.name) for r in requests] == [
        ("watch", "jobs", ""),
        ("patch", "projects/status", "p"),
    ]
