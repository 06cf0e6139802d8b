"""Shared fixtures for the limiter tests: a real redis-server and one URL per store kind.

Every store-parametrised test runs against ``memory://``, a fresh SQLite file, a real
``redis-server`` started here on a free 127.0.0.1 port, and a real Redis Cluster (three masters,
one replica each: :mod:`tests.redis_cluster_support`). A missing redis-server FAILS the Redis
cases (``.ci/run`` installs it); it never skips them.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

STORES = ("memory", "sqlite", "redis", "redis_cluster")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def redis_binary() -> str:
    found = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None
    )
    if found is None:
        pytest.fail(
            "redis-server is not installed (apt-get install -y redis-server): the Redis store is untested"
        )
    return found


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``redis://127.0.0.1:PORT`` of a private redis-server, stopped (by its PID) at the end."""
    binary = redis_binary()
    port = free_port()
    workdir = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            if proc.poll() is not None:
                pytest.fail(f"redis-server exited with {proc.returncode} before listening")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("redis-server did not listen within 10 s")
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def flush(redis_url: str, db: int = 0) -> None:
    import redis

    client = redis.Redis.from_url(f"{redis_url}/{db}")
    client.flushdb()
    client.close()


@pytest.fixture(params=STORES)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty store of each kind."""
    kind = request.param
    if kind == "memory":
        return "memory://"
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'state' / 'limiter.db'}"
    if kind == "redis_cluster":  # a session fixture (tests/conftest.py)
        cluster = request.getfixturevalue("redis_cluster")
        cluster.flush()
        return str(cluster.url)
    base: str = request.getfixturevalue("redis_server")
    flush(base)
    return f"{base}/0"
