"""The Kubernetes operator: CRDs, pure reconcile decisions, and the one API client.

Pure modules (decide, conditions, children, rbac, reviews' decision rules) import
neither kopf nor a Kubernetes client; client.py talks to the API; handlers.py wires kopf.
Nothing is re-exported here so importing a pure module never pulls in kopf. The custom
resources' shapes are models: the Project in mge.models.project, the AtomReview in
mge.models.review.
"""

__all__: list[str] = []
