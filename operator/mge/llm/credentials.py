"""Where the API key comes from, and how it is kept out of logs, reprs and error messages.

The key lives in a :class:`pydantic.SecretStr` (its repr and str are ``'**********'``) from the
moment it is read until it is handed to the SDK client. Error text that could echo it (a server
message, a proxy's body) goes through :func:`redact` first.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import SecretStr

from mge.config import Settings
from mge.errors import ConfigError

__all__ = ["API_KEY_ENV", "REDACTED", "load_api_key", "redact"]

API_KEY_ENV = "ANTHROPIC_API_KEY"
"""The environment variable the key is read from when no key file is configured."""

REDACTED = "[redacted]"
"""What a secret is replaced with in text meant for people."""


def load_api_key(settings: Settings, env: Mapping[str, str] | None = None) -> SecretStr:
    """The Anthropic API key: from ``settings.anthropic_api_key_file`` if set, else the env.

    Raises ConfigError naming the file or variable (never the key) when none can be had.
    """
    environ = os.environ if env is None else env
    path = settings.anthropic_api_key_file
    if path is not None:
        return SecretStr(_read_key_file(Path(path)))
    value = environ.get(API_KEY_ENV, "").strip()
    if not value:
        raise ConfigError(
            f"the anthropic provider needs an API key: set {API_KEY_ENV}, or point "
            "anthropic_api_key_file (MGE_ANTHROPIC_API_KEY_FILE) at a file holding it"
        )
    return SecretStr(value)


def _read_key_file(path: Path) -> str:
    try:
        value = path.read_text(encoding="utf-8").strip()
    except OSError as e:
        raise ConfigError(
            f"anthropic_api_key_file: cannot read {path} ({e.strerror or type(e).__name__})"
        ) from None
    if not value:
        raise ConfigError(f"anthropic_api_key_file: {path} is empty")
    return value


def redact(text: str, secret: SecretStr) -> str:
    """``text`` with every occurrence of the secret replaced by ``[redacted]``."""
    value = secret.get_secret_value()
    return text.replace(value, REDACTED) if value else text
