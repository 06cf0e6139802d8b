"""A real Redis Cluster on 127.0.0.1 for the limiter tests: started here, stopped here.

``redis-server --cluster-enabled yes`` on free ports (and their cluster-bus ports, port + 10000),
joined with ``redis-cli --cluster create``. Masters and replicas are this test run's own child
processes; every one is stopped by its PID at the end, and a test may SIGKILL a master to force a
failover (``cluster-node-timeout`` is 1,000 ms, so a replica takes over within a few seconds).
A missing redis-server or redis-cli FAILS the tests (``.ci/test`` installs redis-server, which
ships both); it never skips them.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

NODE_TIMEOUT_MS = 1000


def cli_binary() -> str:
    found = shutil.which("redis-cli") or (
        "/usr/bin/redis-cli" if Path("/usr/bin/redis-cli").exists() else None
    )
    if found is None:
        pytest.fail("redis-cli is not installed (apt-get install -y redis-server ships it): cluster untested")
    return found


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_ports(n: int) -> list[int]:
    """``n`` ports free now whose cluster-bus twins (port + 10000) are free too."""
    ports: list[int] = []
    while len(ports) < n:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port < 55000 and port not in ports and _free(port + 10000):
            ports.append(port)
    return ports


@dataclass
class Cluster:
    workdir: Path
    ports: list[int]
    procs: dict[int, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(f"127.0.0.1:{p}" for p in self.ports)

    def client(self) -> object:
        from redis.cluster import ClusterNode, RedisCluster

        alive = [p for p in self.ports if self.procs[p].poll() is None]
        return RedisCluster(startup_nodes=[ClusterNode("127.0.0.1", p) for p in alive], socket_timeout=2)

    def master_port_of(self, key: str) -> int:
        client = self.client()
        try:
            node = client.get_node_from_key(key)  # type: ignore[attr-defined]
            return int(node.port)
        finally:
            client.close()  # type: ignore[attr-defined]

    def kill(self, port: int) -> None:
        proc = self.procs[port]
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)

    def flush(self) -> None:
        import redis

        for port, proc in self.procs.items():
            if proc.poll() is not None:
                continue
            node = redis.Redis(host="127.0.0.1", port=port, socket_timeout=2)
            try:
                if node.execute_command("ROLE")[0] == b"master":
                    node.flushall()
            finally:
                node.close()

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _info(port: int, *command: str) -> dict[str, str]:
    import redis

    node = redis.Redis(host="127.0.0.1", port=port, socket_timeout=2, decode_responses=True)
    try:
        out = node.execute_command(*command)
    except redis.RedisError:
        return {}
    finally:
        node.close()
    if isinstance(out, dict):  # redis-py parses INFO (and, in some versions, CLUSTER INFO)
        return {str(k): str(v) for k, v in out.items()}
    return dict(line.split(":", 1) for line in str(out).replace("\r", "").splitlines() if ":" in line)


def start_cluster(workdir: Path, masters: int = 3, replicas: int = 0) -> Cluster:
    """A running cluster of ``masters`` masters with ``replicas`` replicas each, all slots served."""
    from tests.test_limiter_support import redis_binary

    server = redis_binary()
    ports = free_ports(masters * (1 + replicas))
    cluster = Cluster(workdir, ports)
    try:
        for port in ports:
            node_dir = workdir / f"node-{port}"
            node_dir.mkdir(parents=True)
            cluster.procs[port] = subprocess.Popen(
                [
                    server,
                    "--port",
                    str(port),
                    "--bind",
                    "127.0.0.1",
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    str(node_dir / "nodes.conf"),
                    "--cluster-node-timeout",
                    str(NODE_TIMEOUT_MS),
                    "--dir",
                    str(node_dir),
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        _wait_listening(cluster)
        create = subprocess.run(
            [
                cli_binary(),
                "--cluster",
                "create",
                *[f"127.0.0.1:{p}" for p in ports],
                "--cluster-replicas",
                str(replicas),
                "--cluster-yes",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if create.returncode != 0:
            pytest.fail(f"redis-cli --cluster create failed: {create.stdout[-800:]} {create.stderr[-400:]}")
        _wait_ready(cluster, masters, replicas)
    except BaseException:
        cluster.stop()
        raise
    return cluster


def _wait_listening(cluster: Cluster) -> None:
    deadline = time.monotonic() + 10
    for port, proc in cluster.procs.items():
        while True:
            if proc.poll() is not None:
                pytest.fail(f"redis-server on port {port} exited with {proc.returncode} before listening")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"redis-server on port {port} did not listen within 10 s")
                time.sleep(0.05)


def _listed_replicas(port: int) -> int:
    import redis

    node = redis.Redis(host="127.0.0.1", port=port, socket_timeout=2)
    try:
        slots = node.execute_command("CLUSTER", "SLOTS")
    except redis.RedisError:
        return -1
    finally:
        node.close()
    return sum(len(entry) - 3 for entry in slots)


def _wait_ready(cluster: Cluster, masters: int, replicas: int) -> None:
    """Every node sees state ok, and every replica is attached and in sync with its master."""
    deadline = time.monotonic() + 30
    while True:
        states = [_info(p, "CLUSTER", "INFO").get("cluster_state") for p in cluster.ports]
        roles = [_info(p, "INFO", "replication") for p in cluster.ports]
        synced = [r for r in roles if r.get("role") == "slave" and r.get("master_link_status") == "up"]
        attached = sum(int(r.get("connected_slaves", "0")) for r in roles if r.get("role") == "master")
        # Clients learn replicas from CLUSTER SLOTS, which lists them a few seconds after they sync.
        if (
            all(s == "ok" for s in states)
            and len(synced) == attached == masters * replicas
            and all(_listed_replicas(p) == masters * replicas for p in cluster.ports)
        ):
            return
        if time.monotonic() > deadline:
            pytest.fail(
                f"the cluster did not become ready within 30 s: states {states}, {len(synced)} synced"
            )
        time.sleep(0.1)


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Three masters with one replica each, shared by the store suite (flushed per test)."""
    cluster = start_cluster(tmp_path_factory.mktemp("redis-cluster"), masters=3, replicas=1)
    try:
        yield cluster
    finally:
        cluster.stop()
