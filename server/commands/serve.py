"""``claude-health serve``: the MCP server over stdio (default) or streamable HTTP."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from claude_health.server.commands.common import UsageError

logger = logging.getLogger(__name__)

EXIT_CANNOT_LISTEN = 3  # `serve --transport http` cannot bind its address (README: exit codes)


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser(
        "serve",
        help="run the MCP server (stdio by default)",
        description="Serve claude-health's MCP tools. stdio is what Claude Code and IDEs launch; "
        "`--transport http` serves streamable HTTP at http://HOST:PORT/mcp for editor plugins. "
        "Nothing but protocol is ever written to stdout; logs go to stderr.",
    )
    parser.add_argument(
        "--transport",
        choices=("stdio", "http"),
        default="stdio",
        help="stdio (default): speak MCP on stdin/stdout, for a client that starts this command "
        "itself; http: listen for streamable HTTP at http://HOST:PORT/mcp, for clients that connect "
        "to a running server",
    )
    parser.add_argument("--host", default="127.0.0.1", help="HTTP bind address (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=8765, help="HTTP port (default 8765); exit 3 when it is taken"
    )
    parser.add_argument(
        "--token",
        default=None,
        help="bearer token required on every HTTP request (default: $CLAUDE_HEALTH_TOKEN); "
        "mandatory for a non-loopback --host",
    )
    parser.add_argument(
        "--max-sessions",
        type=int,
        default=None,
        metavar="N",
        help="HTTP: sessions open at once; one more gets 503 "
        "(default 100, or $CLAUDE_HEALTH_HTTP_MAX_SESSIONS)",
    )
    parser.add_argument(
        "--session-idle",
        type=float,
        default=None,
        metavar="SECONDS",
        help="HTTP: end a session idle this long; its client initializes again "
        "(default 600, or $CLAUDE_HEALTH_HTTP_SESSION_IDLE)",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log more to stderr")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import os
    from pathlib import Path

    from claude_health.server.app import build_server
    from claude_health.tools.state import cache_dir_name

    if not 0 < args.port < 65536:
        raise UsageError(f"--port {args.port}: must be between 1 and 65535")
    try:
        cache_dir: str | None = cache_dir_name(os.environ, Path.home())
    except RuntimeError:  # no HOME and no passwd entry: serve without recording the listing
        cache_dir = None
    server = build_server(cache_dir=cache_dir)
    if args.transport == "stdio":
        import anyio

        from claude_health.server.stdio import run_stdio

        anyio.run(run_stdio, server)
        return 0
    from claude_health.server.http import HttpConfigError, ListenError, run_http

    try:
        run_http(
            server,
            host=args.host,
            port=args.port,
            token=args.token,
            max_sessions=args.max_sessions,
            session_idle=args.session_idle,
        )
    except HttpConfigError as exc:
        raise UsageError(str(exc)) from exc
    except ListenError as exc:
        # Not a usage error: the command is right, the machine is not ready (documented exit 3).
        sys.stderr.write(f"claude-health serve: {exc}\n")
        return EXIT_CANNOT_LISTEN
    return 0
