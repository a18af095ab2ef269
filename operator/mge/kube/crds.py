"""Generate the CRD manifests in ``crds/`` from the pydantic models (one source of truth).

``python -m mge.kube.crds`` writes them; a test checks the files equal the generated text.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from mge.models.project import API_GROUP, API_VERSION, ProjectSpec, ProjectStatus
from mge.models.review import AtomReviewSpec, AtomReviewStatus

_KEEP = {
    "type",
    "properties",
    "items",
    "required",
    "description",
    "default",
    "enum",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
    "format",
}

PROJECT_RULES = [
    {
        "rule": "has(self.requirements) != has(self.requirementsFrom)",
        "message": "set exactly one of spec.requirements (inline text) or spec.requirementsFrom "
        "(a ConfigMap key)",
    },
    {
        "rule": "!has(self.llm) || self.llm.provider != 'anthropic' || has(self.llm.secretRef)",
        "message": "spec.llm.secretRef is required when spec.llm.provider is anthropic: name a "
        "Secret (and key) that holds the API key",
    },
    {
        "rule": "!has(self.llm) || !has(self.llm.planner) || "
        "self.llm.planner.provider != 'anthropic' || has(self.llm.planner.secretRef)",
        "message": "spec.llm.planner.secretRef is required when spec.llm.planner.provider is "
        "anthropic: name a Secret (and key) that holds the API key",
    },
    {
        "rule": "!has(self.review) || self.review.policy != 'autoApprove' || "
        "has(self.review.autoApproveAfterSeconds)",
        "message": "spec.review.autoApproveAfterSeconds is required when spec.review.policy is "
        "autoApprove",
    },
]
REVIEW_RULES = [
    {
        "rule": "self.decision != 'edit' || (has(self.code) && size(self.code) > 0)",
        "message": "spec.code is required when spec.decision is edit: put the corrected code there",
    },
    {
        "rule": "self.decision != 'regenerate' || (has(self.feedback) && size(self.feedback) > 0)",
        "message": "spec.feedback is required when spec.decision is regenerate: say what to change",
    },
    {
        "rule": "self.atomId == oldSelf.atomId && self.projectRef == oldSelf.projectRef",
        "message": "spec.atomId and spec.projectRef are immutable",
    },
]


READY_CONDITION = '.status.conditions[?(@.type=="Ready")]'
"""JSONPath of the Project's Ready condition (kstatus): the READY and MESSAGE columns read it, so
``kubectl get projects`` says why a Project failed or waits (``-o wide`` for the message)."""


def _structural(node: Any, defs: dict[str, Any]) -> Any:
    """Turn a pydantic JSON schema node into an OpenAPI v3 structural schema node."""
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = defs[node["$ref"].rsplit("/", 1)[1]]
        resolved = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return _structural(resolved, defs)
    if "anyOf" in node:
        options = [o for o in node["anyOf"] if o.get("type") != "null"]
        nullable = len(options) < len(node["anyOf"])
        base = _structural(options[0], defs) if len(options) == 1 else {"type": "string"}
        extra = {k: v for k, v in node.items() if k != "anyOf"}
        merged: dict[str, Any] = {**base, **_structural(extra, defs)}
        if nullable and merged.get("default", "x") is None:
            merged.pop("default")
        return merged
    if "const" in node:
        node = {**node, "enum": [node["const"]]}
    out: dict[str, Any] = {}
    for k, v in node.items():
        if k not in _KEEP:
            continue
        if k == "properties":
            out[k] = {name: _structural(p, defs) for name, p in v.items()}
        elif k == "items":
            out[k] = _structural(v, defs)
        elif k == "default" and v is None:
            continue
        else:
            out[k] = v
    if "properties" in out:
        out["type"] = "object"
    if out.get("type") == "object" and "properties" not in out:
        out["x-kubernetes-preserve-unknown-fields"] = True
    if out.get("type") == "number" and isinstance(out.get("default"), int):
        out["default"] = float(out["default"])
    return out


def schema_of(model: type[BaseModel]) -> dict[str, Any]:
    """Structural schema of a model, with aliases (camelCase) as property names."""
    raw = model.model_json_schema(by_alias=True, mode="validation")
    return _structural(raw, raw.get("$defs", {}))  # type: ignore[no-any-return]


def _crd(
    kind: str,
    plural: str,
    short: list[str],
    columns: list[dict[str, Any]],
    spec: dict[str, Any],
    status: dict[str, Any],
    required_spec: bool = True,
) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{API_GROUP}"},
        "spec": {
            "group": API_GROUP,
            "names": {
                "kind": kind,
                "listKind": f"{kind}List",
                "plural": plural,
                "singular": kind.lower(),
                "shortNames": short,
                "categories": ["mge"],
            },
            "scope": "Namespaced",
            "versions": [
                {
                    "name": API_VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": columns,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "required": ["spec"] if required_spec else [],
                            "properties": {
                                "apiVersion": {"type": "string"},
                                "kind": {"type": "string"},
                                "metadata": {"type": "object"},
                                "spec": spec,
                                "status": status,
                            },
                        }
                    },
                }
            ],
        },
    }


def project_crd() -> dict[str, Any]:
    """The Project CRD."""
    spec = schema_of(ProjectSpec)
    spec["x-kubernetes-validations"] = PROJECT_RULES
    for sub in ("hints", "discovery", "llm", "budget", "execution", "review", "output"):
        spec["properties"][sub]["default"] = {}
    # Nested objects need their own `{}` default, or their fields' defaults never apply.
    spec["properties"]["execution"]["properties"]["resources"]["default"] = {}
    columns: list[dict[str, Any]] = [
        {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
        {
            "name": "Ready",
            "type": "string",
            "jsonPath": READY_CONDITION + ".status",
            "description": "The Ready condition: True once the codebase is complete (and pushed)",
        },
        {
            "name": "Progress",
            "type": "string",
            "jsonPath": ".status.progress.percent",
            "description": "Atoms done, percent",
        },
        {"name": "Atoms", "type": "integer", "jsonPath": ".status.progress.atomsTotal"},
        {"name": "Review", "type": "integer", "jsonPath": ".status.progress.atomsInReview"},
        {"name": "Cost", "type": "string", "jsonPath": ".status.cost.usd"},
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
        {
            "name": "Message",
            "type": "string",
            "jsonPath": READY_CONDITION + ".message",
            "description": "The Ready condition's message: why a Project failed or waits",
            "priority": 1,
        },
    ]
    return _crd("Project", "projects", ["mgeproj"], columns, spec, schema_of(ProjectStatus))


def atomreview_crd() -> dict[str, Any]:
    """The AtomReview CRD."""
    spec = schema_of(AtomReviewSpec)
    spec["x-kubernetes-validations"] = REVIEW_RULES
    columns = [
        {"name": "Project", "type": "string", "jsonPath": ".spec.projectRef.name"},
        {"name": "Atom", "type": "string", "jsonPath": ".spec.atomId"},
        {"name": "Confidence", "type": "string", "jsonPath": ".status.confidence.score"},
        {"name": "Decision", "type": "string", "jsonPath": ".spec.decision"},
        {"name": "State", "type": "string", "jsonPath": ".status.state"},
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
    ]
    return _crd("AtomReview", "atomreviews", ["ar"], columns, spec, schema_of(AtomReviewStatus))


def render() -> dict[str, str]:
    """File name → YAML text for every CRD."""
    header = "# Generated by `python -m mge.kube.crds` from operator/mge; do not edit by hand.\n"
    return {
        f"{API_GROUP}_projects.yaml": header + yaml.safe_dump(project_crd(), sort_keys=False),
        f"{API_GROUP}_atomreviews.yaml": header + yaml.safe_dump(atomreview_crd(), sort_keys=False),
    }


def main(argv: list[str] | None = None) -> int:
    """Write the CRDs into the folder given (default ./crds)."""
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0] if args else "crds")
    out.mkdir(parents=True, exist_ok=True)
    for name, text in render().items():
        (out / name).write_text(text)
        print(f"wrote {out / name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
