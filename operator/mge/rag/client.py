"""The Chroma client: embedded on disk by default, a Chroma server when ``chroma_url`` is set.

Chroma's client is synchronous; the async API in retriever.py calls it through
``asyncio.to_thread``. Telemetry is switched off: MGE runs offline and sends nothing anywhere.
"""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import urlsplit

import chromadb
import httpx
from chromadb.api import ClientAPI
from chromadb.config import Settings as ChromaSettings

from mge.config import Settings
from mge.errors import ConfigError, RetrievalUnavailable

__all__ = ["CHROMA_SUBDIR", "make_client", "parse_chroma_url"]

log = logging.getLogger(__name__)

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


def _probe(url: str, limit: float) -> None:
    """Ask the server's heartbeat with a time limit: Chroma's client would wait forever."""
    try:
        httpx.get(f"{url.rstrip('/')}/api/v2/heartbeat", timeout=limit).raise_for_status()
    except httpx.TimeoutException as e:
        raise RetrievalUnavailable(
            f"chroma_url: Chroma at {url} did not answer within {limit:g} s "
            "(retrieval_timeout_seconds)"
        ) from e
    except httpx.HTTPError as e:
        raise RetrievalUnavailable(f"chroma_url: cannot reach Chroma at {url}: {e}") from e


def _limit_requests(client: ClientAPI, limit: float) -> None:
    """Put a time limit on every later request of ``client``.

    Chroma's HTTP client is built with ``httpx.Client(timeout=None)`` and offers no setting for
    it; a server that accepts connections and stops answering would hold a worker thread, and
    the Project, for good. The session sits at ``client._server._session`` (chromadb 1.5); if a
    later chromadb moves it, the limit is missing (logged) and only the heartbeat probe and
    :class:`~mge.pipeline.collaborators.PatternIndex`'s own time limit remain.
    """
    session = getattr(getattr(client, "_server", None), "_session", None)
    if isinstance(session, httpx.Client):
        session.timeout = httpx.Timeout(limit)
    else:
        log.warning("chroma client: no HTTP session found to put a %g s time limit on", limit)


def make_client(settings: Settings) -> ClientAPI:
    """A Chroma client for ``settings`` (blocking: opens files or connects).

    ``PersistentClient`` under ``workdir/chroma`` unless ``chroma_url`` names a server, then
    ``HttpClient`` (which checks the server answers).
    """
    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_url:
        host, port, ssl = parse_chroma_url(settings.chroma_url)
        limit = settings.retrieval_timeout_seconds
        _probe(settings.chroma_url, limit)
        try:
            client = chromadb.HttpClient(host=host, port=port, ssl=ssl, settings=chroma_settings)
            _limit_requests(client, limit)
            return client
        except Exception as e:  # chromadb raises plain ValueError/ConnectionError here
            raise RetrievalUnavailable(
                f"chroma_url: cannot reach Chroma at {settings.chroma_url}: {e}"
            ) from e
    path = Path(settings.workdir) / CHROMA_SUBDIR
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
