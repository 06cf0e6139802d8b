"""Hostile workspaces, by class: what a cloned repository, a broken machine or a careless tool
can leave where claude-health looks.

Each case writes a fake HOME and project (``tests.conftest.Sandbox``) with the hostile input and
a few planted fake keys (built at run time), so every surface can be checked for crashes and
leaks on the same ground.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from claude_health.tools.usage.synthetic import assistant_record, line
from tests.conftest import Sandbox
from tests.fakes import fake_key

DEEP = 100_000  # JSON nesting, far past every parser's recursion limit
BIG = 9 * 1024 * 1024  # just over the 8 MiB cap on configuration files
GIANT = 300 * 1024 * 1024  # sparse: costs nothing to create, everything to read whole

Build = Callable[["Hostile"], None]


@dataclass
class Hostile:
    """One hostile workspace: the sandbox, extra environment, and the fake keys planted in it."""

    sandbox: Sandbox
    env: dict[str, str] = field(default_factory=dict)
    secrets: list[str] = field(default_factory=list)
    stdin: bytes = b""

    @property
    def home(self) -> Path:
        return self.sandbox.home

    @property
    def project(self) -> Path:
        return self.sandbox.project

    def write(self, path: Path, content: str | bytes) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8", errors="surrogatepass")
        return path

    def secret(self, kind: str = "api_key") -> str:
        key = fake_key(kind)
        self.secrets.append(key)
        return key


@dataclass(frozen=True)
class Case:
    klass: str
    name: str
    build: Build


def plant_secrets(h: Hostile) -> None:
    """Keys where a real user has them: every case carries these, whatever else it breaks."""
    h.write(h.project / "config.py", f'API_KEY = "{h.secret()}"\n')
    h.write(h.home / ".zshrc", f"export ANTHROPIC_API_KEY={h.secret()}\n")
    h.write(
        h.home / ".claude" / ".credentials.json",
        json.dumps(
            {
                "claudeAiOauth": {
                    "accessToken": h.secret("oauth_access_token"),
                    "refreshToken": h.secret("oauth_refresh_token"),
                    "expiresAt": 4102444800000,
                    "scopes": ["user:inference"],
                    "subscriptionType": "max",
                }
            }
        ),
    )
    h.write(
        h.project / ".mcp.json",
        json.dumps({"mcpServers": {"db": {"command": "db-server", "env": {"API_TOKEN": h.secret()}}}}),
    )


def transcript(h: Hostile, text: str | bytes, name: str = "s.jsonl") -> Path:
    return h.write(h.home / ".claude" / "projects" / "-hostile" / name, text)


def good_transcript(h: Hostile) -> None:
    at = datetime.now(UTC) - timedelta(minutes=30)
    transcript(h, line(assistant_record(session="s", msg_id="m1", request_id="r1", at=at, output_tokens=5)))


def nested(depth: int, leaf: str = "1") -> str:
    return "[" * depth + leaf + "]" * depth


def fifo(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() or path.is_symlink():
        path.unlink()
    os.mkfifo(path)


def unix_socket(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(path))
    sock.close()  # the socket file stays


def git(h: Hostile, *args: str) -> None:
    subprocess.run(
        ["git", *args],
        cwd=h.project,
        env={"PATH": "/usr/bin:/bin", "HOME": str(h.home), "GIT_CONFIG_NOSYSTEM": "1"},
        capture_output=True,
        check=True,
        timeout=60,
    )


# -- malformed ----------------------------------------------------------------------------------


def garbage_json(h: Hostile) -> None:
    for path in (
        h.home / ".claude" / "settings.json",
        h.project / ".claude" / "settings.json",
        h.project / ".claude" / "settings.local.json",
        h.sandbox.managed / "managed-settings.json",
        h.home / ".claude.json",
        h.home / ".claude" / ".credentials.json",
        h.project / ".mcp.json",
    ):
        h.write(path, '{"permissions": {"allow": ["Bash(ls:*)",], // comment\n  "env": {"A": 1\n')
    h.write(h.home / ".config" / "claude-health" / "limits.toml", "tier = [unclosed\n")
    transcript(h, '{"type":"assistant","message":{"usage":{"input_tokens":"many"}}\n{not json}\n\x00\x01\n')


def wrong_types(h: Hostile) -> None:
    h.sandbox.user_settings(
        {
            "permissions": {"allow": 5, "deny": [1, None, {"x": 1}], "defaultMode": ["x"]},
            "hooks": {"PreToolUse": "rm -rf /", "Stop": [{"hooks": [{"type": 3}]}]},
            "env": ["ANTHROPIC_API_KEY", h.secret()],
            "model": {"id": 1},
            "statusLine": {"type": "command", "command": ["x"]},
            "apiKeyHelper": 12,
            "enabledMcpjsonServers": "all",
        }
    )
    h.sandbox.project_settings({"permissions": None, "env": {"X": {"nested": True}, "": "empty name"}})
    h.sandbox.claude_json(
        {
            "mcpServers": {"s": {"type": 7, "command": None}, "t": {"type": "http"}, "": {}},
            "projects": {str(h.project): {"hasTrustDialogAccepted": "yes", "allowedTools": {}}},
            "primaryApiKey": 42,
            "oauthAccount": [],
        }
    )
    h.write(
        h.project / ".mcp.json",
        json.dumps({"mcpServers": {"x": {"command": 1, "args": "no", "env": {"K": 5}}, "y": []}}),
    )
    h.write(h.home / ".config" / "claude-health" / "limits.toml", 'tier = 5\n[models]\nx = "y"\n')
    at = (datetime.now(UTC) - timedelta(minutes=10)).isoformat()
    records = [
        {
            "type": "assistant",
            "timestamp": at,
            "message": {"id": "a", "model": 5, "usage": {"input_tokens": "9"}},
        },
        {
            "type": "assistant",
            "timestamp": "yesterday",
            "message": {"id": "b", "usage": {"output_tokens": -5}},
        },
        {"type": "assistant", "timestamp": at, "message": {"id": "c", "usage": {"output_tokens": 10**30}}},
        {"type": "assistant", "timestamp": at, "message": {"id": "d", "usage": []}},
        {"type": "assistant", "timestamp": 1e308, "message": {"id": "e", "usage": {"input_tokens": 1.5}}},
    ]
    transcript(h, "".join(json.dumps(r) + "\n" for r in records))


def broken_urls(h: Hostile) -> None:
    urls = ["http://[::1", "http://h:99999/", "https://", "ht!tp://x", "http://a b/", "http://\u2028x/"]
    h.write(
        h.project / ".mcp.json",
        json.dumps({"mcpServers": {f"s{i}": {"type": "http", "url": u} for i, u in enumerate(urls)}}),
    )
    h.sandbox.claude_json({"mcpServers": {"u": {"type": "sse", "url": "http://[::1/sse"}}})
    h.sandbox.user_settings({"env": {"ANTHROPIC_BASE_URL": "http://[::1"}})
    h.env.update(
        {
            "ANTHROPIC_BASE_URL": "http://h:abc",
            "ANTHROPIC_API_KEY": h.secret(),
            "CLAUDE_HEALTH_LIMITER_URL": "redis://[::1",
        }
    )


def broken_environment(h: Hostile) -> None:
    h.env.update(
        {
            "CLAUDE_CONFIG_DIR": str(h.project / "missing") + ",,,",
            "CLAUDE_HEALTH_STATE_DB": str(h.project),  # a directory, not a database
            "XDG_CONFIG_HOME": "relative/dir",
            "XDG_CACHE_HOME": "~nobody-here/x",
            "ANTHROPIC_MODEL": "\x1b[31mopus" + "x" * 5000,
            "CLAUDE_CODE_MAX_OUTPUT_TOKENS": "1e999",
            "TZ": "Mars/Olympus_Mons",
            "CLAUDE_CODE_USE_BEDROCK": "maybe",
            "ANTHROPIC_AUTH_TOKEN": h.secret(),
        }
    )


def broken_git(h: Hostile) -> None:
    git(h, "init", "-q")
    h.write(h.project / ".git" / "HEAD", "ref: refs/heads/\x00nowhere\n")
    h.write(h.project / ".git" / "index", b"DIRC\xff\xff\xff\xff garbage")
    h.write(h.project / ".gitignore", "[unclosed\n!\n" + "*" * 5000 + "\n")


# -- huge ---------------------------------------------------------------------------------------


def huge_configs(h: Hostile) -> None:
    h.write(h.home / ".claude" / "settings.json", '{"env": {"PAD": "' + "x" * BIG + '"}}')
    h.write(
        h.project / ".claude" / "settings.json",
        json.dumps({"permissions": {"allow": [f"Bash(cmd{i}:*)" for i in range(5_000)]}}),
    )
    servers = {f"s{i}": {"command": f"/no/such/{i}", "env": {"K": "v" * 100}} for i in range(2_000)}
    h.write(h.project / ".mcp.json", json.dumps({"mcpServers": servers}))
    h.write(h.project / ".claude" / "settings.local.json", '{"model": ' + "9" * 5000 + "}")
    h.write(
        h.home / ".claude.json",
        json.dumps({"projects": {f"/p/{i}": {"allowedTools": []} for i in range(20_000)}}),
    )
    h.write(h.home / ".codex" / "config.toml", "x = " + "9" * 5000 + "\n")


def giant_files(h: Hostile) -> None:
    for path in (h.project / "giant.py", h.project / "CLAUDE.md", h.home / ".claude" / "CLAUDE.md"):
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as fh:
            fh.truncate(GIANT)
    good_transcript(h)
    with (h.home / ".claude" / "projects" / "-hostile" / "giant.jsonl").open("wb") as fh:
        fh.truncate(GIANT)  # NUL bytes, no newline: one endless line
    h.write(h.project / "wide.py", "x = 1\n" * 500_000)


# -- deep ---------------------------------------------------------------------------------------


def deep_json(h: Hostile) -> None:
    deep = nested(DEEP)
    for path in (
        h.home / ".claude" / "settings.json",
        h.project / ".claude" / "settings.json",
        h.home / ".claude.json",
        h.project / ".mcp.json",
        h.home / ".claude" / ".credentials.json",
    ):
        h.write(path, '{"env": {"A": ' + deep + "}}")
    h.write(
        h.project / ".claude" / "settings.local.json",
        '{"permissions": {"allow": ' + nested(3000, '"Bash"') + "}}",
    )
    transcript(h, '{"type":"assistant","message":{"usage":' + nested(DEEP) + "}}\n")
    h.write(h.home / ".codex" / "config.toml", "x = " + "[" * 5000 + "]" * 5000 + "\n")
    h.write(
        h.home / ".config" / "claude-health" / "limits.toml",
        "x = " + "{a = " * 2000 + "1" + "}" * 2000 + "\n",
    )
    h.stdin = ('{"model": ' + nested(DEEP) + "}").encode()


def deep_directories(h: Hostile) -> None:
    level = h.project
    for _ in range(1500):
        level = level / "d"
        level.mkdir()
    (level / "deep.py").write_text(f'KEY = "{h.secret()}"\n')
    (level / "CLAUDE.md").write_text("@../CLAUDE.md\n")
    imports = h.project / "imports"
    imports.mkdir()
    for i in range(50):  # a long @import chain, and a cycle back to the start
        (imports / f"m{i}.md").write_text(f"@./m{i + 1}.md\n@./m0.md\n")
    h.write(h.project / "CLAUDE.md", "@imports/m0.md\n@CLAUDE.md\n")


# -- oddly encoded ------------------------------------------------------------------------------


def odd_encodings(h: Hostile) -> None:
    h.write(h.home / ".claude" / "settings.json", "\ufeff" + json.dumps({"model": "opus"}))
    h.write(h.project / ".claude" / "settings.json", json.dumps({"env": {"A": "b"}}).encode("utf-16"))
    h.write(h.project / ".claude" / "settings.local.json", b'{"env": {"A": "\xff\xfe\xc0\x80"}}')
    h.write(h.sandbox.managed / "managed-settings.json", b'{"model": "a\x00b"}')
    h.write(h.home / ".claude.json", '{"mcpServers": {"\\ud800": {"command": "\\udfff"}}, "x": "\\ud83d"}')
    h.write(h.project / "CLAUDE.md", "line\r\nother\r" + "\u202e\u200b" * 100)
    transcript(
        h, b'{"type":"assistant","timestamp":"2026-01-01T00:00:00Z","message":{"id":"\xff","usage":{}}}\n'
    )
    h.write(h.project / "latin1.py", "caf\xe9 = 1\n".encode("latin-1"))
    h.stdin = b'{"model": {"display_name": "\\ud800\\u001b]0;x\\u0007"}, "cost": "\xff"}'


def control_characters(h: Hostile) -> None:
    name = "Op\x1b]0;pwned\x07us\x1b[2J\u202e"
    h.sandbox.user_settings({"model": name, "permissions": {"allow": [f"Bash({name}:*)", "Read(\x00/etc)"]}})
    h.write(
        h.project / ".mcp.json", json.dumps({"mcpServers": {name: {"command": name, "args": ["\x1b[A"]}}})
    )
    odd = h.project / os.fsdecode(b"\xff\xfe dir")  # not UTF-8: surrogate-escaped in Python
    h.write(odd / os.fsdecode(b"bad\xffname.py"), f'TOKEN = "{h.secret()}"\n')
    h.write(h.project / f"\x1b]0;title\x07{chr(0x202E)}.py", "x = 1\n")
    h.write(h.project / "tab\tand\nnewline.md", "doc\n")


# -- special files ------------------------------------------------------------------------------


def special_files(h: Hostile) -> None:
    for path in (
        h.home / ".claude" / "settings.json",
        h.project / ".claude" / "settings.json",
        h.project / ".mcp.json",
        h.home / ".claude" / ".credentials.json",
        h.project / "CLAUDE.md",
        h.home / ".claude" / "projects" / "-hostile" / "fifo.jsonl",
        h.home / ".codex" / "config.toml",
        h.home / ".config" / "claude-health" / "limits.toml",
        h.project / "pipe.py",
    ):
        fifo(path)
    unix_socket(h.project / "sock.py")
    (h.project / ".claude" / "settings.local.json").symlink_to("/dev/zero")
    (h.home / ".claude.json").mkdir()
    (h.sandbox.managed / "managed-settings.json").symlink_to(h.sandbox.managed / "managed-settings.json")
    (h.project / "dangling.py").symlink_to(h.project / "nowhere.py")
    (h.project / "loop").mkdir()
    (h.project / "loop" / "self").symlink_to(h.project / "loop")
    (h.project / "root").symlink_to("/")
    (h.project / "etc-passwd.txt").symlink_to("/etc/passwd")
    (h.project / "rules").mkdir(exist_ok=True)
    good_transcript(h)


def broken_state(h: Hostile) -> None:
    """claude-health's own state, damaged: garbage, foreign tables, values of the wrong type."""
    good_transcript(h)
    cache = h.home / ".cache" / "claude-health"
    cache.mkdir(parents=True)
    db = sqlite3.connect(cache / "limiter.db")
    db.executescript(
        "CREATE TABLE limiter_buckets (a, b);"
        "CREATE TABLE usage_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
        "INSERT INTO usage_meta VALUES ('schema', '3');"
        "CREATE TABLE usage_entries (x);"
    )
    db.close()
    h.write(cache / "statusline.db", b"SQLite format 3\x00" + b"\xff" * 4096)
    h.write(cache / "token-cache.db", b"not a database at all")


