"""The IDE backend: claude-health's MCP server over streamable HTTP, safe to leave running.

Loopback by default. Anything else needs a bearer token (compared in constant time). Host and
Origin are checked on every request so a web page cannot reach the server through DNS
rebinding, request bodies are capped before they are read, ``/healthz`` answers without
touching any tool, and uvicorn shuts down gracefully on SIGINT/SIGTERM.
"""

from __future__ import annotations

import errno
import hmac
import ipaddress
import logging
import os
import socket
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from claude_health.tools import __version__

logger = logging.getLogger(__name__)

TOKEN_ENV = "CLAUDE_HEALTH_TOKEN"  # noqa: S105 - the variable's name, not a secret
ALLOWED_HOSTS_ENV = "CLAUDE_HEALTH_ALLOWED_HOSTS"
ALLOWED_ORIGINS_ENV = "CLAUDE_HEALTH_ALLOWED_ORIGINS"
MAX_SESSIONS_ENV = "CLAUDE_HEALTH_HTTP_MAX_SESSIONS"
SESSION_IDLE_ENV = "CLAUDE_HEALTH_HTTP_SESSION_IDLE"
# Each legacy-era session holds ~41 kB until it ends. An IDE keeps one or a few, and its open
# GET stream keeps a session from counting as idle; a client that walks away without DELETE
# leaves one behind. So: at most this many at once (a new one then gets 503), and an idle one
# ends after this many seconds (its client gets 404 and initializes again, as the spec says).
DEFAULT_MAX_SESSIONS = 100
DEFAULT_SESSION_IDLE = 600.0
MCP_PATH = "/mcp"
HEALTH_PATH = "/healthz"
DEFAULT_MAX_BODY = 1024 * 1024  # JSON-RPC requests to these tools are a few KiB at most
MIN_TOKEN_LENGTH = 16


class HttpConfigError(ValueError):
    """The HTTP server cannot start as configured (the CLI reports it and exits non-zero)."""


