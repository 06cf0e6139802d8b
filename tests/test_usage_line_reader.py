"""A warm run's line reader (stdlib JSON, no msgspec) stores exactly what the typed reader stores.

Small reads (a warm run's megabyte) go through :class:`~claude_health.tools.usage.rows.LineReader`,
long ones through the typed :class:`~claude_health.tools.usage.lines.BlockReader`; every line,
odd ones included, must be judged the same either way.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from claude_health.tools.usage import scan, store
from claude_health.tools.usage.synthetic import assistant_record, line, user_record

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def _odd_lines() -> list[str]:
    """Lines of every shape the typed decoder refuses or treats specially, among normal ones."""
    out: list[str] = []

    def rec(i: int, **changes: object) -> dict[str, object]:
        r = assistant_record(
            session="s", msg_id=f"msg_{i}", request_id=f"req_{i}", at=T0 + timedelta(minutes=i)
        )
        r.update(changes)
        return r

    out.append(line(rec(0)))
    out.append(line(rec(0) | {"message": {**rec(0)["message"], "usage": {"output_tokens": 99}}}))  # type: ignore[dict-item]
    out.append(line(rec(1, isSidechain=True)))
    out.append(line(rec(1, requestId="req_1b", isSidechain=True)))  # a replay under another requestId
    r = rec(2)
    r["message"]["usage"]["output_tokens"] = 12.0  # type: ignore[index]
    out.append(line(r))  # a float count: refused by the typed decoder, taken by the careful one
    out.append(line(rec(3, isSidechain="yes")))  # not a bool: not a sidechain
    out.append(line(rec(4, timestamp="2026-11-20 09:04:00+00:00")))
    out.append(line(rec(5, timestamp="2026-11-20T09:05:00")))  # naive: a bad line
    out.append(line(rec(6, timestamp=None)))
    r = rec(7)
    r["message"]["id"] = ""  # type: ignore[index]
    out.append(line(r))  # keyed by where its line sits
    r = rec(8)
    del r["message"]["id"]  # type: ignore[attr-defined]
    out.append(line(r))
    out.append(line(rec(9, requestId=12345)))
    r = rec(10)
    r["message"]["usage"]["input_tokens"] = 10**13  # type: ignore[index]
    out.append(line(r))
    r = rec(11)
    r["message"]["usage"]["input_tokens"] = -1  # type: ignore[index]
    out.append(line(r))
    r = rec(12)
    r["message"]["model"] = "<synthetic>"  # type: ignore[index]
    out.append(line(r))
    r = rec(13)
    r["message"]["usage"] = None  # type: ignore[index]
    out.append(line(r))
    out.append(line(rec(14, sessionId="séance ☃")))
    out.append(line(user_record("s", T0, "r" * 500)))
    out.append('{"type":"assistant","message":{"usage": broken\n')
    out.append('{"type":"assistant","usage":1,"x":' + "[" * 5000 + "]" * 5000 + "}\n")
    out.append(line(assistant_record(session="s", msg_id="msg_15", request_id="req_15", at=T0, speed="fast")))
    return out


def _write(root: Path) -> None:
    lines = _odd_lines()
    for f in range(3):
        path = root / "projects" / f"-p{f}" / f"s{f}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(lines[f:] + lines[:f]), encoding="utf-8")


def _scan(db: Path, root: Path) -> tuple[scan.ScanStats, list[tuple[object, ...]]]:
    conn = store.connect(db)
    try:
        stats = scan.scan(conn, {}, root / "home", roots=[root / "projects"])
        rows = conn.execute("SELECT * FROM usage_entries ORDER BY msg, req").fetchall()
        # A response without message.id is keyed by its file and offset: compare without the root.
        rows = [(r[0], r[1].replace(str(root), ""), *r[2:]) for r in rows]
        return stats, rows
    finally:
        conn.close()


@pytest.mark.parametrize("appended", [False, True])
def test_line_reader_and_typed_reader_store_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, appended: bool
) -> None:
    results = []
    for name, limit in (("typed", 0), ("lines", 1 << 62)):
        root = tmp_path / name
        _write(root)
        monkeypatch.setattr(scan, "TYPED_DECODE_BYTES", limit)
        stats, rows = _scan(tmp_path / f"{name}.db", root)
        if appended:  # a second, incremental run over appended lines
            for path in sorted((root / "projects").rglob("*.jsonl")):
                with path.open("a", encoding="utf-8") as fh:
                    fh.write("".join(_odd_lines()[::-1]))
            stats, rows = _scan(tmp_path / f"{name}.db", root)
        results.append(
            ((stats.files_read, stats.usage_lines, stats.bad_lines, len(stats.bad_line_files)), rows)
        )
    assert results[0] == results[1]
    counts, rows = results[0]
    assert counts[1] > 0 and counts[2] > 0  # both usage and bad lines were met
    assert any(r[8] == "fast" for r in rows)


def test_a_warm_json_report_does_not_import_msgspec(tmp_path: Path) -> None:
    """A small read and the report's JSON use the standard library (msgspec costs ~25 ms to import)."""
    _write(tmp_path)
    env = {
        "HOME": str(tmp_path / "home"),
        "CLAUDE_CONFIG_DIR": str(tmp_path),
        "CLAUDE_HEALTH_STATE_DB": str(tmp_path / "state.db"),
        "TZ": "UTC",
        "PATH": "/usr/bin:/bin",
    }
    code = (
        "import sys, json\n"
        "from claude_health.server.cli import main\n"
        "code = main(['usage', 'daily', '--json'])\n"
        "sys.stderr.write(json.dumps(sorted(m for m in sys.modules if m.startswith('msgspec'))))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode in (0, 1), done.stderr
    assert json.loads(done.stderr.strip().splitlines()[-1]) == []
    report = json.loads(done.stdout)
    assert report["totals"]["output_tokens"] > 0


def test_the_typed_reader_loads_msgspec_without_typing_extensions() -> None:
    """In a process that has not loaded typing_extensions (the CLI), msgspec takes Python's own
    typing helpers: no typing_extensions, no inspect on a first load's start. The decoder works,
    and typing_extensions stays importable afterwards."""
    code = (
        "import sys, json, importlib.util\n"
        "assert importlib.util.find_spec('typing_extensions') is not None  # installed here\n"
        "from claude_health.tools.usage import lines\n"
        "loaded = sorted(m for m in ('typing_extensions', 'inspect') if m in sys.modules)\n"
        'ln = lines._DECODER.decode(b\'{"type":"assistant","timestamp":"2026-11-20T09:00:00.123Z"}\')\n'
        "import typing_extensions\n"
        "print(json.dumps([loaded, ln.type, ln.timestamp.microsecond]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [[], "assistant", 123000]
