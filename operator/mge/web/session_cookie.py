"""Login sessions of the cluster review server that survive restarts and span replicas.

A person who pastes a token on the login page gets a session cookie holding that token
**sealed**: encrypted and authenticated (Fernet from ``cryptography``: AES-128-CBC with
HMAC-SHA256, a timestamp inside) under a key every replica shares (the chart mounts it from a
Secret). Any replica, or the same one after a restart, opens the cookie and acts with the token;
nobody without the key can read it, and a cookie changed by one bit, sealed under another key or
older than the session's life opens to nothing (the page then asks to log in). The cookie is
``HttpOnly`` (no script reads it), ``SameSite=Strict``, ``Secure`` behind TLS, with a
``Max-Age``: a session cookie, not storage a page can read.

Keys: a key file holds one secret per line (at least :data:`MIN_SECRET_CHARS` characters,
e.g. ``openssl rand -base64 48``); the first seals, every one opens, so a new key is rotated in
by putting it first and dropping the old one after :data:`~mge.web.cluster_auth.SESSION_SECONDS`.
Each secret is stretched into separate keys per purpose (HKDF-SHA256): one seals cookies, one
derives the CSRF tokens of proxy-header logins.

Everything here is pure but for :func:`load_session_keys` (reads the file) and
:meth:`SessionKeys.generate` (random); the clock is an argument.
"""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import SecretStr

from mge.errors import ConfigError

__all__ = [
    "MAX_COOKIE_CHARS",
    "MIN_SECRET_CHARS",
    "SessionClaims",
    "SessionKeys",
    "load_session_keys",
    "open_session",
    "parse_session_keys",
    "seal_session",
]

MIN_SECRET_CHARS = 32
"""Shortest secret accepted in a key file (characters)."""
MAX_COOKIE_CHARS = 3900
"""Longest sealed cookie value sent (browsers keep cookies up to 4,096 bytes with the name)."""
CLAIMS_VERSION = 1
_SEAL_INFO = b"mge review session cookie v1"
_CSRF_INFO = b"mge review proxy csrf v1"


def _derive(secret: str, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(secret.encode())


@dataclass(frozen=True)
class SessionKeys:
    """The keys of one server: the first seals, all open (rotation)."""

    sealers: tuple[Fernet, ...]
    csrf_key: bytes
    """Key of the derived CSRF tokens of proxy-header logins (from the first secret)."""
    generated: bool = False
    """Made at start (no key file): sessions end with the process and span no replicas."""

    @classmethod
    def from_secrets(cls, secrets_: list[str], generated: bool = False) -> SessionKeys:
        """Keys from secrets, the sealing one first (each already checked by the caller)."""
        if not secrets_:
            raise ConfigError("no session key: the key file must hold at least one line")
        sealers = tuple(Fernet(base64.urlsafe_b64encode(_derive(s, _SEAL_INFO))) for s in secrets_)
        return cls(sealers, _derive(secrets_[0], _CSRF_INFO), generated)

    @classmethod
    def generate(cls) -> SessionKeys:
        """A random key for this process only."""
        return cls.from_secrets([secrets.token_urlsafe(48)], generated=True)


@dataclass(frozen=True)
class SessionClaims:
    """What a login-form session cookie carries: the token, who it is, the CSRF token."""

    token: SecretStr
    user: str
    csrf: str


def seal_session(keys: SessionKeys, claims: SessionClaims, now: int) -> str:
    """The cookie value for ``claims``, sealed at time ``now`` (Unix seconds)."""
    payload = json.dumps(
        {
            "v": CLAIMS_VERSION,
            "t": claims.token.get_secret_value(),
            "u": claims.user,
            "c": claims.csrf,
        },
        separators=(",", ":"),
    ).encode()
    return keys.sealers[0].encrypt_at_time(payload, now).decode("ascii")


def open_session(
    keys: SessionKeys, value: str | None, now: int, lifetime: int
) -> SessionClaims | None:
    """The claims of a cookie value, or None when it is missing, was sealed under none of
    ``keys``, was changed, is older than ``lifetime`` seconds at ``now``, or is not ours."""
    if not value or len(value) > MAX_COOKIE_CHARS:
        return None
    try:
        payload = MultiFernet(list(keys.sealers)).decrypt_at_time(value.encode(), lifetime, now)
        data = json.loads(payload)
    except (InvalidToken, ValueError, UnicodeError):
        return None
    if not isinstance(data, dict) or data.get("v") != CLAIMS_VERSION:
        return None
    token, user, csrf = data.get("t"), data.get("u"), data.get("c")
    if not (isinstance(token, str) and token and isinstance(user, str) and isinstance(csrf, str)):
        return None
    return SessionClaims(SecretStr(token), user, csrf)


def parse_session_keys(text: str, source: str) -> SessionKeys:
    """Keys from a key file's text: one secret per line, the sealing one first; blank lines
    and ``#`` comments ignored. ``source`` names the file in errors."""
    lines = [line.strip() for line in text.splitlines()]
    found = [line for line in lines if line and not line.startswith("#")]
    if not found:
        raise ConfigError(
            f"session key file {source}: no key in it; put one secret of at least "
            f"{MIN_SECRET_CHARS} characters per line (e.g. `openssl rand -base64 48`)"
        )
    for number, secret in enumerate(found, 1):
        if len(secret) < MIN_SECRET_CHARS:
            raise ConfigError(
                f"session key file {source}: key {number} has {len(secret)} characters, "
                f"at least {MIN_SECRET_CHARS} are needed (e.g. `openssl rand -base64 48`)"
            )
    return SessionKeys.from_secrets(found)


def load_session_keys(path: Path) -> SessionKeys:
    """Keys from the file at ``path`` (the chart mounts it from a Secret)."""
    try:
        text = path.read_text()
    except OSError as e:
        raise ConfigError(f"--session-key-file {path}: cannot read it ({e.strerror})") from e
    return parse_session_keys(text, str(path))