def is_loopback(host: str) -> bool:
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _is_wildcard(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_unspecified
    except ValueError:
        return False


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


@dataclass(frozen=True)
class HttpSettings:
    """How the HTTP backend is exposed."""

    host: str = "127.0.0.1"
    port: int = 8765
    token: str | None = None
    max_body: int = DEFAULT_MAX_BODY
    extra_hosts: tuple[str, ...] = ()
    extra_origins: tuple[str, ...] = ()
    check_hosts: bool = field(default=True)
    max_sessions: int = DEFAULT_MAX_SESSIONS
    session_idle: float = DEFAULT_SESSION_IDLE

    @classmethod
    def resolve(
        cls,
        host: str,
        port: int,
        token: str | None,
        env: Mapping[str, str] | None = None,
        *,
        max_sessions: int | None = None,
        session_idle: float | None = None,
    ) -> HttpSettings:
        """Validate the options; a non-loopback bind without a token is refused."""
        environ = os.environ if env is None else env
        sessions = _limit(
            max_sessions, environ, MAX_SESSIONS_ENV, "--max-sessions", DEFAULT_MAX_SESSIONS, 100_000
        )
        idle = _limit(
            session_idle, environ, SESSION_IDLE_ENV, "--session-idle", DEFAULT_SESSION_IDLE, 86_400.0
        )
        token = token if token is not None else environ.get(TOKEN_ENV)
        token = token.strip() if token else None
        if token is not None and len(token) < MIN_TOKEN_LENGTH:
            raise HttpConfigError(
                f"the bearer token must be at least {MIN_TOKEN_LENGTH} characters "
                "(make one with `openssl rand -hex 32`)"
            )
        if not is_loopback(host) and token is None:
            raise HttpConfigError(
                f"refusing to listen on {host} (reachable from other machines) without a bearer token; "
                f"pass --token or set {TOKEN_ENV}, or bind 127.0.0.1"
            )
        extra_hosts = tuple(_split(environ.get(ALLOWED_HOSTS_ENV)))
        # On a wildcard bind the names clients will use are unknown; the token guards it instead.
        check_hosts = not (_is_wildcard(host) and not extra_hosts)
        return cls(
            host=host,
            port=port,
            token=token,
            extra_hosts=extra_hosts,
            extra_origins=tuple(_split(environ.get(ALLOWED_ORIGINS_ENV))),
            check_hosts=check_hosts,
            max_sessions=int(sessions),
            session_idle=float(idle),
        )

    def _own_hosts(self) -> list[str]:
        names = ["127.0.0.1", "localhost", "[::1]"]
        if not is_loopback(self.host) and not _is_wildcard(self.host):
            names.append(f"[{self.host}]" if ":" in self.host else self.host)
        hosts = [f"{name}:{self.port}" for name in names]
        return hosts + names if self.port == 80 else hosts

    def allowed_hosts(self) -> list[str]:
        return self._own_hosts() + list(self.extra_hosts)

    def allowed_origins(self) -> list[str]:
        """Browser origins of the server itself only (plus any configured): no other web page."""
        return [f"http://{h}" for h in self._own_hosts()] + list(self.extra_origins)


def _limit(
    given: float | None, env: Mapping[str, str], name: str, option: str, default: float, most: float
) -> float:
    """A positive session limit from the option, else the environment, else the default."""
    if given is None:
        raw = env.get(name, "").strip()
        if not raw:
            return default
        try:
            given = float(raw) if "." in raw or "e" in raw.lower() else int(raw)
        except ValueError:
            raise HttpConfigError(f"{name}={raw!r}: expected a number") from None
        option = name
    if not 0 < given <= most:  # NaN fails too
        raise HttpConfigError(f"{option}: {given!r} must be more than 0 and at most {most:g}")
    return given


def _reply(status: int, body: dict[str, str], headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=headers)


class GuardMiddleware:
    """Body cap, Host/Origin checks and bearer authentication, before anything else runs."""

    def __init__(self, app: ASGIApp, settings: HttpSettings) -> None:
        self.app = app
        self.settings = settings
        self.hosts = {h.lower() for h in settings.allowed_hosts()}
        self.origins = {o.lower() for o in settings.allowed_origins()}
        self.token = settings.token.encode() if settings.token else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        rejection = self._check(scope, headers)
        if rejection is not None:
            await rejection(scope, receive, send)
            return
        if scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        first = await self._read_capped(receive)
        if first is None:
            await _reply(413, {"error": f"request body over {self.settings.max_body} bytes"})(
                scope, receive, send
            )
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return first
            return await receive()

        await self.app(scope, replay, send)

    def _check(self, scope: Scope, headers: dict[str, str]) -> JSONResponse | None:
        length = headers.get("content-length")
        if length is not None:
            if not length.isdigit():
                return _reply(400, {"error": "invalid Content-Length"})
            if int(length) > self.settings.max_body:
                return _reply(413, {"error": f"request body over {self.settings.max_body} bytes"})
        if self.settings.check_hosts and headers.get("host", "").lower() not in self.hosts:
            return _reply(421, {"error": "Host not allowed (DNS rebinding protection)"})
        origin = headers.get("origin")
        if origin is not None and origin.lower() not in self.origins:
            return _reply(403, {"error": "Origin not allowed"})
        if self.token is not None and scope["path"] != HEALTH_PATH:
            supplied = headers.get("authorization", "")
            scheme, _, credential = supplied.partition(" ")
            ok = scheme.lower() == "bearer" and hmac.compare_digest(credential.strip().encode(), self.token)
            if not ok:
                return _reply(
                    401,
                    {"error": "missing or wrong bearer token"},
                    {"WWW-Authenticate": 'Bearer realm="claude-health"'},
                )
        return None

    async def _read_capped(self, receive: Receive) -> Message | None:
        """The whole request body as one message, or None when it exceeds the cap.

        Chunked requests carry no Content-Length, so the bytes are counted as they arrive; the
        MCP endpoint reads the whole body anyway, so buffering up to the cap costs nothing.
        """
        chunks: list[bytes] = []
        total = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return message
            body = message.get("body", b"")
            total += len(body)
            if total > self.settings.max_body:
                return None
            chunks.append(body)
            if not message.get("more_body", False):
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}


