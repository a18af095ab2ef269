"""Servers the operator talks to in the output and fault tests, each in a thread of the test.

- :class:`GitHttpServer`: real git over smart HTTP — ``git http-backend`` (CGI) behind a small
  WSGI app that demands HTTP basic auth and checks it against a Kubernetes Secret (read through
  the admin API on every request), so a test changes the accepted password with the API.
- :class:`FaultProxy`: a reverse proxy in front of the real API server that answers chosen
  requests with a fault the API server will not produce on demand (500, 503, 429, a 409
  Conflict on an update, a dropped connection) and forwards everything else untouched,
  streaming watches. The operator reaches it through a kubeconfig with its own token.
"""

from __future__ import annotations

import asyncio
import base64
import os
import re
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import yaml
from aiohttp import ClientError, ClientSession, ClientTimeout, TCPConnector, web

# ------------------------------------------------------------------ git over HTTP


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class GitHttpServer:
    """``http://127.0.0.1:PORT/<name>.git`` for the bare repositories under ``root``."""

    def __init__(self, root: Path, credentials: Callable[[], tuple[str, str]]) -> None:
        self.root = root
        self.credentials = credentials
        """Returns the (username, password) accepted now (the test reads a Secret)."""
        self.requests: list[tuple[str, str, int]] = []
        """(method, path, status) of every request."""
        self._server = make_server(
            "127.0.0.1",
            0,
            self._app,
            server_class=_ThreadingWSGIServer,
            handler_class=_QuietHandler,
        )
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def create_repository(self, name: str) -> Path:
        path = self.root / f"{name}.git"
        subprocess.run(["git", "init", "-q", "--bare", str(path)], check=True)
        return path

    def __enter__(self) -> GitHttpServer:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _app(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
        user, password = self.credentials()
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        if environ.get("HTTP_AUTHORIZATION") != f"Basic {token}":
            self.requests.append((method, path, 401))
            start_response("401 Unauthorized", [("WWW-Authenticate", 'Basic realm="git"')])
            return [b"authentication required\n"]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        cgi_env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GIT_PROJECT_ROOT": str(self.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "QUERY_STRING": environ.get("QUERY_STRING", ""),
            "CONTENT_TYPE": environ.get("CONTENT_TYPE", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_USER": user,
            "REMOTE_ADDR": "127.0.0.1",
            "GIT_PROTOCOL": environ.get("HTTP_GIT_PROTOCOL", ""),
            "HTTP_CONTENT_ENCODING": environ.get("HTTP_CONTENT_ENCODING", ""),
        }
        out = subprocess.run(
            ["git", "http-backend"], input=body, env=cgi_env, capture_output=True, timeout=60
        ).stdout
        head, _, payload = out.partition(b"\r\n\r\n")
        status = "200 OK"
        headers: list[tuple[str, str]] = []
        for line in head.decode("latin-1").split("\r\n"):
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = value.strip()
            elif name:
                headers.append((name.strip(), value.strip()))
        self.requests.append((method, path, int(status.split()[0])))
        start_response(status, headers)
        return [payload]


# ------------------------------------------------------------------ faults in front of the API


@dataclass
class Fault:
    """Answer ``times`` requests matching ``method`` and ``path`` (a regex) with ``status``
    (0: drop the connection without an answer)."""

    method: str
    path: str
    status: int
    times: int = 1
    headers: dict[str, str] = field(default_factory=dict)
    fired: int = 0

    def matches(self, method: str, path: str) -> bool:
        return (
            self.fired < self.times
            and method == self.method
            and re.search(self.path, path) is not None
        )


_HOP = {"content-length", "transfer-encoding", "connection", "content-encoding", "keep-alive"}


class FaultProxy:
    """HTTP on 127.0.0.1 → the API server's HTTPS, with :class:`Fault` s injected."""

    def __init__(self, upstream: str, ca_file: str, faults: list[Fault]) -> None:
        self.upstream = upstream.rstrip("/")
        self.ca_file = ca_file
        self.faults = faults
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def kubeconfig(self, source: Path, target: Path) -> Path:
        """``source`` (a ServiceAccount kubeconfig) pointed at this proxy, token kept."""
        doc = yaml.safe_load(source.read_text())
        for cluster in doc["clusters"]:
            cluster["cluster"] = {"server": self.url}
        target.write_text(yaml.safe_dump(doc))
        target.chmod(0o600)
        return target

    def fired(self) -> dict[str, int]:
        return {f"{f.method} {f.path} {f.status}": f.fired for f in self.faults}

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("fault proxy did not start")
        return self

    def __exit__(self, *_: object) -> None:
        async def stop() -> None:
            if self._runner is not None:
                await self._runner.cleanup()
            rest = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in rest:
                task.cancel()
            await asyncio.gather(*rest, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._start())
        self._ready.set()
        self._loop.run_forever()

    async def _start(self) -> None:
        ctx = ssl.create_default_context(cafile=self.ca_file)
        self._session = ClientSession(
            connector=TCPConnector(ssl=ctx),
            timeout=ClientTimeout(total=None),
            auto_decompress=False,
        )
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        app.on_cleanup.append(lambda _: self._session.close())
        self._runner = web.AppRunner(
            app, handle_signals=False, access_log=None, shutdown_timeout=1.0
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        for fault in self.faults:
            if fault.matches(request.method, request.path):
                fault.fired += 1
                await request.read()
                if fault.status == 0:
                    assert request.transport is not None
                    request.transport.close()
                    return web.Response(status=500)  # never reaches the client
                body = (
                    '{"kind":"Status","apiVersion":"v1","status":"Failure",'
                    f'"message":"injected fault {fault.status}","code":{fault.status}}}'
                )
                return web.Response(
                    status=fault.status,
                    text=body,
                    content_type="application/json",
                    headers=fault.headers,
                )
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host",)}
        data = await request.read()
        async with self._session.request(
            request.method,
            self.upstream + request.path_qs,
            headers=headers,
            data=data or None,
            # Some client calls send no Content-Type (the API server takes JSON then); aiohttp
            # would add application/octet-stream, which the server refuses with a 415.
            skip_auto_headers=() if "Content-Type" in request.headers else ("Content-Type",),
        ) as upstream:
            response = web.StreamResponse(
                status=upstream.status,
                headers={k: v for k, v in upstream.headers.items() if k.lower() not in _HOP},
            )
            if upstream.headers.get("Content-Encoding"):
                response.headers["Content-Encoding"] = upstream.headers["Content-Encoding"]
            await response.prepare(request)
            try:
                async for chunk in upstream.content.iter_any():
                    await response.write(chunk)
                await response.write_eof()
            except (ClientError, ConnectionError):
                pass  # a watch ended on either side: the stream just stops
            return response
