"""Settings: one typed object for the CLI and the operator, read once at start-up.

Precedence (highest first): CLI flags, environment variables ``MGE_*``, a YAML config file
(``--config FILE`` or ``MGE_CONFIG``), the defaults below. A bad value fails at start-up with the
field name, the environment variable that sets it, what was given and the accepted range (see
:func:`load_settings`).

What only the operator reads is the section :class:`OperatorSettings` (``settings.operator``;
``operator:`` in the YAML file). Its environment variables keep the flat names the Helm chart
and docs/operator.md use (``MGE_RECONCILE_INTERVAL``, …; see :data:`OPERATOR_ENV`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from mge.errors import ConfigError

DEFAULT_WORKDIR = Path(".mge")
RECONCILE_INTERVAL_SECONDS = 30.0
"""Timer period of the operator's level-triggered reconcile (seconds)."""
JOB_POLL_MAX_SECONDS = 5.0
"""Longest wait between two looks at a running sandbox Job (seconds; polling backs off to it)."""
ENV_PREFIX = "MGE_"
LEASE_NAME = "mge-operator"
"""Name of the coordination.k8s.io Lease the operator replicas elect their leader with."""
LEASE_DURATION_SECONDS = 15.0
"""How long a Lease holds without renewal before a standby may take it (seconds)."""
LEASE_RENEW_SECONDS = 5.0
"""Period of the leader's renewals of the Lease (seconds)."""

_NAMESPACE_NAME = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")

RETRIEVAL_TIMEOUT_SECONDS = 120.0
"""Longest a retrieval call (search, learn, or the first call's library index) may take."""

OPERATOR_ENV: dict[str, str] = {
    "namespace": "MGE_OPERATOR_NAMESPACE",
    "recordings_root": "MGE_RECORDINGS_ROOT",
    "reconcile_interval_seconds": "MGE_RECONCILE_INTERVAL",
    "job_poll_max_seconds": "MGE_JOB_POLL_MAX_SECONDS",
    "metrics_port": "MGE_METRICS_PORT",
    "kubeconfig": "KUBECONFIG",
    "leader_election": "MGE_LEADER_ELECTION",
    "lease_name": "MGE_LEASE_NAME",
    "lease_duration_seconds": "MGE_LEASE_DURATION",
    "lease_renew_seconds": "MGE_LEASE_RENEW",
    "share_learned": "MGE_SHARE_LEARNED",
}
"""Field of the operator section → the environment variable that sets it. Flat names, not
``MGE_OPERATOR__*``: the Helm chart, the docs and the benchmarks set these, and ``KUBECONFIG``
is the name every Kubernetes tool reads."""


