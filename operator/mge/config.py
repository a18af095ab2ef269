"""Settings: one typed object, read once at start-up.

Precedence (highest first): CLI flags, environment variables ``MGE_*``, a YAML config file
(``--config FILE`` or ``MGE_CONFIG``), the defaults below. A bad value fails at start-up with the
field name and the accepted range (see :func:`load_settings`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from mge.errors import ConfigError

DEFAULT_WORKDIR = Path(".mge")


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
        # init via load_settings, but below env — see there).
        return (init_settings, env_settings)

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


def describe_error(err: ValidationError, prefix: str = "") -> str:
    """Turn a pydantic error into lines that name each field, what was given and what's accepted."""
    lines = []
    for e in err.errors():
        field = prefix + ".".join(str(p) for p in e["loc"])
        given = e.get("input")
        shown = "" if isinstance(given, dict) else f" (got {given!r})"
        lines.append(f"{field}: {e['msg']}{shown}")
    return "\n".join(lines)


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build the settings: flags > MGE_* env > config file > defaults.

    Raises ConfigError naming every bad field.
    """
    path = config_file or (Path(os.environ["MGE_CONFIG"]) if os.environ.get("MGE_CONFIG") else None)
    file_values = _read_file(path) if path else {}
    env_keys = {k[4:].lower() for k in os.environ if k.startswith("MGE_")}
    merged = {k: v for k, v in file_values.items() if k not in env_keys}
    merged.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return Settings(**merged)
    except ValidationError as e:
        raise ConfigError("invalid settings:\n" + describe_error(e)) from e
