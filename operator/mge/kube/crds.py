"""Generate the CRD manifests in ``crds/`` from the pydantic models (one source of truth).

``python -m mge.kube.crds`` writes them; a test checks the files equal the generated text.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from mge.models.project import (
    API_GROUP,
    API_VERSION,
    GIT_REPOSITORY_FORM,
    GIT_REPOSITORY_PATTERN,
    MAX_REQUIREMENTS_CHARS,
    REQUIREMENTS_PATTERN,
    ProjectSpec,
    ProjectStatus,
)
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
    "x-kubernetes-validations",
}

# Why the rules look as they do. The API server adds the line "some validation rules were not
# checked because the object was invalid" to a refusal whenever the CRD has any CEL rule and the
# object breaks a *blocking* schema keyword: enum, required, maxLength, maxItems or type
# (apiextensions-apiserver strategy.go, hasBlockingErr). So a closed set of values is a CEL rule
# on its field (see _enum_rule), not an enum; each rule sits on the object it reads, so the
# refusal names that field; and no rule reads an unbounded string or list, so the CEL cost
# estimate stays small.
Rule = dict[str, str]

PROJECT_RULES: dict[str, list[Rule]] = {
    "": [
        {
            "rule": "has(self.requirements) != has(self.requirementsFrom)",
            "message": "set exactly one of spec.requirements (inline text) or "
            "spec.requirementsFrom (a ConfigMap key)",
        }
    ],
    "requirements": [
        {
            "rule": f"self.matches(r'{REQUIREMENTS_PATTERN}')",
            "message": "spec.requirements is empty: write the requirements as text, or point "
            "spec.requirementsFrom at a ConfigMap key",
        },
        {
            "rule": f"size(self) <= {MAX_REQUIREMENTS_CHARS}",
            "message": f"spec.requirements is longer than {MAX_REQUIREMENTS_CHARS} characters: "
            "split the project or summarise the requirements",
        },
    ],
    "llm": [
        {
            "rule": "!has(self.provider) || self.provider != 'anthropic' || has(self.secretRef)",
            "message": "spec.llm.secretRef is required when spec.llm.provider is anthropic: name "
            "a Secret (and key) that holds the API key",
        }
    ],
    "llm.planner": [
        {
            "rule": "self.provider != 'anthropic' || has(self.secretRef)",
            "message": "spec.llm.planner.secretRef is required when spec.llm.planner.provider is "
            "anthropic: name a Secret (and key) that holds the API key",
        }
    ],
    "review": [
        {
            "rule": "!has(self.policy) || self.policy != 'autoApprove' || "
            "has(self.autoApproveAfterSeconds)",
            "message": "spec.review.autoApproveAfterSeconds is required when spec.review.policy "
            "is autoApprove",
        }
    ],
    "output.git.repository": [
        {
            "rule": f"self.matches(r'{GIT_REPOSITORY_PATTERN}')",
            "message": f"spec.output.git.repository {GIT_REPOSITORY_FORM}",
        }
    ],
}
"""CEL rules of the Project spec, by the path of the field they sit on ("" = spec itself)."""

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


def _enums_as_rules(node: Any) -> None:
    """Turn every ``enum`` under ``node`` into a CEL rule on its field, listed in its description.

    An ``enum`` violation is a *blocking* error, which the API server reports together with a
    "some validation rules were not checked" line when the CRD has CEL rules; a CEL rule on the
    field reports only what is wrong. For specs only (what people write): status is written by
    the operator, and a rule on the items of an unbounded list would break the CEL cost budget.
    """
    if isinstance(node, list):
        for item in node:
            _enums_as_rules(item)
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if key in ("properties", "items"):
            for child in value.values() if key == "properties" else [value]:
                _enums_as_rules(child)
    if "enum" in node:
        values = node.pop("enum")
        listed = ", ".join(str(v) for v in values)
        described = node.get("description")
        node["description"] = f"{described + ' ' if described else ''}One of: {listed}."
        node.setdefault("x-kubernetes-validations", []).append(
            {"rule": f"self in {json.dumps(values)}", "message": f"must be one of: {listed}"}
        )


def _attach(schema: dict[str, Any], rules: dict[str, list[Rule]]) -> None:
    """Add each path's rules to the field it names (dotted, under ``properties``)."""
    for path, field_rules in rules.items():
        node = schema
        for name in filter(None, path.split(".")):
            node = node["properties"][name]
        node.setdefault("x-kubernetes-validations", []).extend(field_rules)


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
    _enums_as_rules(spec)
    _attach(spec, PROJECT_RULES)
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
    status = schema_of(ProjectStatus)
    # A Project the operator has not seen yet reads as in progress, not healthy: the API server
    # applies this default whenever it serves an object without status (on read, so also right
    # after create, although create drops the status a client sends), giving
    # observedGeneration 0 != metadata.generation, which kstatus (Flux) reports as InProgress.
    status["default"] = {}
    return _crd("Project", "projects", ["mgeproj"], columns, spec, status)


def atomreview_crd() -> dict[str, Any]:
    """The AtomReview CRD."""
    spec = schema_of(AtomReviewSpec)
    _enums_as_rules(spec)
    _attach(spec, {"": REVIEW_RULES})
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