class OperatorSettings(BaseModel):
    """The operator's section of :class:`Settings`: what ``mge operator run`` needs to know
    besides the Projects themselves. The CLI never reads it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    namespace: str | None = Field(
        default=None,
        description="The operator's own namespace (the chart sets it from the pod). Informational: "
        "the namespaces watched are given to `mge operator run`.",
    )
    recordings_root: Path | None = Field(
        default=None,
        description="Base folder of scripted-provider recordings. A cluster has no manifest path, "
        "so spec.llm.recordings is relative to it and may not leave it.",
    )
    reconcile_interval_seconds: float = Field(
        default=RECONCILE_INTERVAL_SECONDS,
        gt=0,
        le=3600,
        description="Seconds between timer-driven reconciles: how fast a running worker's progress "
        "counts reach status (phase changes are pushed at once).",
    )
    job_poll_max_seconds: float = Field(
        default=JOB_POLL_MAX_SECONDS,
        gt=0,
        le=600,
        description="Seconds, at most, a running sandbox Job is watched before it is read again "
        "(the watch sees it finish at once; this bounds a lost event, a stuck pod, the "
        "deadline); lower asks the API server more.",
    )
    metrics_port: int = Field(
        default=0,
        description="Port of /metrics (and the chart's probes); 0 serves none (chart: 9090).",
    )
    kubeconfig: Path | None = Field(
        default=None,
        description="kubeconfig file for the API client; unset: the in-cluster ServiceAccount.",
    )
    leader_election: bool = Field(
        default=True,
        description="Elect one active replica with a coordination.k8s.io Lease (active/standby: "
        "replicas never run two workers per Project). Off: exactly one operator may run.",
    )
    lease_name: str = Field(
        default=LEASE_NAME,
        min_length=1,
        max_length=253,
        pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$",
        description="Name of the Lease in the operator's namespace (operator.namespace, else the "
        "ServiceAccount's, else default); only the replica holding it handles Projects.",
    )
    lease_duration_seconds: float = Field(
        default=LEASE_DURATION_SECONDS,
        ge=2,
        le=300,
        description="Seconds a Lease holds without renewal: a standby takes over this long after "
        "the leader stopped renewing (killed); a leader that could not renew for "
        "lease_duration_seconds - lease_renew_seconds stops its workers and exits first.",
    )
    lease_renew_seconds: float = Field(
        default=LEASE_RENEW_SECONDS,
        gt=0,
        le=100,
        description="Seconds between the leader's renewals (a standby looks every second, or this "
        "often if less); at most half of lease_duration_seconds, so a failed renewal is retried.",
    )

    share_learned: Literal["all"] | list[str] = Field(
        default_factory=list,
        description="Namespaces whose learned code every Project may retrieve besides its own "
        "namespace's, or 'all' (every namespace's). Default: none — a Project sees only code "
        "learned in its own namespace. Environment: comma-separated names, or all.",
    )

    @field_validator("share_learned", mode="before")
    @classmethod
    def _share_list(cls, value: object) -> object:
        """``MGE_SHARE_LEARNED=team-a,team-b`` (or ``all``) from the environment."""
        if isinstance(value, str):
            text = value.strip()
            if text == "all":
                return "all"
            return [n.strip() for n in text.split(",") if n.strip()]
        return value

    @field_validator("share_learned")
    @classmethod
    def _namespace_names(cls, value: object) -> object:
        """Each shared namespace must be a Kubernetes namespace name (a typo shares nothing)."""
        if isinstance(value, list):
            bad = [n for n in value if not _NAMESPACE_NAME.fullmatch(n)]
            if bad:
                raise ValueError(
                    f"not namespace names: {bad}; give DNS labels (e.g. team-a) or 'all'"
                )
        return value

    @model_validator(mode="after")
    def _lease_timing(self) -> OperatorSettings:
        """Renewals must fit twice into the Lease, or a single slow renewal loses it."""
        if self.lease_renew_seconds * 2 > self.lease_duration_seconds:
            raise ValueError(
                "lease_renew_seconds must be at most half of lease_duration_seconds "
                f"(got {self.lease_renew_seconds:g} and {self.lease_duration_seconds:g})"
            )
        return self

    @field_validator("metrics_port")
    @classmethod
    def _port(cls, value: int) -> int:
        """0 or a TCP port, with the range in the message (a typo should not bind elsewhere)."""
        if not 0 <= value < 65536:
            raise ValueError("must be 0 (off) or a port number 1..65535")
        return value

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> OperatorSettings:
        """The section from ``env`` alone (flat names of :data:`OPERATOR_ENV`), with the same
        ConfigError as :func:`load_settings` — for callers that are handed an environment."""
        try:
            return cls.model_validate(_operator_env(env))
        except ValidationError as e:
            raise ConfigError(
                "invalid settings:\n" + describe_error(e, "operator.", env_hints=True)
            ) from e

    def recordings_for(self, relative: str) -> Path:
        """The recordings folder for a Project, which must stay under ``recordings_root``."""
        if self.recordings_root is None:
            raise ConfigError("spec.llm.recordings needs MGE_RECORDINGS_ROOT set on the operator")
        root = self.recordings_root.resolve()
        path = (root / relative).resolve()
        if path != root and root not in path.parents:
            raise ConfigError(f"spec.llm.recordings {relative!r} leaves MGE_RECORDINGS_ROOT")
        return path


def _operator_env(env: Mapping[str, str]) -> dict[str, str]:
    """The operator section's values present in ``env`` (empty strings count as unset, as a
    chart's ``value: ""`` means)."""
    return {f: env[name] for f, name in OPERATOR_ENV.items() if env.get(name, "").strip()}


