"""The Kubernetes operator: CRDs, pure reconcile decisions, and the one API client.

Pure modules (decide, conditions, children, resources, rbac, reviews' decision rules) import
neither kopf nor a Kubernetes client; client.py talks to the API; handlers.py wires kopf.
Nothing is re-exported here so importing a pure module never pulls in kopf.
"""

__all__: list[str] = []
