"""Starting claude-health as real subprocesses for transport tests."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

MODES = ("legacy", "auto")
ERA = {"legacy": "2025-11-25", "auto": "2026-07-28"}

# A raw 2025-11-25 ``initialize`` (what opens a legacy-era session) and the headers streamable
# HTTP requires, for tests that speak the wire protocol without the SDK's client.
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": ERA["legacy"],
        "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"},
    },
}
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


def cli_path() -> str:
    """The installed ``claude-health`` console script of this interpreter's environment."""
    beside = Path(sys.executable).with_name("claude-health")
    found = str(beside) if beside.exists() else shutil.which("claude-health")
    assert found, "the claude-health console script is not installed in this environment"
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            raise RuntimeError(f"server exited early with {proc.returncode}: {err[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listened on port {port} within {timeout}s")


@contextmanager
def http_server(env: Mapping[str, str], *extra: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``claude-health serve --transport http`` on a free loopback port; yields the /mcp URL."""
    port = free_port()
    proc = subprocess.Popen(
        [cli_path(), "serve", "--transport", "http", "--host", "127.0.0.1", "--port", str(port), *extra],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for_port(port, proc)
        yield f"http://127.0.0.1:{port}/mcp", proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
