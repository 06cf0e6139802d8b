"""One HTTP server on 127.0.0.1 in a background thread, for the local stand-ins of remote APIs.

The fakes (:mod:`tests.fake_anthropic`, :mod:`tests.fake_admin`, :mod:`tests.fake_messages`) differ
in what they answer, not in how they run: each subclass supplies its request handler and this class
owns the lifecycle (an ephemeral port, a daemon thread, shutdown that waits for the thread).
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self


class LocalServer:
    """``with Sub(...) as api:`` serves on an ephemeral loopback port until the block ends."""

    def __init__(self) -> None:
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def handler(self) -> type[BaseHTTPRequestHandler]:
        """The request handler class bound to this server's state."""
        raise NotImplementedError

    def __enter__(self) -> Self:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self.handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name=type(self).__name__,
            daemon=True,
        )
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @property
    def base_url(self) -> str:
        assert self._server is not None, f"use {type(self).__name__} as a context manager"
        return f"http://127.0.0.1:{self._server.server_address[1]}"
