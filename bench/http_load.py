"""HTTP load: many concurrent MCP clients calling a tool on ``claude-health serve --transport http``.

Each of N clients (default 200) loops ``tools/call auth_status`` for D seconds (default 30) over
its own keep-alive connection, in one or both protocol eras:

* ``modern``: the 2026-07-28 sessionless form (no initialize; ``_meta`` envelope plus the
  ``MCP-Protocol-Version`` / ``Mcp-Method`` / ``Mcp-Name`` headers; JSON responses);
* ``legacy``: 2025-11-25, ``initialize`` once per client, then calls on its ``Mcp-Session-Id``
  (responses as server-sent events).

claude-health runs with a bearer token (the guard is in the measured path). The named peer is a
bare one-tool ``MCPServer`` on the SDK's own streamable HTTP app, driven the same way with its
``ping`` tool: the floor for any mcp 2.x HTTP server on this machine.

Usage: ``python bench/http_load.py [--clients 200] [--duration 30] [--eras modern,legacy]
[--no-peer]``. Prints a table (throughput, p50/p99 latency, errors, ratios vs the peer) and
writes ``bench/results/http_load.json``. Client and server share this machine's cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
TOKEN = "bench-" + "0123456789abcdef" * 2
MODERN, LEGACY = "2026-07-28", "2025-11-25"

PEER_SERVER = """
import sys
import uvicorn
from mcp.server import MCPServer

server = MCPServer("peer")


@server.tool()
def ping() -> str:
    return "pong"


uvicorn.run(server.streamable_http_app(), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_for(port: int, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited early ({proc.returncode})")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listened on {port}")


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    init_latencies: list[float] = field(default_factory=list)
    init_errors: int = 0
    ready: int = 0
    go: asyncio.Event = field(default_factory=asyncio.Event)
    stop: float = 0.0
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)

    def error(self, what: str) -> None:
        self.errors += 1
        if len(self.error_samples) < 5:
            self.error_samples.append(what[:200])


def sse_json(text: str) -> dict[str, Any]:
    for line in text.splitlines():
        if line.startswith("data:"):
            value: dict[str, Any] = json.loads(line[5:])
            return value
    raise ValueError("no data line in the event stream")


def body_json(response: httpx.Response) -> dict[str, Any]:
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        return sse_json(response.text)
    value: dict[str, Any] = response.json()
    return value


async def client_loop(
    url: str, tool: str, era: str, token: str | None, clients: int, duration: float, tally: Tally
) -> None:
    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with httpx.AsyncClient(headers=headers, limits=limits, timeout=60) as http:
        if era == "legacy":
            init = {
                "jsonrpc": "2.0",
                "id": 0,
                "method": "initialize",
                "params": {
                    "protocolVersion": LEGACY,
                    "capabilities": {},
                    "clientInfo": {"name": "bench", "version": "0"},
                },
            }
            started = time.perf_counter()
            ok = False
            try:
                response = await http.post(url, json=init)
                session = response.headers["mcp-session-id"]
                http.headers.update({"mcp-session-id": session, "mcp-protocol-version": LEGACY})
                await http.post(url, json={"jsonrpc": "2.0", "method": "notifications/initialized"})
                tally.init_latencies.append(time.perf_counter() - started)
                ok = True
            except Exception as exc:
                tally.init_errors += 1
                tally.error(f"initialize: {type(exc).__name__}: {exc}")
        else:
            ok = True
            http.headers.update(
                {"mcp-protocol-version": MODERN, "mcp-method": "tools/call", "mcp-name": tool}
            )
        # Every client is set up before the clock starts: the window measures tool calls only.
        tally.ready += 1
        if tally.ready == clients:
            tally.stop = time.perf_counter() + duration
            tally.go.set()
        await tally.go.wait()
        if not ok:
            return
        stop = tally.stop
        params: dict[str, Any] = {"name": tool, "arguments": {}}
        if era == "modern":
            params["_meta"] = {
                "io.modelcontextprotocol/protocolVersion": MODERN,
                "io.modelcontextprotocol/clientCapabilities": {},
            }
        request_id = 0
        while time.perf_counter() < stop:
            request_id += 1
            payload = {"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": params}
            started = time.perf_counter()
            try:
                response = await http.post(url, json=payload)
                elapsed = time.perf_counter() - started
                if response.status_code != 200:
                    tally.error(f"HTTP {response.status_code}: {response.text[:120]}")
                    continue
                message = body_json(response)
                if "error" in message or message.get("result", {}).get("isError"):
                    tally.error(f"JSON-RPC error: {json.dumps(message)[:160]}")
                    continue
                tally.latencies.append(elapsed)
            except Exception as exc:
                tally.error(f"{type(exc).__name__}: {exc}")