class _OperatorEnvSource(PydanticBaseSettingsSource):
    """Reads the operator section from its flat environment names (see :data:`OPERATOR_ENV`)."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # everything is done in __call__

    def __call__(self) -> dict[str, Any]:
        section = _operator_env(os.environ)
        return {"operator": section} if section else {}


class Settings(BaseSettings):
    """Process-wide settings for the CLI and the operator. Project-specific choices live in the
    Project spec instead."""

    model_config = SettingsConfigDict(env_prefix="MGE_", extra="forbid", validate_default=True)

    workdir: Path = Field(
        default=DEFAULT_WORKDIR,
        description="Folder for local state: the SQLite store, the Chroma index, sandbox scratch.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy async URL, e.g. postgresql+asyncpg://u@h/db. "
        "Default: sqlite+aiosqlite under workdir.",
    )
    chroma_url: str | None = Field(
        default=None, description="Chroma server URL (HttpClient). Default: embedded under workdir."
    )
    retrieval_timeout_seconds: float = Field(
        default=RETRIEVAL_TIMEOUT_SECONDS,
        gt=0,
        le=3600,
        description="Seconds one retrieval call may take (the first also indexes the pattern "
        "library: 10–20 s cold on 2 cores) before the run goes on without patterns or examples; "
        "Chroma's HTTP client itself never times out, so a server that stops answering would "
        "otherwise hold a Project forever.",
    )
    embedder: Literal["minilm-int8", "chroma-default"] = Field(
        default="minilm-int8",
        description="minilm-int8 works offline; chroma-default downloads a model on first use.",
    )
    llm_concurrency: int = Field(
        default=100, ge=1, le=1000, description="LLM calls in flight at once, across the process."
    )
    llm_requests_per_minute: int = Field(
        default=1000, ge=1, le=100_000, description="Rate limit on LLM requests, per minute."
    )
    llm_timeout_seconds: float = Field(
        default=120.0, gt=0, le=3600, description="Timeout of one LLM request, seconds."
    )
    llm_max_retries: int = Field(
        default=4,
        ge=0,
        le=10,
        description="Retries on 429/529/5xx/timeouts (backoff honours retry-after).",
    )
    llamacpp_max_output_tokens: int | None = Field(
        default=None,
        ge=16,
        le=32_768,
        description=(
            "Cap on every answer of the in-process llamacpp provider, tokens (default: what "
            "each request asks). A tiny model rambles to the limit; CI caps it to stay quick."
        ),
    )
    anthropic_api_key_file: Path | None = Field(
        default=None, description="File holding the Anthropic API key (else ANTHROPIC_API_KEY)."
    )
    sandbox: Literal["auto", "bwrap", "unshare", "unsandboxed"] = Field(
        default="auto",
        description="Local sandbox: auto picks bwrap, then unshare; 'unsandboxed' runs generated "
        "code with limits but WITHOUT isolation and must be chosen explicitly.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="Log verbosity."
    )
    log_format: Literal["text", "json"] = Field(default="text", description="Log line format.")
    operator: OperatorSettings = Field(
        default_factory=OperatorSettings,
        description="What only the operator reads (flat MGE_* names, see OPERATOR_ENV).",
    )

    @field_validator("workdir")
    @classmethod
    def _absolute_workdir(cls, value: Path) -> Path:
        """Absolute, so paths made from it stay valid whatever folder a subprocess runs in."""
        return value.expanduser().resolve()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # init = CLI flags (passed as keyword arguments), then env, then the file (also passed in
        # init via load_settings, but below env — see there). The operator section's flat names
        # are merged into ``operator`` below the other sources' values for it.
        return (init_settings, env_settings, _OperatorEnvSource(settings_cls))

    def resolved_database_url(self) -> str:
        """The database URL, defaulting to SQLite in workdir."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.workdir / 'mge.db').resolve()}"


def _read_file(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError as e:
        raise ConfigError(f"config file {path} does not exist") from e
    except yaml.YAMLError as e:
        raise ConfigError(f"config file {path} is not valid YAML: {e}") from e
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping of setting: value")
    return {str(k).replace("-", "_"): v for k, v in data.items()}


def describe_error(err: ValidationError, prefix: str = "", *, env_hints: bool = False) -> str:
    """Turn a pydantic error into lines that name each field, what was given and what's accepted
    (and, with ``env_hints``, the environment variable of each settings field)."""
    lines = []
    for e in err.errors():
        field = prefix + ".".join(str(p) for p in e["loc"])
        given = e.get("input")
        shown = "" if isinstance(given, dict) else f" (got {given!r})"
        hint = _env_hint(field) if env_hints else ""
        lines.append(f"{field}{hint}: {e['msg']}{shown}")
    return "\n".join(lines)


def _env_hint(field: str) -> str:
    """`` (MGE_X)`` for a settings field, so the message says what to change wherever the value
    came from."""
    section, _, name = field.partition(".")
    if section == "operator" and name in OPERATOR_ENV:
        return f" ({OPERATOR_ENV[name]})"
    if not name and section in Settings.model_fields and section != "operator":
        return f" ({ENV_PREFIX}{section.upper()})"
    return ""


def _without_env_set(file_values: dict[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    """The file's values minus those the environment sets (env ranks above the file, but both
    reach the model through init, which ranks first)."""
    env_keys = {k[len(ENV_PREFIX) :].lower() for k in env if k.startswith(ENV_PREFIX)}
    kept = {k: v for k, v in file_values.items() if k not in env_keys}
    section = kept.get("operator")
    if isinstance(section, dict):
        set_by_env = _operator_env(env)
        kept["operator"] = {
            str(k).replace("-", "_"): v
            for k, v in section.items()
            if str(k).replace("-", "_") not in set_by_env
        }
    return kept


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build the settings: flags > MGE_* env > config file > defaults, the operator section
    (``operator=`` a mapping of its fields) field by field too.

    Raises ConfigError naming every bad field and the variable that sets it.
    """
    path = config_file or (Path(os.environ["MGE_CONFIG"]) if os.environ.get("MGE_CONFIG") else None)
    merged = _without_env_set(_read_file(path) if path else {}, os.environ)
    for key, value in overrides.items():
        if value is None:
            continue
        if key == "operator" and isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **{k: v for k, v in value.items() if v is not None}}
        else:
            merged[key] = value
    try:
        return Settings(**merged)
    except ValidationError as e:
        raise ConfigError("invalid settings:\n" + describe_error(e, env_hints=True)) from e
