"""SessionStart: say who pays when it is not the plan the user logged in with, and what is broken.

Silent when healthy. Otherwise one JSON object: ``hookSpecificOutput.additionalContext`` for the
model (short: names the variable and where it comes from) and ``systemMessage`` for the user.
Claude Code 2.1.332 runs the hook in ``claude -p`` too, so scripted runs get the same warning.

The verdict is computed by :func:`claude_health.tools.guard.facts.session_facts`, rendered, and
cached per project with a fingerprint of its inputs (:mod:`.fingerprint`), for at most
:data:`TTL_S`: the usual start only stats a few files and prints what it printed last time.
Standard library only until the cache misses. The key scan's part (:mod:`.keyscan`) is cached
apart with its own inputs, so that a new variable or a settings edit does not list and read the
project tree again; the verdict is as old as its oldest part.
"""

from __future__ import annotations

import json
import sqlite3

from claude_health.tools import __version__
from claude_health.tools.guard.fingerprint import decides_key_scan, fingerprint

TYPE_CHECKING = False  # typing.TYPE_CHECKING would import typing; type checkers honour this name
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from claude_health.tools.guard.facts import KeyScan
    from claude_health.tools.paths import Workspace

TTL_S = 3600.0  # the key scan's freshness: untracked files change no fingerprint
MAX_PROBLEMS_SHOWN = 3
CACHE_VERSION = f"{__version__}/guard-2"
VERDICTS = "guard_facts"  # the whole verdict, rendered
KEY_SCANS = "guard_keys"  # the key scan's part
_LOAD = {
    VERDICTS: "SELECT fingerprint, at, verdict FROM guard_facts WHERE project = ?",
    KEY_SCANS: "SELECT fingerprint, at, verdict FROM guard_keys WHERE project = ?",
}
_STORE = {
    VERDICTS: "INSERT OR REPLACE INTO guard_facts (project, fingerprint, at, verdict) VALUES (?, ?, ?, ?)",
    KEY_SCANS: "INSERT OR REPLACE INTO guard_keys (project, fingerprint, at, verdict) VALUES (?, ?, ?, ?)",
}


def load_verdict(
    conn: sqlite3.Connection, project: str, table: str = VERDICTS
) -> tuple[str, float, dict[str, Any]] | None:
    row = conn.execute(_LOAD[table], (project,)).fetchone()
    if row is None:
        return None
    try:
        verdict = json.loads(row[2])
    except ValueError:
        return None
    return (row[0], row[1], verdict) if isinstance(verdict, dict) else None


def store_verdict(
    conn: sqlite3.Connection,
    project: str,
    fingerprint: str,
    at: float,
    verdict: dict[str, Any],
    table: str = VERDICTS,
) -> None:
    conn.execute(_STORE[table], (project, fingerprint, at, json.dumps(verdict)))


def current_fingerprint(env: Mapping[str, str], verdict: Mapping[str, Any]) -> str:
    paths = verdict.get("depends_on") or []
    return fingerprint(
        env, [p for p in paths if isinstance(p, str)], verdict.get("global_config"), CACHE_VERSION
    )


def key_scan_fingerprint(env: Mapping[str, str], scan: Mapping[str, Any]) -> str:
    paths = scan.get("depends_on") or []
    return fingerprint(
        env, [p for p in paths if isinstance(p, str)], None, CACHE_VERSION + "/keys", decides_key_scan
    )


def verdict_for(conn: sqlite3.Connection, env: Mapping[str, str], project: str, now: float) -> dict[str, Any]:
    """The cached verdict when nothing it depends on changed, else a fresh one (then cached)."""
    cached = load_verdict(conn, project)
    if cached is not None:
        stored_fp, at, verdict = cached
        if 0 <= now - at < TTL_S and current_fingerprint(env, verdict) == stored_fp:
            return verdict
    # A cache miss only: the hit path must not load the checks (tests/test_guard_hooks.py).
    from claude_health.tools.guard.facts import session_facts
    from claude_health.tools.paths import Workspace

    ws = Workspace.discover(project=project, env=dict(env))
    keys, keys_at = key_scan_for(conn, env, ws, project, now)
    verdict = session_facts(ws, keys).to_json()
    # Rendered (and scrubbed) once here, so that a start with a warning to repeat costs no more
    # than a silent one.
    verdict["output"] = render(verdict)
    # As old as its oldest part: a key scan taken from the cache still expires on its own hour.
    store_verdict(conn, project, current_fingerprint(env, verdict), keys_at, verdict)
    return verdict


