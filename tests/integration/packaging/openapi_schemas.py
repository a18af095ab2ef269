"""kubeconform schemas made offline from a real API server's OpenAPI v2 document.

kubeconform normally downloads JSON schemas; that is impossible here. Instead a test asks the
test control plane (kube-apiserver 1.34) for ``/openapi/v2`` and this module writes one
self-contained JSON schema file per kind, named the way kubeconform's schema-location template
``{{ .ResourceKind }}{{ .KindSuffix }}.json`` looks them up (``deployment-apps-v1.json``,
``service-v1.json``, ``clusterrole-rbac-v1.json``). With ``strict`` every object schema that lists
properties gets ``additionalProperties: false``, so a misspelt field fails (kubeconform -strict).
CRD-defined kinds the server knows (after the CRDs are installed) come out the same way.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"
INT_OR_STRING = {"oneOf": [{"type": "string"}, {"type": "integer"}]}


def kind_file_name(kind: str, group: str, version: str) -> str:
    """The file name kubeconform looks for (see its registry.schemaPath): the kind lowercased,
    then the first dotted part of the group (none for the core group), then the version."""
    suffix = f"-{group.split('.')[0].lower()}" if group else ""
    return f"{kind.lower()}{suffix}-{version.lower()}.json"


def _convert(node: Any, strict: bool) -> Any:
    if isinstance(node, list):
        return [_convert(n, strict) for n in node]
    if not isinstance(node, dict):
        return node
    if node.get("format") == "int-or-string":
        return {**{k: v for k, v in node.items() if k not in ("type", "format")}, **INT_OR_STRING}
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "properties" and isinstance(value, dict):
            # A map of field name -> schema: the names (e.g. "x-kubernetes-validations" in the
            # CRD schema) are data, only the schemas are converted.
            out[key] = {name: _convert(sub, strict) for name, sub in value.items()}
        elif not key.startswith("x-kubernetes-"):
            out[key] = _convert(value, strict)
    preserve = node.get("x-kubernetes-preserve-unknown-fields") is True
    if strict and "properties" in node and "additionalProperties" not in node and not preserve:
        out["additionalProperties"] = False
    return out


def _refs(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/definitions/"):
            found.add(ref.removeprefix("#/definitions/"))
        for v in node.values():
            found |= _refs(v)
    elif isinstance(node, list):
        for v in node:
            found |= _refs(v)
    return found


def _closure(name: str, definitions: dict[str, Any]) -> dict[str, Any]:
    todo, seen = [name], {}
    while todo:
        current = todo.pop()
        if current in seen or current not in definitions:
            continue
        seen[current] = definitions[current]
        todo.extend(_refs(definitions[current]))
    return seen


def write_schemas(openapi: dict[str, Any], out_dir: Path, strict: bool = True) -> int:
    """Write a schema file per kind of ``openapi`` (a v2 document) into ``out_dir``; returns
    how many were written."""
    definitions = dict(openapi["definitions"])
    if QUANTITY in definitions:
        definitions[QUANTITY] = {"oneOf": [{"type": "string"}, {"type": "number"}]}
    converted = {k: _convert(v, strict) for k, v in definitions.items()}
    out_dir.mkdir(parents=True, exist_ok=True)
    written = 0
    for name, definition in definitions.items():
        for gvk in definition.get("x-kubernetes-group-version-kind", []):
            deps = _closure(name, converted)
            schema = {
                "$schema": "http://json-schema.org/draft-07/schema#",
                **converted[name],
                "definitions": deps,
            }
            path = out_dir / kind_file_name(gvk["kind"], gvk.get("group", ""), gvk["version"])
            path.write_text(json.dumps(schema))
            written += 1
    return written