async def drive(
    url: str, tool: str, era: str, token: str | None, clients: int, duration: float
) -> dict[str, Any]:
    tally = Tally()
    setup_started = time.perf_counter()
    tasks = [
        asyncio.create_task(client_loop(url, tool, era, token, clients, duration, tally))
        for _ in range(clients)
    ]
    await tally.go.wait()
    begin = time.perf_counter()
    setup = begin - setup_started
    await asyncio.gather(*tasks)
    wall = time.perf_counter() - begin
    lat = sorted(tally.latencies)
    init = sorted(tally.init_latencies)

    def pct(p: float, values: list[float] = lat) -> float | None:
        return round(values[min(len(values) - 1, int(p * len(values)))] * 1000, 2) if values else None

    return {
        "era": era,
        "clients": clients,
        "duration_s": round(wall, 2),
        "requests_ok": len(lat),
        "errors": tally.errors,
        "error_samples": tally.error_samples,
        "throughput_rps": round(len(lat) / wall, 1),
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "mean_ms": round(statistics.fmean(lat) * 1000, 2) if lat else None,
        "setup_s": round(setup, 2),
        "init_ok": len(init),
        "init_errors": tally.init_errors,
        "init_p50_ms": pct(0.5, init),
        "init_p99_ms": pct(0.99, init),
    }


def start_claude_health(port: int, home: Path) -> subprocess.Popen[bytes]:
    exe = shutil.which("claude-health") or str(Path(sys.executable).with_name("claude-health"))
    env = {**os.environ, "HOME": str(home), "CLAUDE_HEALTH_TOKEN": TOKEN}
    env.pop("ANTHROPIC_API_KEY", None)
    cmd = [exe, "serve", "--transport", "http", "--host", "127.0.0.1", "--port", str(port)]
    # stderr to a file, never an unread pipe: a full pipe would stall the server mid-benchmark
    log = (home.parent / "claude-health.log").open("ab")
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=log)


def start_peer(port: int, folder: Path) -> subprocess.Popen[bytes]:
    script = folder / "peer_server.py"
    script.write_text(PEER_SERVER)
    log = (folder / "peer.log").open("ab")
    return subprocess.Popen([sys.executable, str(script), str(port)], stdout=subprocess.DEVNULL, stderr=log)


def measure(kind: str, era: str, clients: int, duration: float, folder: Path) -> dict[str, Any]:
    port = free_port()
    home = folder / "home"
    home.mkdir(exist_ok=True)
    proc = start_claude_health(port, home) if kind == "claude-health" else start_peer(port, folder)
    try:
        wait_for(port, proc)
        url = f"http://127.0.0.1:{port}/mcp"
        tool, token = ("auth_status", TOKEN) if kind == "claude-health" else ("ping", None)
        result = asyncio.run(drive(url, tool, era, token, clients, duration))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
    result["server"] = kind
    result["tool"] = tool
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--eras", default="modern,legacy")
    parser.add_argument("--no-peer", action="store_true")
    args = parser.parse_args()
    eras = [e.strip() for e in args.eras.split(",") if e.strip()]
    kinds = ["claude-health"] + ([] if args.no_peer else ["bare MCPServer"])
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for era in eras:
            for kind in kinds:
                print(f"... {kind}, {era} era, {args.clients} clients, {args.duration:g} s", file=sys.stderr)
                results.append(measure(kind, era, args.clients, args.duration, Path(tmp)))
    header = f"{'server':<16}{'era':<8}{'tool':<12}" + "".join(
        f"{name:>9}" for name in ("ok reqs", "req/s", "p50 ms", "p99 ms", "errors", "setup s")
    )
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r['server']:<16}{r['era']:<8}{r['tool']:<12}{r['requests_ok']:>9}{r['throughput_rps']:>9}"
            f"{r['p50_ms']:>9}{r['p99_ms']:>9}{r['errors']:>9}{r['setup_s']:>9}"
        )
    ratios = {}
    for era in eras:
        ours = next((r for r in results if r["era"] == era and r["server"] == "claude-health"), None)
        peer = next((r for r in results if r["era"] == era and r["server"] == "bare MCPServer"), None)
        if ours and peer and peer["throughput_rps"] and peer["p50_ms"] and ours["p50_ms"]:
            ratios[era] = {
                "throughput_vs_peer": round(ours["throughput_rps"] / peer["throughput_rps"], 2),
                "p50_vs_peer": round(ours["p50_ms"] / peer["p50_ms"], 2),
            }
            print(
                f"{era}: claude-health throughput = {ratios[era]['throughput_vs_peer']}x the bare server, "
                f"p50 = {ratios[era]['p50_vs_peer']}x"
            )
    for r in results:
        for sample in r["error_samples"]:
            print(f"  error sample ({r['server']}, {r['era']}): {sample}", file=sys.stderr)
    out = {
        "benchmark": "http_load",
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        "clients": args.clients,
        "duration_s": args.duration,
        "results": results,
        "ratios": ratios,
    }
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "http_load.json").write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