# -- the cases, by class ------------------------------------------------------------------------

CASES: list[Case] = [
    Case("malformed", "garbage-json", garbage_json),
    Case("malformed", "wrong-types", wrong_types),
    Case("malformed", "broken-urls", broken_urls),
    Case("malformed", "broken-environment", broken_environment),
    Case("malformed", "broken-git", broken_git),
    Case("huge", "huge-configs", huge_configs),
    Case("huge", "giant-files", giant_files),
    Case("deep", "deep-json", deep_json),
    Case("deep", "deep-directories", deep_directories),
    Case("encoded", "odd-encodings", odd_encodings),
    Case("encoded", "control-characters", control_characters),
    Case("special", "special-files", special_files),
    Case("special", "broken-state", broken_state),
]


def build(case: Case, root: Path) -> Hostile:
    """The workspace of ``case`` under ``root`` (planted keys first, so the case may break them)."""
    sandbox = Sandbox(root)
    h = Hostile(sandbox)
    plant_secrets(h)
    case.build(h)
    return h


# Leak vectors that only an output-boundary redaction layer catches (issue 13, "Secrets"). Each
# is its own case, so a failure names the vector.
def ellipsis_env(h: Hostile) -> None:
    h.sandbox.user_settings({"env": {"MY_TOKEN": "…" + h.secret()}})


def escaped_key_in_mcp_json(h: Hostile) -> None:
    key = h.secret()
    h.write(
        h.project / ".mcp.json",
        '{"mcpServers": {"s": {"command": "x", "env": {"K": "' + key.replace("-", "\\u002d") + '"}}}}',
    )


def key_in_file_name(h: Hostile) -> None:
    h.write(h.project / f"notes-{h.secret()}.md", "hello\n")


LEAK_VECTORS: dict[str, Build] = {
    "ellipsis-before-a-key-in-settings-env": ellipsis_env,
    "json-escaped-key-in-mcp-json": escaped_key_in_mcp_json,
    "key-in-a-file-name": key_in_file_name,
}
