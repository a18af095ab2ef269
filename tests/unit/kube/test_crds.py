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
    llm = spec["properties"]["llm"]
    assert any("secretRef" in r["message"] for r in llm["x-kubernetes-validations"])
    assert version["subresources"] == {"status": {}}


def _spec_nodes(node: Any) -> list[dict[str, Any]]:
    if not isinstance(node, dict):
        return []
    children = list((node.get("properties") or {}).values())
    if "items" in node:
        children.append(node["items"])
    return [node] + [n for child in children for n in _spec_nodes(child)]


def test_specs_have_no_blocking_enum_but_a_rule_per_closed_field() -> None:
    """An enum beside CEL rules makes the API server add a noise line to the refusal."""
    for crd in (crds.project_crd(), crds.atomreview_crd()):
        schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
        assert not [n for n in _spec_nodes(schema["properties"]["spec"]) if "enum" in n]
    spec = crds.project_crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    provider = spec["properties"]["spec"]["properties"]["llm"]["properties"]["provider"]
    assert provider["x-kubernetes-validations"][0]["rule"].startswith('self in ["scripted"')
    assert "One of: scripted, anthropic" in provider["description"]


def test_project_rules_sit_on_the_field_they_read() -> None:
    spec = crds.project_crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"][
        "spec"
    ]
    assert [r["rule"] for r in spec["x-kubernetes-validations"]] == [
        "has(self.requirements) != has(self.requirementsFrom)"
    ]
    props = spec["properties"]
    assert props["requirements"]["x-kubernetes-validations"]
    assert props["review"]["x-kubernetes-validations"]
    assert props["llm"]["properties"]["planner"]["x-kubernetes-validations"]
    git = props["output"]["properties"]["git"]["properties"]["repository"]
    assert "matches" in git["x-kubernetes-validations"][0]["rule"]


def test_project_status_is_defaulted_so_a_new_project_reads_in_progress() -> None:
    """kstatus calls an object without status.observedGeneration Current; the default gives 0."""
    schema = crds.project_crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    status = schema["properties"]["status"]
    assert status["default"] == {}
    assert status["properties"]["observedGeneration"]["default"] == 0
