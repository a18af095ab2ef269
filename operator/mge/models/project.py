"""The Project, in one place: what a user asks for (:class:`ProjectSpec`), the phase it is in
(:class:`Phase`) and what the operator reports (:class:`ProjectStatus`).

They live side by side because every driver reads them together: ``mge run`` walks the phases
of a spec, the operator writes the phase and the counts into ``status``, and the CRD in
``crds/`` is generated from these classes (``python -m mge.kube.crds``). The same spec is a
local ``project.yaml`` and a cluster CR; a local manifest is exactly the custom resource a
platform user would ``kubectl apply``::

    apiVersion: mge.dev/v1alpha1
    kind: Project
    metadata: {name: todo-lib}
    spec: {requirements: "...", hints: {language: python}}

The order of the phases and the moves between them are pipeline rules (mge.pipeline.phases);
the kstatus rules for conditions are operator rules (mge.kube.conditions).
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from mge.models.base import WireModel
from mge.models.domain import Question
from mge.models.performance import PerformancePolicy, PerformanceReport
from mge.models.readiness import ReadinessPolicy, ReadinessReport

API_GROUP = "mge.dev"
API_VERSION = "v1alpha1"
Language = Literal["python", "typescript", "javascript"]
ProviderName = Literal["scripted", "anthropic", "openai-compatible", "llamacpp"]

MAX_REQUIREMENTS_CHARS = 200_000
"""Requirements longer than this (about 50k tokens) are refused before any LLM call."""

REQUIREMENTS_PATTERN = r"\S"
"""Requirements must hold at least one non-space character (RE2 and Python alike)."""

GIT_REPOSITORY_PATTERN = r"^((https?|ssh|git|file)://\S+|[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:\S+|/\S*)$"
"""What ``spec.output.git.repository`` may be: a git URL, scp-like ``user@host:path``, or an
absolute path; no spaces (RE2 and Python alike, so the CRD's CEL rule and pydantic agree)."""

GIT_REPOSITORY_FORM = (
    "must be a git URL (https://, http://, ssh://, git://, file://, or user@host:path) "
    "or an absolute path, without spaces"
)


class Phase(StrEnum):
    """`status.phase` of a Project (cluster) and the stage a local run is in."""

    PENDING = "Pending"
    DISCOVERING = "Discovering"
    PLANNING = "Planning"
    ATOMIZING = "Atomizing"
    ANALYZING = "Analyzing"
    EXECUTING = "Executing"
    INTEGRATING = "Integrating"
    REVIEWING = "Reviewing"
    COMPLETED = "Completed"
    FAILED = "Failed"


class SecretKeyRef(WireModel):
    """A key inside a Kubernetes Secret (cluster) — never the secret value itself."""

    name: str = Field(min_length=1, max_length=253, description="Secret name.")
    key: str = Field(default="api-key", min_length=1, description="Key inside the Secret.")


class ConfigMapKeyRef(WireModel):
    """A key inside a ConfigMap that holds the requirements text."""

    name: str = Field(min_length=1, max_length=253, description="ConfigMap name.")
    key: str = Field(default="requirements.md", min_length=1, description="Key in the ConfigMap.")


class Hints(WireModel):
    """Optional guidance for discovery."""

    language: Language = Field(default="python", description="Target language.")
    framework: str | None = Field(default=None, max_length=64, description="e.g. fastapi.")
    constraints: list[str] = Field(default_factory=list, description="Free-text constraints.")


class Answer(WireModel):
    """An answer to a clarifying question, by question id."""

    id: str = Field(min_length=1, max_length=64, description="The question id.")
    answer: str = Field(max_length=4000, description="The answer text.")


class DiscoverySpec(WireModel):
    """How clarifying questions are answered."""

    interactive: bool = Field(
        default=False,
        description="Wait for answers in spec.discovery.answers; false uses each default.",
    )
    answers: list[Answer] = Field(default_factory=list, description="Answers by question id.")


class PlannerSpec(WireModel):
    """A separate model for discovery, the masterplan and the skeletons.

    Planning asks for large, strictly structured answers; atoms ask for ten lines of code. A
    project may plan with a large model (or with recordings) and write atoms with a small or
    local one. Unset: the project's own ``spec.llm`` does both.
    """

    provider: ProviderName = Field(description="Model provider for the planning stages.")
    model: str = Field(default="claude-sonnet-4-6", min_length=1, description="Model name.")
    base_url: str | None = Field(
        default=None, alias="baseURL", description="Provider endpoint override."
    )
    secret_ref: SecretKeyRef | None = Field(default=None, description="Secret with the API key.")
    recordings: str | None = Field(
        default=None, description="Folder of recorded responses (scripted provider only)."
    )


class LLMSpec(WireModel):
    """Which model writes the code."""

    provider: ProviderName = Field(default="scripted", description="Model provider.")
    model: str = Field(default="claude-sonnet-4-6", min_length=1, description="Model name.")
    base_url: str | None = Field(
        default=None, alias="baseURL", description="Provider endpoint override."
    )
    secret_ref: SecretKeyRef | None = Field(default=None, description="Secret with the API key.")
    recordings: str | None = Field(
        default=None, description="Folder of recorded responses (scripted provider only)."
    )
    temperature: float = Field(
        default=0.7, ge=0.0, le=1.0, description="First-attempt temperature."
    )
    planner: PlannerSpec | None = Field(
        default=None,
        description="Another model for discovery, masterplan and skeletons (default: this one).",
    )

    def for_planning(self) -> LLMSpec:
        """The spec the planning stages use: ``planner`` when set, else this one."""
        if self.planner is None:
            return self
        return LLMSpec.model_validate(
            {**self.planner.model_dump(by_alias=True), "temperature": self.temperature}
        )


class BudgetSpec(WireModel):
    """Limits that stop new LLM calls cleanly when reached."""

    max_cost_usd: float = Field(
        default=50.0, ge=0.0, le=100_000.0, alias="maxCostUSD", description="USD."
    )
    max_atoms: int = Field(default=2000, ge=1, le=200_000, description="Atoms generated at most.")


class ResourceSpec(WireModel):
    """CPU and memory for one sandbox pod (Kubernetes quantities)."""

    cpu: str = Field(default="500m", pattern=r"^[0-9]+(\.[0-9]+)?m?$", description="CPU limit.")
    memory: str = Field(default="512Mi", pattern=r"^[0-9]+(Ki|Mi|Gi)?$", description="Memory.")


class ExecutionSpec(WireModel):
    """How atoms are generated and checked."""

    batch_size: int = Field(default=20, ge=1, le=200, description="Atoms per sandbox Job.")
    parallelism: int = Field(default=4, ge=1, le=64, description="Sandbox Jobs at once.")
    concurrency: int = Field(default=100, ge=1, le=1000, description="LLM calls in flight.")
    max_attempts: int = Field(default=3, ge=1, le=5, description="Attempts per atom.")
    atom_timeout_seconds: int = Field(default=30, ge=1, le=600, description="Per atom, seconds.")
    sandbox_image: str = Field(default="mge-sandbox:0.1.0", description="Sandbox Job image.")
    runtime_class_name: str | None = Field(default=None, description="e.g. gvisor.")
    resources: ResourceSpec = Field(default_factory=ResourceSpec, description="Per sandbox pod.")
    dispatch: Literal["level", "ready"] = Field(
        default="level",
        description=(
            "When an atom starts: level (its whole graph level at once, after the level "
            "before is checked) or ready (as soon as its own dependencies are settled, with "
            "the end-of-level checks beside later atoms; faster, opt-in)."
        ),
    )


class ReviewSpec(WireModel):
    """How many atoms a human looks at, and what happens if nobody does."""

    fraction: float = Field(default=0.15, ge=0.0, le=1.0, description="Share of least-sure atoms.")
    policy: Literal["wait", "autoApprove"] = Field(default="wait", description="If no decision.")
    auto_approve_after_seconds: int | None = Field(
        default=None, ge=0, description="With policy autoApprove: seconds before approving."
    )


class ValidationSpec(WireModel):
    """Checks beyond each atom's tests."""

    readiness: ReadinessPolicy = Field(
        default_factory=ReadinessPolicy,
        description="L4 production readiness: per check block, report or off.",
    )
    performance: PerformancePolicy = Field(
        default_factory=PerformancePolicy,
        description="L3 performance benchmarks of measurable criteria: block, report or off.",
    )


class GitOutput(WireModel):
    """Where the generated codebase is pushed."""

    repository: str = Field(
        min_length=1,
        description="Git URL (https://, ssh://, git://, file://, user@host:path) or an "
        "absolute path.",
    )
    branch: str = Field(default="mge/generated", min_length=1, description="Branch to write.")
    secret_ref: SecretKeyRef | None = Field(default=None, description="Credentials Secret.")

    @field_validator("repository")
    @classmethod
    def _repository_form(cls, value: str) -> str:
        if not re.match(GIT_REPOSITORY_PATTERN, value):
            raise ValueError(f"spec.output.git.repository {GIT_REPOSITORY_FORM}")
        return value


class OutputSpec(WireModel):
    """Where the result goes."""

    path: str | None = Field(
        default=None, description="Local folder (mge run); default ./out/NAME."
    )
    git: GitOutput | None = Field(default=None, description="Optional git destination.")


class ProjectSpec(WireModel):
    """Everything a user states about a project."""

    requirements: str | None = Field(
        default=None,
        description="Requirements, inline (not blank). Exactly one of requirements or "
        "requirementsFrom is required.",
    )
    requirements_from: ConfigMapKeyRef | None = Field(
        default=None,
        description="Requirements from a ConfigMap key (cluster only). Exactly one of "
        "requirements or requirementsFrom is required.",
    )
    hints: Hints = Field(default_factory=Hints)
    discovery: DiscoverySpec = Field(default_factory=DiscoverySpec)
    llm: LLMSpec = Field(default_factory=LLMSpec)
    budget: BudgetSpec = Field(default_factory=BudgetSpec)
    execution: ExecutionSpec = Field(default_factory=ExecutionSpec)
    review: ReviewSpec = Field(default_factory=ReviewSpec)
    validation: ValidationSpec = Field(default_factory=ValidationSpec)
    output: OutputSpec = Field(default_factory=OutputSpec)

    @field_validator("requirements")
    @classmethod
    def _requirements_not_blank(cls, value: str | None) -> str | None:
        if value is not None and not re.search(REQUIREMENTS_PATTERN, value):
            raise ValueError(
                "spec.requirements is empty: write the requirements as text, "
                "or point spec.requirementsFrom at a ConfigMap key"
            )
        return value

    @model_validator(mode="after")
    def _one_requirements_source(self) -> ProjectSpec:
        if (self.requirements is None) == (self.requirements_from is None):
            raise ValueError(
                "set exactly one of spec.requirements (inline text) "
                "or spec.requirementsFrom (a ConfigMap key)"
            )
        return self


# ---------------------------------------------------------------------------- status


# The shape of a condition is here because ``status`` embeds it and the CRD schema is generated
# from it; how conditions are computed and merged is in mge.kube.conditions. (Class docstrings
# become CRD descriptions, so the why is in comments.)
class Condition(BaseModel):
    """One entry of ``status.conditions`` (metav1.Condition shape)."""

    type: str
    status: Literal["True", "False", "Unknown"]
    reason: str = Field(pattern=r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$")
    message: str = ""
    observedGeneration: int = 0
    lastTransitionTime: str = ""


class Progress(WireModel):
    """Counts a person watches: atoms and levels."""

    atoms_total: int = 0
    atoms_done: int = 0
    atoms_failed: int = 0
    atoms_in_review: int = 0
    level: int = 0
    levels: int = 0
    percent: int = Field(default=0, ge=0, le=100)


class Cost(WireModel):
    """Money and tokens spent so far: sums over the same rows of the store's cost ledger."""

    usd: str = Field(default="0.00", description="Spent, USD, as text for the printer column.")
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0


class DiscoveryStatus(WireModel):
    """Open clarifying questions (interactive projects) — answer via spec.discovery.answers."""

    questions: list[Question] = Field(default_factory=list)


class OutputStatus(WireModel):
    """Where the result is (never any credential)."""

    git_commit: str | None = Field(default=None, description="Commit on the branch (pushed).")
    branch: str | None = None
    store_key: str | None = None
    repository: str | None = Field(default=None, description="spec.output.git.repository.")
    pushed_generation: int | None = Field(
        default=None, description="The generation whose codebase gitCommit holds."
    )
    push_failures: int | None = Field(default=None, description="Failed pushes in a row.")
    push_error: str | None = Field(default=None, description="The last push failure.")
    last_push_at: str | None = Field(default=None, description="Last push attempt (RFC 3339).")


# ``phase`` holds a Phase value as plain text, so the CRD schema stays a plain string.
class ReadinessStatus(WireModel):
    """L4 production readiness as counts (the findings are in the output's readiness.md)."""

    ready: bool = Field(description="No check in block mode fails.")
    checks: int = Field(default=0, description="Checks that ran.")
    failing: int = Field(default=0, description="Checks that fail (blocking or not).")
    blocking: int = Field(default=0, description="Failing checks in block mode.")
    findings: int = Field(default=0, description="Findings over every check.")
    retried: int = Field(default=0, description="Atoms regenerated for a blocking finding.")


class PerformanceStatus(WireModel):
    """L3 performance as counts (the figures are in the output's performance.md)."""

    met: bool = Field(description="Every benchmarked criterion is within its budget.")
    criteria: int = Field(default=0, description="Criteria benchmarked.")
    missed: int = Field(default=0, description="Criteria over budget (or without a verdict).")
    unmeasured: int = Field(
        default=0, description="Speed requirements without a number or size (questions)."
    )
    retried: int = Field(default=0, description="Atoms regenerated for a missed budget.")


class ProjectStatus(WireModel):
    """What the operator reports; summaries only, the atoms live in the store."""

    model_config = WireModel.model_config | {"extra": "ignore"}

    phase: str = "Pending"
    observed_generation: int = 0
    conditions: list[Condition] = Field(default_factory=list)
    progress: Progress = Field(default_factory=Progress)
    cost: Cost = Field(default_factory=Cost)
    discovery: DiscoveryStatus | None = None
    output: OutputStatus | None = None
    readiness: ReadinessStatus | None = None
    performance: PerformanceStatus | None = None
    message: str = ""


# ---------------------------------------------------------------------------- manifest


class ObjectMeta(WireModel):
    """The parts of Kubernetes metadata a manifest file carries."""

    model_config = WireModel.model_config | {"extra": "ignore"}

    name: str = Field(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length=63)
    namespace: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)


class ProjectManifest(WireModel):
    """A Project as a file: the custom resource a user would apply."""

    api_version: Literal["mge.dev/v1alpha1"] = Field(alias="apiVersion")
    kind: Literal["Project"]
    metadata: ObjectMeta
    spec: ProjectSpec


def performance_status(report: PerformanceReport) -> PerformanceStatus:
    """The counts of a performance report for ``status.performance`` (pure)."""
    return PerformanceStatus(
        met=report.met,
        criteria=len(report.results),
        missed=len(report.missed),
        unmeasured=len(report.questions),
        retried=len(report.retried),
    )


def readiness_status(report: ReadinessReport) -> ReadinessStatus:
    """The counts of a readiness report for ``status.readiness`` (pure)."""
    return ReadinessStatus(
        ready=report.ready,
        checks=len(report.checks),
        failing=sum(not c.passed for c in report.checks),
        blocking=len(report.blocking_failures),
        findings=report.findings,
        retried=len(report.retried),
    )
