"""``claude-health tokens``: count tokens (offline estimate or exact), cost, context fit and budget."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from claude_health.server.commands.common import UsageError, style, workspace
from claude_health.server.output import Style, dump_json, findings_payload, print_findings

MAX_STDIN_BYTES = 64 * 1024 * 1024


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    from claude_health.tools.tokens.models import default_model

    parser = sub.add_parser(
        "tokens",
        parents=[common],
        help="count tokens, cost and context fit",
        description="Count the tokens of files, directories, globs or stdin (-) for a Claude model, with "
        "their cost and whether they fit the context window. Without a key the count is an offline "
        "estimate with an error band and nothing is sent; with ANTHROPIC_API_KEY it is exact "
        "(POST /v1/messages/count_tokens, free, cached by content hash). --budget shows the fixed "
        "context the project pays on every turn (CLAUDE.md, imports, memory).",
        epilog=f"Default model: {default_model()}.",
    )
    parser.add_argument("paths", nargs="*", metavar="PATH", help="file, directory or glob; - reads stdin")
    parser.add_argument("--model", "-m", default=None, help=f"model ID (default {default_model()})")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--exact", action="store_true", help="count through the API; fail if that is impossible"
    )
    mode.add_argument("--estimate", action="store_true", help="offline estimate only, even with a key")
    parser.add_argument(
        "--request", metavar="FILE", help="count a Messages API request body (JSON file, or - for stdin)"
    )
    parser.add_argument("--budget", action="store_true", help="the project's per-turn context budget")
    parser.set_defaults(func=run)


def _read_stdin() -> str:
    data = sys.stdin.buffer.read(MAX_STDIN_BYTES + 1)
    if len(data) > MAX_STDIN_BYTES:
        raise UsageError(f"stdin is over {MAX_STDIN_BYTES:,} bytes")
    return data.decode("utf-8", "replace")


def run(args: argparse.Namespace) -> int:
    from claude_health.tools.anthropic import AnthropicError
    from claude_health.tools.tokens.budget import context_budget
    from claude_health.tools.tokens.counter import count_files, count_request, count_text
    from claude_health.tools.tokens.exact import ExactUnavailable
    from claude_health.tools.tokens.request import RequestError

    ws = workspace(args)
    st = style(args)
    if args.budget:
        if args.paths or args.request:
            raise UsageError("--budget takes no PATH or --request")
        budget = context_budget(ws, args.model)
        found = [*_model_findings(args.model), *budget.findings]
        if args.json:
            data = budget.model_dump(mode="json", exclude={"findings"})
            dump_json(findings_payload(found, budget=data))
            from claude_health.tools.findings import Summary

            return Summary.of(found).exit_code
        _print_budget(budget, st)
        return print_findings(found, st).exit_code

    from claude_health.tools.tokens.counter import Mode

    mode: Mode = "exact" if args.exact else "estimate" if args.estimate else "auto"
    env, home = dict(ws.env), ws.home
    try:
        if args.request:
            if args.paths:
                raise UsageError("--request cannot be combined with PATH arguments")
            raw = _read_stdin() if args.request == "-" else _read_file(args.request)
            try:
                body = json.loads(raw)
            except ValueError as exc:
                raise UsageError(f"--request {args.request}: not valid JSON ({exc})") from None
            except RecursionError:
                raise UsageError(f"--request {args.request}: nested too deeply to parse") from None
            if not isinstance(body, dict):
                raise UsageError(f"--request {args.request}: must hold a JSON object")
            result = count_request(body, model=args.model, mode=mode, env=env, home=home)
        else:
            paths = list(args.paths)
            if not paths:
                if sys.stdin.isatty():
                    raise UsageError(NO_INPUT)
                paths = ["-"]
            _require_existing(paths, ws.project)
            stdin_text = _read_stdin() if "-" in paths else None
            if not args.paths and not stdin_text:
                raise UsageError(f"nothing on stdin; {NO_INPUT}")
            if paths == ["-"] and stdin_text is not None:
                result = count_text(stdin_text, model=args.model, mode=mode, env=env, home=home)
            else:
                result = count_files(
                    paths, ws.project, model=args.model, mode=mode, env=env, home=home, stdin_text=stdin_text
                )
    except RequestError as exc:
        raise UsageError(f"--request: {exc}") from None
    except (ExactUnavailable, AnthropicError) as exc:
        if args.json:
            dump_json({"error": str(exc), "method": "exact", "model": args.model})
        else:
            sys.stderr.write(f"claude-health tokens: exact count impossible: {exc}\n")
        return 1
    from claude_health.tools.findings import Summary

    found = _model_findings(result.model)
    if args.json:
        dump_json(findings_payload(found, **result.model_dump(mode="json", exclude_none=True)))
    else:
        _print_count(
            result, st, hide_notes={n for n in result.notes if found and n.startswith("model not in")}
        )
        if found:
            print_findings(found, st)
    named = [p for p in args.paths if p != "-"]
    if named and result.files is not None and not any(f.tokens is not None for f in result.files):
        return 1  # every named path was unreadable or skipped (binary, too large)
    return Summary.of(found).exit_code


NO_INPUT = "give PATH... (files, directories, globs), - for stdin, or --budget"


def _require_existing(paths: list[str], project: Any) -> None:
    """A PATH that names nothing is a usage error (exit 2), not a count of 0 tokens."""
    from claude_health.tools.tokens.inputs import unmatched

    missing = [problem for p in paths if p != "-" and (problem := unmatched(p, project))]
    if missing:
        raise UsageError("; ".join(missing) + " (nothing was counted)")


def _model_findings(model: str | None) -> list[Any]:
    """T006 for a model ID claude-health does not know (one truth: tools/tokens/models.py)."""
    from claude_health.tools.tokens.models import model_findings, resolve_model

    return model_findings(resolve_model(model))


def _read_file(path: str) -> str:
    from pathlib import Path

    from claude_health.tools.files import read_text

    read = read_text(Path(path).expanduser(), limit=MAX_STDIN_BYTES)
    if read.text is None:
        raise UsageError(f"--request {path}: {read.problem or 'no such file'}")
    return read.text


def _usd(value: float) -> str:
    return f"${value:,.4f}" if value < 1 else f"${value:,.2f}"


def _print_count(result: Any, st: Style, hide_notes: set[str] | None = None) -> None:
    out = sys.stdout
    method = "exact (count_tokens API)" if result.method == "exact" else "offline estimate"
    out.write(f"{st.bold(result.model)} ({result.family} tokenizer) - {method}\n")
    if result.files:
        width = max(len(f"{f.tokens or 0:,}") for f in result.files)
        for f in result.files:
            if f.tokens is None:
                out.write(f"  {'-':>{width}}  {f.path}  {st.dim('skipped: ' + (f.skipped or ''))}\n")
            else:
                band = "" if f.method == "exact" else st.dim(f"  [{f.error_band[0]:,}-{f.error_band[1]:,}]")
                out.write(f"  {f.tokens:>{width},}  {f.path}{band}\n")
    if result.parts:
        for name, n in sorted(result.parts.items(), key=lambda kv: -kv[1]):
            out.write(f"  {n:>8,}  {name}\n")
    low, high = result.error_band
    band = "" if result.method == "exact" else f" (band {low:,}-{high:,})"
    out.write(f"{st.bold('Total:')} {result.tokens:,} tokens{band}\n")
    cost = result.cost
    if cost is not None and cost.known:
        out.write(
            f"Cost as input: {_usd(cost.input_usd)}; batch {_usd(cost.batch_input_usd)}; cache write 5m "
            f"{_usd(cost.cache_write_5m_usd)} / 1h {_usd(cost.cache_write_1h_usd)}; cache read "
            f"{_usd(cost.cache_read_usd)} {st.dim('(prices of ' + cost.pricing_updated + ')')}\n"
        )
        if cost.long_context_applied:
            out.write(f"  long-context pricing applies: {cost.long_context_note}\n")
    fit = result.fit
    if fit is None:
        out.write(f"Context window unknown: {result.model} is not in claude-health's model table\n")
    else:
        if fit.fits_context:
            out.write(
                f"Fits the {fit.context_window:,}-token context ({fit.room_for_output:,} left; max output "
                f"{fit.max_output:,})\n"
            )
        else:
            out.write(f"Does NOT fit the {fit.context_window:,}-token context window\n")
        for endpoint in fit.over_size_limit:
            limit = fit.size_limits_bytes[endpoint]
            out.write(f"Over the {endpoint} request size limit ({limit:,} bytes): the API would answer 413\n")
    for note in result.notes:
        if note not in (hide_notes or ()):  # said by a finding below
            out.write(st.dim(f"note: {note}") + "\n")


def _print_budget(budget: Any, st: Style) -> None:
    out = sys.stdout
    out.write(f"{st.bold('Per-turn context budget')} for {budget.model} (offline estimate)\n")
    for item in budget.items:
        via = f" (imported by {item.imported_from})" if item.imported_from else ""
        out.write(f"  {item.tokens:>8,}  {item.kind:<11} {item.path}{st.dim(via)}\n")
    if not budget.items:
        out.write("  no CLAUDE.md, rules or memory files found\n")
    low, high = budget.error_band
    out.write(
        f"{st.bold('Total:')} {budget.tokens:,} tokens (band {low:,}-{high:,}), "
        f"{budget.share_of_context:.2%} of a {budget.context_window:,}-token window\n"
    )
    for server in budget.mcp_servers:
        out.write(f"  MCP server {server.name} ({server.scope}, {server.transport}): tools not counted\n")
    for note in budget.notes:
        out.write(st.dim(f"note: {note}") + "\n")
    out.write("\n")
