"""``claude-health bundle``: build the MCP Bundle (.mcpb) that installs claude-health in Claude Desktop."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser(
        "bundle",
        help="build claude-health.mcpb for Claude Desktop",
        description="Write DIR/claude-health.mcpb: an MCP Bundle (manifest 0.4, uv server type) holding "
        "this installation's code, so Claude Desktop installs it in one click (it runs it with uv). The "
        "archive is reproducible: the same code gives the same bytes and sha256.",
    )
    parser.add_argument("--out", metavar="DIR", required=True, help="folder to write claude-health.mcpb into")
    parser.add_argument(
        "--record",
        metavar="SERVER_JSON",
        default=None,
        help="release step: point the mcpb package of this MCP Registry server.json at the build "
        "(download URL, version, fileSha256)",
    )
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from claude_health.server.bundle import BundleError, build, record

    try:
        built = build(Path(args.out).expanduser())
        recorded = record(Path(args.record), built) if args.record else None
    except BundleError as exc:
        sys.stderr.write(f"claude-health bundle: {exc}\n")
        return 1
    except OSError as exc:
        sys.stderr.write(f"claude-health bundle: {exc.filename or args.out}: {exc.strerror or exc}\n")
        return 1
    if args.json:
        from claude_health.server.output import dump_json

        dump_json({**built.to_json(), "recorded": recorded})
        return 0
    sys.stdout.write(
        f"Wrote {built.path} ({built.size:,} bytes, {len(built.files)} files)\nsha256 {built.sha256}\n"
    )
    if recorded:
        sys.stdout.write(f"Recorded it in {args.record}: {recorded['identifier']}\n")
    return 0
