"""Generated hostile input (hypothesis, bounded): settings documents, status line payloads and
JSON-RPC lines built from hostile pieces. Each example is one case of the tally."""

from __future__ import annotations

import json
import tempfile
import traceback
from pathlib import Path
from typing import Any

import mcp_types
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from claude_health.server.stdio import error_reply, top_level_id
from claude_health.tools.paths import Workspace
from claude_health.tools.settings.effective import effective_settings
from claude_health.tools.settings.validate import validate_workspace
from claude_health.tools.usage.statusline import statusline
from tests.hostile.harness import TALLY, Outcome, terminal_control

PIECES = st.sampled_from(
    ["\x1b]0;t\x07", "\x1b[2J", "\u202e", "\x00", "…", "\ud800", "${HOME}", "Bash(*)", "../../", "9" * 50]
)
TEXT = st.one_of(st.text(max_size=30), PIECES, st.lists(PIECES, max_size=4).map("".join))
SCALAR = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**64), max_value=2**64), st.floats(), TEXT
)
TREE = st.recursive(
    SCALAR,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=20,
)
KEYS = st.sampled_from(
    [
        "permissions",
        "hooks",
        "env",
        "model",
        "statusLine",
        "apiKeyHelper",
        "mcpServers",
        "enabledMcpjsonServers",
    ]
)
SETTINGS = st.dictionaries(st.one_of(KEYS, TEXT), TREE, max_size=6)
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=True, allow_nan=True)  # escapes the lone surrogates


@FAST
@given(user=SETTINGS, project=SETTINGS, mcp=TREE)
def test_generated_settings_documents(user: dict[str, Any], project: dict[str, Any], mcp: Any) -> None:
    outcome = Outcome("malformed", "generated-settings", "validate_workspace + effective_settings")
    with tempfile.TemporaryDirectory() as root:
        home, proj = Path(root, "home"), Path(root, "project")
        (home / ".claude").mkdir(parents=True)
        (proj / ".claude").mkdir(parents=True)
        (home / ".claude" / "settings.json").write_text(_dump(user))
        (proj / ".claude" / "settings.json").write_text(_dump(project))
        (proj / ".mcp.json").write_text(_dump({"mcpServers": mcp}))
        ws = Workspace.discover(
            project=proj, env={"HOME": str(home), "CLAUDE_HEALTH_MANAGED_DIR": root}, platform="linux"
        )
        try:
            validation = validate_workspace(ws)
            json.dumps([f.to_json() for f in validation.findings], ensure_ascii=True)
            effective_settings(validation).to_json()
        except Exception:  # any exception is the crash being counted
            outcome.crash = traceback.format_exc()[-2000:]
    TALLY.add(outcome)
    assert outcome.ok, outcome.explain()


@FAST
@given(
    payload=st.dictionaries(
        st.sampled_from(["model", "rate_limits", "cost", "context_window", "session_id"]) | TEXT,
        TREE,
        max_size=5,
    ),
    name=TEXT,
)
def test_generated_status_line_payloads(payload: dict[str, Any], name: str) -> None:
    outcome = Outcome("encoded", "generated-statusline", "statusline()")
    payload.setdefault("model", {"display_name": name})
    with tempfile.TemporaryDirectory() as home:
        try:
            line = statusline(
                _dump(payload).encode(), {"CLAUDE_HEALTH_STATE_DB": str(Path(home, "s.db"))}, home, 1.8e9
            )
            line.encode("utf-8")  # printable as it is
            outcome.unsafe = terminal_control(line)
        except Exception:
            outcome.crash = traceback.format_exc()[-2000:]
    TALLY.add(outcome)
    assert outcome.ok, outcome.explain()


LINE = st.one_of(
    TREE.map(_dump),
    st.text(max_size=200),
    st.tuples(st.integers(0, 300), st.sampled_from(["[", '{"a":'])).map(
        lambda t: '{"jsonrpc":"2.0","id":5,"method":"x","params":{"p":' + t[1] * t[0] + "}}"
    ),
)


@FAST
@given(line=LINE)
def test_generated_request_lines_are_answered_or_passed(line: str) -> None:
    """What the stdio screen does with any line the SDK refuses: an error to send, never a crash."""
    outcome = Outcome("malformed", "generated-jsonrpc-lines", "stdio screen")
    try:
        mcp_types.jsonrpc_message_adapter.validate_json(line, by_name=False)
    except ValidationError as exc:
        try:
            reply = error_reply(exc)
            if reply is not None:
                reply.model_dump_json(by_alias=True, exclude_unset=True)
            top_level_id(line)
        except Exception:
            outcome.crash = traceback.format_exc()[-2000:]
    except ValueError:
        pass  # not the SDK's ValidationError: the SDK reader passes these on as well
    TALLY.add(outcome)
    assert outcome.ok, outcome.explain()