def key_scan_for(
    conn: sqlite3.Connection, env: Mapping[str, str], ws: Workspace, project: str, now: float
) -> tuple[KeyScan, float]:
    """The key scan's verdict and when it was taken: the cached one unless its own inputs changed
    or its hour is up, else a fresh one (then cached)."""
    from claude_health.tools.guard.facts import KeyScan

    cached = load_verdict(conn, project, KEY_SCANS)
    if cached is not None:
        stored_fp, at, scan = cached
        if 0 <= now - at < TTL_S and key_scan_fingerprint(env, scan) == stored_fp:
            try:
                return KeyScan.from_json(scan), at
            except (TypeError, ValueError, KeyError, AttributeError):
                pass  # not what this version stores: scan again
    # Only when the scan runs: the tree listing, git and the scanner are most of a recompute's
    # imports.
    from claude_health.tools.guard.keyscan import scan as scan_keys

    fresh = scan_keys(ws)
    data = fresh.to_json()
    store_verdict(conn, project, key_scan_fingerprint(env, data), now, data, KEY_SCANS)
    return fresh, now


def output_for(
    conn: sqlite3.Connection, env: Mapping[str, str], project: str, now: float
) -> dict[str, Any] | None:
    """What SessionStart prints for this project now (None: nothing)."""
    verdict = verdict_for(conn, env, project, now)
    out = verdict.get("output") if "output" in verdict else render(verdict)
    return out if isinstance(out, dict) else None


def _billing_lines(billing: Mapping[str, Any]) -> tuple[str, str] | None:
    if not billing.get("overrides_plan"):
        return None
    culprit = billing.get("culprit") or "another credential"
    origin = billing.get("origin")
    plan = f"Claude {billing['plan']}" if billing.get("plan") else "Claude subscription"
    source = f"{culprit} (from {origin})" if origin else culprit
    if billing.get("billing") == "cloud":
        cost = "billed to the cloud provider's account"
    else:
        cost = "billed per token to the API account behind it"
    for_model = (
        f"This session is not using the user's {plan} plan: {source} overrides the claude.ai login, so "
        f"every request is {cost}. Tell the user now, before doing costly work; removing {culprit} "
        "and restarting Claude Code switches back to the plan."
    )
    for_user = (
        f"{source} overrides your {plan} login: this session is {cost}, not your plan. Remove it and "
        "restart to use the plan (`claude-health auth` explains)."
    )
    return for_model, for_user


def render(verdict: Mapping[str, Any]) -> dict[str, Any] | None:
    """The hook's JSON output, or None when there is nothing to say."""
    model_parts: list[str] = []
    user_parts: list[str] = []
    billing = _billing_lines(verdict.get("billing") or {})
    if billing:
        model_parts.append(billing[0])
        user_parts.append(billing[1])
    problems = [p for p in verdict.get("problems") or [] if isinstance(p, dict) and p.get("text")]
    if problems:
        shown = [f"[{p.get('code', '')}] {p['text']}" for p in problems[:MAX_PROBLEMS_SHOWN]]
        more = len(problems) - len(shown)
        tail = f" (+{more} more)" if more > 0 else ""
        model_parts.append(
            "Problems in the user's Claude Code setup: "
            + " ".join(shown)
            + tail
            + " Mention them to the user if they bear on the task."
        )
        user_parts.append(" ".join(shown) + tail + " Run `claude-health doctor` for the fixes.")
    if not model_parts:
        return None
    # The last word on secrets in output; only when there is something to say (a cache miss).
    from claude_health.tools.settings.scrub import scrub_text

    return {
        "systemMessage": scrub_text("claude-health: " + " ".join(user_parts)),
        "hookSpecificOutput": {
            "hookEventName": "SessionStart",
            "additionalContext": scrub_text("claude-health: " + " ".join(model_parts)),
        },
    }
