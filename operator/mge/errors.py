"""The one error tree of MGE.

Every error MGE raises on purpose derives from :class:`MGEError`, so a driver (the CLI or the
operator) can tell "our error, with a message for a person" from a bug::

    MGEError
    ├── ConfigError              a setting or manifest field is invalid (names field and fix)
    ├── InputError               user input (requirements, files, answers) cannot be used
    ├── NotAvailableYet          a command exists but its feature has not been built
    ├── LLMError                 anything that went wrong talking to a model
    │   ├── LLMAuthError         the provider refused the credentials (never retried)
    │   ├── LLMUnavailable       the provider kept failing after all retries
    │   ├── RecordingMissing     the scripted provider has no recording for a prompt key
    │   ├── ParseFailure         one answer did not parse into the model (repair comes next)
    │   └── StructuredOutputError the answer did not parse into the model, even after repair
    ├── StoreError               the database refused or lost a write
    ├── RetrievalUnavailable     the pattern index (Chroma) could not be reached or read
    │   └── CollectionUnusable   a Chroma collection MGE needs is foreign or broken (named)
    ├── PlanInvalid              a masterplan failed validation (carries the findings)
    ├── GraphCycleError          atoms depend on each other in a cycle (carries the cycle)
    ├── SandboxError             the sandbox could not run (not: the code under test failed)
    │   └── SandboxUnavailable   isolation cannot be had on this machine
    ├── KubeAPIError             the Kubernetes API refused a request (403, 422, …): not retried
    │   └── KubeUnavailable      a transient API failure (5xx, 429, 409 conflict, connection,
    │                            timeout) that outlasted the client's quick retries
    ├── GitPushError             the generated codebase could not be pushed to git (reason)
    └── BudgetExceeded           the project's cost or atom budget is spent
"""

from __future__ import annotations

__all__ = [
    "BudgetExceeded",
    "CollectionUnusable",
    "ConfigError",
    "GitPushError",
    "GraphCycleError",
    "InputError",
    "KubeAPIError",
    "KubeUnavailable",
    "LLMAuthError",
    "LLMError",
    "LLMUnavailable",
    "MGEError",
    "NotAvailableYet",
    "ParseFailure",
    "PlanInvalid",
    "RecordingMissing",
    "RetrievalUnavailable",
    "SandboxError",
    "SandboxUnavailable",
    "StoreError",
    "StructuredOutputError",
]


class MGEError(Exception):
    """Base of every deliberate MGE error; its message is written for a person."""


class ConfigError(MGEError):
    """A setting or manifest field is invalid; the message names the field and the fix."""


class InputError(MGEError):
    """User input (requirements, source files, answers) cannot be used as given."""


class NotAvailableYet(MGEError):
    """The command exists but the feature behind it has not been built yet."""


class LLMError(MGEError):
    """Something went wrong talking to a language model."""


class LLMAuthError(LLMError):
    """The provider refused the credentials; retrying will not help."""


class LLMUnavailable(LLMError):
    """The provider kept failing (rate limit, overload, timeout) after every retry."""


class RecordingMissing(LLMError):
    """The scripted provider has no recorded response for this prompt key."""

    def __init__(self, key: str, where: str) -> None:
        super().__init__(
            f"no recorded response for prompt key {key!r} in {where}; "
            "the scripted provider only replays recordings and never invents an answer"
        )
        self.key = key


class ParseFailure(LLMError):
    """One answer did not yield a valid model; ``errors`` are lines for a person or a model.

    Raised per answer by mge.llm.structured and caught there to ask for one repair; only when
    the repair fails too does the caller see StructuredOutputError.
    """

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


class StructuredOutputError(LLMError):
    """The model's answer did not parse into the expected model, even after one repair round."""


class StoreError(MGEError):
    """The database refused or lost a write."""


class RetrievalUnavailable(MGEError):
    """The pattern index (Chroma) could not be reached or read; planning goes on without it."""


class CollectionUnusable(RetrievalUnavailable):
    """A Chroma collection MGE needs is foreign or broken; the message names it and the fix."""


class PlanInvalid(MGEError):
    """A masterplan failed validation; ``findings`` lists every problem found."""

    def __init__(self, findings: list[str]) -> None:
        super().__init__("masterplan is invalid:\n" + "\n".join(f"  - {f}" for f in findings))
        self.findings = findings


class GraphCycleError(MGEError):
    """Atoms depend on each other in a cycle; ``cycle`` lists the atoms in order."""

    def __init__(self, cycle: list[str], rendered: str) -> None:
        super().__init__(f"dependency cycle: {rendered}")
        self.cycle = cycle


class SandboxError(MGEError):
    """The sandbox itself could not run (as opposed to the code under test failing)."""


class SandboxUnavailable(SandboxError):
    """Isolation (network namespace, limits) cannot be had on this machine."""


class KubeAPIError(MGEError):
    """The Kubernetes API refused a request; ``status`` is the HTTP status (0: no response),
    ``reason`` a CamelCase word for conditions (``KubernetesForbidden``, …)."""

    def __init__(self, message: str, *, status: int = 0, reason: str = "KubernetesAPIError"):
        super().__init__(message)
        self.status = status
        self.reason = reason


class KubeUnavailable(KubeAPIError):
    """A transient Kubernetes API failure that outlasted the client's retries; retry later."""


class GitPushError(MGEError):
    """The codebase could not be pushed to ``spec.output.git``; ``reason`` is CamelCase."""

    def __init__(self, message: str, *, reason: str = "GitPushFailed") -> None:
        super().__init__(message)
        self.reason = reason


class BudgetExceeded(MGEError):
    """The project's cost or atom budget is spent; raise it to resume."""

    def __init__(self, what: str, limit: float, spent: float) -> None:
        super().__init__(f"budget exceeded: {what} limit {limit:g}, spent {spent:g}")
        self.what = what
        self.limit = limit
        self.spent = spent