def build_app(server: MCPServer, settings: HttpSettings) -> Starlette:
    """The Starlette app: ``/healthz`` plus the MCP endpoint at ``/mcp``, behind the guard."""
    security = TransportSecuritySettings(
        enable_dns_rebinding_protection=settings.check_hosts,
        allowed_hosts=settings.allowed_hosts(),
        allowed_origins=settings.allowed_origins(),
    )
    mcp_app = server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        max_request_body_size=settings.max_body,
        transport_security=security,
        host=settings.host,
        max_sessions=settings.max_sessions,
        session_idle_timeout=settings.session_idle,
    )

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "server": "claude-health", "version": __version__})

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # A mounted sub-app's lifespan never runs, so the session manager is entered here.
        async with server.session_manager.run():
            yield
        # Reached only after uvicorn has drained in-flight requests (graceful shutdown).
        sys.stderr.write("claude-health: HTTP server stopped\n")

    app = Starlette(
        routes=[Route(HEALTH_PATH, healthz, methods=["GET"]), Mount("/", app=mcp_app)],
        lifespan=lifespan,
    )
    app.add_middleware(GuardMiddleware, settings=settings)
    return app


def run_http(
    server: MCPServer,
    host: str = "127.0.0.1",
    port: int = 8765,
    token: str | None = None,
    *,
    max_sessions: int | None = None,
    session_idle: float | None = None,
) -> None:
    """Serve until SIGINT/SIGTERM; raises :class:`HttpConfigError` for an unsafe configuration."""
    import uvicorn

    settings = HttpSettings.resolve(host, port, token, max_sessions=max_sessions, session_idle=session_idle)
    app = build_app(server, settings)
    sock = listen_socket(host, port)  # before saying where we listen: a busy port is one clear line
    shown = f"[{host}]" if ":" in host else host
    auth = "bearer token required" if settings.token else "no token (loopback only)"
    sys.stderr.write(f"claude-health: MCP over HTTP at http://{shown}:{port}{MCP_PATH} ({auth})\n")
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        lifespan="on",
        timeout_graceful_shutdown=5,
        server_header=False,
        access_log=False,
    )
    try:
        uvicorn.Server(config).run(sockets=[sock])
    except OSError as exc:
        raise ListenError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    finally:
        sock.close()


class ListenError(RuntimeError):
    """The HTTP server cannot listen where asked (port in use, no permission, foreign address)."""


_LISTEN_ADVICE = {
    errno.EADDRINUSE: "the port is already in use (another `claude-health serve --transport http`?); stop "
    "that server or choose another port with --port",
    errno.EACCES: "permission denied (ports below 1024 need privileges); choose one above 1023 with --port",
    errno.EADDRNOTAVAIL: "that address does not belong to this machine; use --host 127.0.0.1",
}


def listen_socket(host: str, port: int) -> socket.socket:
    """Bind the listening socket as uvicorn would (SO_REUSEADDR; IPv6 for a host with ``:``).

    Binding here, not inside uvicorn, turns "address in use" into :class:`ListenError` with one
    sentence a person can act on, instead of uvicorn's log line and a bare exit status.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family=family, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        why = _LISTEN_ADVICE.get(exc.errno or 0, exc.strerror or str(exc))
        raise ListenError(f"cannot listen on {host}:{port}: {why}") from None
    except (OverflowError, UnicodeError) as exc:  # a port or host name the OS cannot take
        sock.close()
        raise ListenError(f"cannot listen on {host}:{port}: {exc}") from None
    sock.set_inheritable(True)
    return sock
