"""CRDs in crds/ are generated from the models and stay in sync with them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mge.kube import crds

ROOT = Path(__file__).resolve().parents[3]


def test_crd_files_equal_generated() -> None:
    for name, text in crds.render().items():
        on_disk = (ROOT / "crds" / name).read_text()
        assert on_disk == text, f"crds/{name} is stale: run `python -m mge.kube.crds`"


def _walk(node: Any, path: str = "") -> list[str]:
    """Paths in a schema that would break the structural-schema rules."""
    bad: list[str] = []
    if isinstance(node, dict):
        for k in ("$ref", "anyOf", "oneOf", "allOf", "$defs", "title"):
            if k in node:
                bad.append(f"{path}.{k}")
        if "properties" in node and "additionalProperties" in node:
            bad.append(f"{path}: properties+additionalProperties")
        if "properties" in node and node.get("type") != "object":
            bad.append(f"{path}: properties without type object")
        for k, v in node.items():
            bad += _walk(v, f"{path}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            bad += _walk(v, f"{path}[{i}]")
    return bad


def test_schemas_are_structural() -> None:
    for crd in (crds.project_crd(), crds.atomreview_crd()):
        schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
        assert _walk(schema) == []


def test_project_printer_columns_and_rules() -> None:
    crd = crds.project_crd()
    version = crd["spec"]["versions"][0]
    columns = version["additionalPrinterColumns"]
    names = [c["name"] for c in columns if not c.get("priority")]
    assert names == ["Phase", "Ready", "Progress", "Atoms", "Review", "Cost", "Age"]
    wide = [c["name"] for c in columns if c.get("priority") == 1]
    assert wide == ["Message"]  # `kubectl get projects -o wide`
    by_name = {c["name"]: c["jsonPath"] for c in columns}
    assert by_name["Ready"] == '.status.conditions[?(@.type=="Ready")].status'
    assert by_name["Message"] == '.status.conditions[?(@.type=="Ready")].message'
    spec = version["schema"]["openAPIV3Schema"]["properties"]["spec"]
    assert spec["properties"]["budget"]["properties"]["maxCostUSD"]["minimum"] == 0.0
    assert spec["properties"]["llm"]["properties"]["provider"]["enum"][0] == "scripted"
    assert any("secretRef" in r["message"] for r in spec["x-kubernetes-validations"])
    assert version["subresources"] == {"status": {}}
