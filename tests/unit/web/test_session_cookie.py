"""Sealed login sessions (pure): what any replica with the key opens, and what nobody else can."""

from __future__ import annotations

import base64

import pytest
from pydantic import SecretStr

from mge.errors import ConfigError
from mge.web.session_cookie import (
    MAX_COOKIE_CHARS,
    SessionClaims,
    SessionKeys,
    open_session,
    parse_session_keys,
    seal_session,
)

KEY_A = "a" * 20 + "first-secret-of-the-chart-0123456789"
KEY_B = "b" * 20 + "second-secret-of-the-chart-987654321"
TOKEN = "eyJhbGciOiJSUzI1NiJ9.payload-of-a-service-account-token.signature"
CLAIMS = SessionClaims(SecretStr(TOKEN), "system:serviceaccount:team-a:reviewer", "csrf-1")
NOW = 1_800_000_000
LIFE = 8 * 3600


def keys(*secrets: str) -> SessionKeys:
    return parse_session_keys("\n".join(secrets), "test")


def test_a_sealed_session_opens_with_the_same_key_on_another_server() -> None:
    sealed = seal_session(keys(KEY_A), CLAIMS, NOW)
    opened = open_session(keys(KEY_A), sealed, NOW + 60, LIFE)  # a second SessionKeys object
    assert opened is not None
    assert opened.token.get_secret_value() == TOKEN
    assert (opened.user, opened.csrf) == (CLAIMS.user, CLAIMS.csrf)


def test_the_token_is_not_readable_in_the_cookie() -> None:
    sealed = seal_session(keys(KEY_A), CLAIMS, NOW)
    raw = base64.urlsafe_b64decode(sealed)
    assert TOKEN not in sealed and TOKEN.encode() not in raw
    assert b"serviceaccount" not in raw and b"csrf-1" not in raw
    assert sealed != seal_session(keys(KEY_A), CLAIMS, NOW)  # a fresh IV each time
    assert ";" not in sealed and " " not in sealed and "," not in sealed  # a cookie value


def test_expiry_is_the_session_lifetime() -> None:
    sealed = seal_session(keys(KEY_A), CLAIMS, NOW)
    assert open_session(keys(KEY_A), sealed, NOW + LIFE - 1, LIFE) is not None
    assert open_session(keys(KEY_A), sealed, NOW + LIFE + 1, LIFE) is None
    assert open_session(keys(KEY_A), sealed, NOW + 3600, 600) is None  # a shorter life now
    assert open_session(keys(KEY_A), sealed, NOW - 3600, LIFE) is None  # sealed "in the future"


def test_a_tampered_or_foreign_cookie_opens_to_nothing() -> None:
    sealed = seal_session(keys(KEY_A), CLAIMS, NOW)
    raw = bytearray(base64.urlsafe_b64decode(sealed))
    for position in (0, 9, 30, len(raw) // 2, len(raw) - 1):  # version, IV, body, MAC
        flipped = bytearray(raw)
        flipped[position] ^= 0x01
        forged = base64.urlsafe_b64encode(bytes(flipped)).decode()
        assert open_session(keys(KEY_A), forged, NOW, LIFE) is None
    assert open_session(keys(KEY_B), sealed, NOW, LIFE) is None  # another installation's key
    for junk in (None, "", "not-a-cookie", "x" * (MAX_COOKIE_CHARS + 1), sealed[:-4]):
        assert open_session(keys(KEY_A), junk, NOW, LIFE) is None


def test_a_sealed_payload_that_is_not_ours_opens_to_nothing() -> None:
    from cryptography.fernet import Fernet

    sealer = keys(KEY_A).sealers[0]
    for payload in (b"[1, 2]", b'{"v": 2, "t": "x", "u": "u", "c": "c"}', b'{"v": 1}', b"\xff"):
        assert isinstance(sealer, Fernet)
        value = sealer.encrypt_at_time(payload, NOW).decode()
        assert open_session(keys(KEY_A), value, NOW, LIFE) is None


def test_rotation_the_first_key_seals_every_key_opens() -> None:
    old = seal_session(keys(KEY_A), CLAIMS, NOW)
    rotated = keys(KEY_B, KEY_A)  # the new key first, the old one kept for a while
    assert open_session(rotated, old, NOW, LIFE) is not None
    new = seal_session(rotated, CLAIMS, NOW)
    assert open_session(keys(KEY_B), new, NOW, LIFE) is not None
    assert open_session(keys(KEY_A), new, NOW, LIFE) is None  # sealed with the new key
    assert open_session(keys(KEY_B), old, NOW, LIFE) is None  # the old key dropped: logged out
    assert rotated.csrf_key == keys(KEY_B).csrf_key != keys(KEY_A).csrf_key


def test_the_key_file_is_checked_with_a_clear_message() -> None:
    parsed = parse_session_keys(f"# the chart's key\n\n  {KEY_A}  \n", "/keys/session-keys")
    assert len(parsed.sealers) == 1 and not parsed.generated
    with pytest.raises(ConfigError, match=r"/keys/session-keys: no key in it"):
        parse_session_keys("# nothing\n\n", "/keys/session-keys")
    with pytest.raises(ConfigError, match=r"key 2 has 5 characters, at least 32"):
        parse_session_keys(f"{KEY_A}\nshort\n", "/keys/session-keys")


def test_a_generated_key_is_marked_and_unique() -> None:
    one, two = SessionKeys.generate(), SessionKeys.generate()
    assert one.generated and two.generated
    assert open_session(two, seal_session(one, CLAIMS, NOW), NOW, LIFE) is None
