"""Cold start: spawn to the answer of the first ``tools/list``, next to the floor for mcp 2.x.

Four contenders, interleaved run by run so machine noise hits them alike:

* ``claude-health serve`` (the installed console script, stdio), as every start but an install's
  first runs: from the listing the first start records (see ``claude_health.server.listing``);
* ``claude-health serve`` as an install's first start: an empty cache, every tool registered;
* a minimal one-tool ``MCPServer`` script: the floor for any mcp 2.x server;
* ``python -c "import mcp.server"``: the import alone (to exit).

Usage: ``python bench/cold_start.py [--runs N]``. Prints medians and ratios and writes
``bench/results/cold_start.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
MINIMAL_SERVER = '''
from mcp.server import MCPServer

server = MCPServer("minimal")


@server.tool()
def ping() -> str:
    """Answer pong."""
    return "pong"


server.run()
'''

HANDSHAKE = (
    json.dumps(
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "bench", "version": "0"},
            },
        }
    )
    + "\n"
    + json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"})
    + "\n"
    + json.dumps({"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
    + "\n"
)


def time_to_tools_list(argv: list[str], env: dict[str, str] | None = None) -> float:
    """Seconds from spawn until the tools/list response line arrives on stdout."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(HANDSHAKE.encode())
    proc.stdin.flush()
    try:
        for raw in proc.stdout:
            message = json.loads(raw)
            if message.get("id") == 2:
                assert message["result"]["tools"], "tools/list returned no tools"
                return time.perf_counter() - start
        raise RuntimeError(f"{argv[0]} closed stdout before answering tools/list")
    finally:
        proc.kill()
        proc.wait()


def time_import() -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import mcp.server"], check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    script = Path(sys.executable).with_name("claude-health")
    cli = str(script) if script.exists() else shutil.which("claude-health")
    if not cli:
        raise SystemExit("claude-health is not installed in this environment")
    with tempfile.TemporaryDirectory() as tmp:
        minimal = Path(tmp) / "minimal_server.py"
        minimal.write_text(MINIMAL_SERVER)
        # Its own cache, recorded by the warm-up run below; the user's is never touched.
        cached = {**os.environ, "XDG_CACHE_HOME": str(Path(tmp) / "cache")}

        def first_start() -> float:
            with tempfile.TemporaryDirectory(dir=tmp) as empty:
                return time_to_tools_list([cli, "serve"], {**os.environ, "XDG_CACHE_HOME": empty})

        contenders = {
            "claude-health serve": lambda: time_to_tools_list([cli, "serve"], cached),
            "first start": first_start,
            "minimal MCPServer": lambda: time_to_tools_list([sys.executable, str(minimal)]),
            "import mcp.server": time_import,
        }
        for fn in contenders.values():  # warm the OS page cache once
            fn()
        samples: dict[str, list[float]] = {name: [] for name in contenders}
        for _ in range(args.runs):
            for name, fn in contenders.items():
                samples[name].append(fn())
    medians = {name: statistics.median(values) for name, values in samples.items()}
    floor = medians["minimal MCPServer"]
    print(f"cold start, median of {args.runs} runs (python {platform.python_version()}):")
    for name, value in medians.items():
        print(f"  {name:<22} {value * 1000:8.1f} ms   {value / floor:5.2f}x minimal server")
    ratio = medians["claude-health serve"] / floor
    print(f"claude-health / minimal MCPServer = {ratio:.3f} (target <= 1.15)")
    out = HERE / "results" / "cold_start.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "runs": args.runs,
                "median_ms": {k: round(v * 1000, 1) for k, v in medians.items()},
                "ratio_vs_minimal": round(ratio, 3),
                "python": platform.python_version(),
            },
            indent=2,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
