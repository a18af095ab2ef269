"""The Chroma client: embedded on disk by default, a Chroma server when ``chroma_url`` is set.

Chroma's client is synchronous; the async API in retriever.py calls it through
``asyncio.to_thread``. Telemetry is switched off: MGE runs offline and sends nothing anywhere.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import chromadb
from chromadb.api import ClientAPI
from chromadb.config import Settings as ChromaSettings

from mge.config import Settings
from mge.errors import ConfigError, RetrievalUnavailable

__all__ = ["CHROMA_SUBDIR", "make_client", "parse_chroma_url"]

#: Folder under ``Settings.workdir`` that holds the embedded Chroma database.
CHROMA_SUBDIR = "chroma"
_DEFAULT_PORTS = {"http": 8000, "https": 443}


def parse_chroma_url(url: str) -> tuple[str, int, bool]:
    """Host, port and whether to use TLS, from ``http(s)://host[:port]``."""
    parts = urlsplit(url)
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise ConfigError(f"chroma_url: expected http(s)://host[:port], got {url!r}")
    if parts.path not in ("", "/"):
        raise ConfigError(f"chroma_url: a path is not supported, got {url!r}")
    try:
        port = parts.port or _DEFAULT_PORTS[parts.scheme]
    except ValueError as e:
        raise ConfigError(f"chroma_url: bad port in {url!r}") from e
    return parts.hostname, port, parts.scheme == "https"


def make_client(settings: Settings) -> ClientAPI:
    """A Chroma client for ``settings`` (blocking: opens files or connects).

    ``PersistentClient`` under ``workdir/chroma`` unless ``chroma_url`` names a server, then
    ``HttpClient`` (which checks the server answers).
    """
    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_url:
        host, port, ssl = parse_chroma_url(settings.chroma_url)
        try:
            return chromadb.HttpClient(host=host, port=port, ssl=ssl, settings=chroma_settings)
        except Exception as e:  # chromadb raises plain ValueError/ConnectionError here
            raise RetrievalUnavailable(
                f"chroma_url: cannot reach Chroma at {settings.chroma_url}: {e}"
            ) from e
    path = Path(settings.workdir) / CHROMA_SUBDIR
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
