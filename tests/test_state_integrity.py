"""State claude-health did not write: wrong types, foreign schemas, odd Redis keys and URLs.

The state database and the Redis keys are claude-health's own, but another program, a manual
edit, an older or newer version or a damaged disk can leave anything there. Each case ends in a
finding or a clear error that names the file (or key), the state is rebuilt or the store refused,
and nothing is deleted: rows that cannot be used move to ``*_set_aside`` tables.
"""

from __future__ import annotations

import json
import sqlite3
import struct
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from claude_health.tools.limiter.core import Limiter
from claude_health.tools.limiter.stores import Event, StoreError, open_store
from claude_health.tools.limiter.stores.redis_store import EVENTS_KEY, PREFIX
from claude_health.tools.state import state_db_path
from claude_health.tools.usage.synthetic import assistant_record, line
from tests.conftest import Sandbox
from tests.mcp_helpers import cli_path
from tests.test_limiter_support import flush, redis_server  # noqa: F401 - the fixture

MODEL = "claude-sonnet-4-5"


def run(sandbox: Sandbox, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [cli_path(), *args, "--project", str(sandbox.project)],
        env={**sandbox.env, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def clean(done: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert "Traceback" not in done.stdout + done.stderr, done.stderr[-3000:]
    assert done.returncode in (0, 1, 2), (done.returncode, done.stderr[-1000:])
    return done


def seeded(sandbox: Sandbox) -> Path:
    """A state database written by claude-health itself: buckets, a hold, events, usage rows."""
    path = sandbox.home / ".claude" / "projects" / "-p" / "s.jsonl"
    path.parent.mkdir(parents=True)
    at = datetime.now(UTC) - timedelta(hours=1)
    path.write_text(line(assistant_record(session="s", msg_id="m1", request_id="r1", at=at, output_tokens=7)))
    lim = Limiter.open(env=sandbox.env, home=sandbox.home, fallback=None)
    lim.try_acquire(MODEL, 10, 10)
    lim.observe_headers(MODEL, {"retry-after": "30"}, status_code=429)
    lim.close()
    clean(run(sandbox, "usage"))
    return state_db_path(sandbox.env, sandbox.home)


def execute(db: Path, *statements: str) -> None:
    conn = sqlite3.connect(db)
    for statement in statements:
        conn.execute(statement)
    conn.commit()
    conn.close()


def rows(db: Path, sql: str) -> list[Any]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def codes(done: subprocess.CompletedProcess[str]) -> list[str]:
    return [f["code"] for f in json.loads(done.stdout)["findings"]]


@pytest.mark.parametrize("value", ["'abc'", "x'00ff'", "1e999"])
def test_limiter_rows_that_are_not_numbers_are_reported_and_rewritten(sandbox: Sandbox, value: str) -> None:
    db = seeded(sandbox)
    execute(
        db,
        f"UPDATE limiter_buckets SET tokens = {value}, ts = {value}",  # noqa: S608
        f"UPDATE limiter_holds SET until = {value}",  # noqa: S608
        "INSERT INTO limiter_events VALUES ('abc', 1, x'00', 'd')",
        "INSERT INTO limiter_events VALUES (1e999, '429', 'm', 'd')",
    )
    for command in (("limits", "--json"), ("doctor", "--only", "limits", "--json")):
        done = clean(run(sandbox, *command))
        assert "L004" in codes(done), (command, done.stdout[-2000:])
        assert str(db) in done.stdout
    lim = Limiter.open(env=sandbox.env, home=sandbox.home, fallback=None)
    assert lim.try_acquire(MODEL, 10, 10).allowed  # the damaged buckets count as never written
    lim.close()
    assert all(isinstance(v, float) for r in rows(db, "SELECT tokens, ts FROM limiter_buckets") for v in r)


@pytest.mark.parametrize(
    ("table", "schema"),
    [
        ("limiter_buckets", "CREATE TABLE limiter_buckets (a, b)"),
        ("limiter_holds", "CREATE VIEW limiter_holds AS SELECT 1 AS key"),
        ("limiter_events", "CREATE TABLE limiter_events (x)"),
    ],
)
def test_a_foreign_limiter_table_is_refused_not_touched(sandbox: Sandbox, table: str, schema: str) -> None:
    db = state_db_path(sandbox.env, sandbox.home)
    db.parent.mkdir(parents=True)
    execute(db, schema, "CREATE TABLE other_program (x)", "INSERT INTO other_program VALUES (42)")
    with pytest.raises(StoreError, match=table) as caught:
        open_store(f"sqlite:///{db}")
    assert str(db) in str(caught.value)
    done = clean(run(sandbox, "limits", "--json"))
    found = [f for f in json.loads(done.stdout)["findings"] if f["code"] == "L004"]
    assert found and table in found[0]["message"], done.stdout
    assert rows(db, "SELECT x FROM other_program") == [(42,)]
    assert table in {r[0] for r in rows(db, "SELECT name FROM sqlite_master")}


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("input", "'abc'"),
        ("ts", "x'00ff'"),
        ("ts", "9223372036854775807"),
        ("model", "x'ff'"),
        ("cc", "1e308"),
    ],
)
def test_usage_rows_of_the_wrong_type_are_set_aside_and_the_transcripts_read_again(
    sandbox: Sandbox, column: str, value: str
) -> None:
    db = seeded(sandbox)
    execute(db, f"UPDATE usage_entries SET {column} = {value}")  # noqa: S608
    # Repaired when read (checking every row on every run would cost a warm report its speed):
    # the plan view reads the entries of the current block.
    done = clean(run(sandbox, "usage", "--json"))
    found = [f for f in json.loads(done.stdout)["findings"] if f["code"] == "U010"]
    assert found and str(db) in found[0]["message"], done.stdout[-2000:]
    assert json.loads(done.stdout)["local"]["totals"]["output_tokens"] == 7  # read again from the transcript
    assert len(rows(db, "SELECT * FROM usage_entries_set_aside")) == 1  # nothing deleted
    again = clean(run(sandbox, "usage", "daily", "--json"))
    assert "U010" not in codes(again) and json.loads(again.stdout)["totals"]["output_tokens"] == 7


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE usage_quarters SET tier = 'abc'",
        "UPDATE usage_quarters SET model = x'ff'",
        "UPDATE usage_files SET path = x'00ff'",
        # (path = NULL is refused by the schema itself since version 4: NOT NULL)
        "UPDATE usage_files SET offset = 'abc'",
        "INSERT OR REPLACE INTO usage_blocks_dirty VALUES (0, 'abc')",
    ],
)
def test_every_usage_report_survives_damaged_derived_rows(sandbox: Sandbox, statement: str) -> None:
    db = seeded(sandbox)
    execute(db, statement)
    for report in ((), ("daily",), ("weekly",), ("monthly",), ("blocks",)):
        done = clean(run(sandbox, "usage", *report, "--json"))
        assert done.returncode in (0, 1)
    assert "Traceback" not in clean(run(sandbox, "doctor", "--only", "usage")).stderr


def test_a_foreign_usage_table_is_reported_and_left_alone(sandbox: Sandbox) -> None:
    db = seeded(sandbox)
    execute(
        db,
        "DROP TABLE usage_entries",
        "CREATE TABLE usage_entries (x)",
        "INSERT INTO usage_entries VALUES (1)",
    )
    done = clean(run(sandbox, "usage", "--json"))
    found = [f for f in json.loads(done.stdout)["findings"] if f["code"] == "U006"]
    assert found and "usage_entries" in found[0]["message"] and str(db) in found[0]["message"]
    assert json.loads(done.stdout)["local"]["window"] == "block"  # answered from an in-memory scan
    assert rows(db, "SELECT x FROM usage_entries") == [(1,)]


def test_status_line_snapshots_of_the_wrong_type_are_ignored(sandbox: Sandbox) -> None:
    seeded(sandbox)
    snapshots = state_db_path(sandbox.env, sandbox.home).with_name("statusline.db")
    now = time.time()
    execute(
        snapshots,
        "CREATE TABLE IF NOT EXISTS usage_statusline (captured_at REAL NOT NULL, session TEXT NOT NULL, "
        "model TEXT NOT NULL, five_pct REAL, five_reset INTEGER, week_pct REAL, week_reset INTEGER, "
        "cost_usd REAL, context_pct REAL)",
        f"INSERT INTO usage_statusline VALUES ({now}, 's', 'm', 'abc', 1e300, 50, x'00', NULL, NULL)",  # noqa: S608
    )
    done = clean(run(sandbox, "usage", "--json"))
    assert json.loads(done.stdout)["official"]["five_hour"] is None


# -- Redis ------------------------------------------------------------------------------------------


def _redis(url: str) -> Any:
    import redis

    return redis.Redis.from_url(url)


def test_a_redis_key_of_another_type_is_named(sandbox: Sandbox, redis_server: str) -> None:  # noqa: F811
    flush(redis_server)
    url = f"{redis_server}/0"
    client = _redis(url)
    key = f"{PREFIX}org|sonnet-4"
    client.hset(key, "a", "b")
    lim = Limiter.open(url, env=sandbox.env, home=sandbox.home, fallback=None)
    with pytest.raises(StoreError, match="another type") as caught:
        lim.try_acquire(MODEL, 1, 1)
    assert key in str(caught.value)
    lim.close()
    done = clean(run(sandbox, "limits", "--json", CLAUDE_HEALTH_LIMITER_URL=url))
    assert any(f["code"] == "L004" and key in f["message"] for f in json.loads(done.stdout)["findings"])
    assert client.hget(key, "a") == b"b"  # not overwritten
    client.close()


@pytest.mark.parametrize(
    "payload",
    [
        "[" * 100_000 + "]" * 100_000,
        json.dumps({"kind": "429", "model": "m", "at": 10**400}),
        '{"kind": "429", "model": "m", "at": 1e999}',
        '{"kind": "429", "model": "m", "at": NaN}',
        '{"kind": 1, "model": "m", "at": 1}',
        "[1]",
        "\udcff".encode("utf-8", "surrogateescape").decode("latin-1"),
    ],
)
def test_redis_events_no_claude_health_wrote_are_skipped(
    sandbox: Sandbox,
    redis_server: str,  # noqa: F811
    payload: str,
) -> None:
    flush(redis_server)
    url = f"{redis_server}/0"
    client = _redis(url)
    client.lpush(EVENTS_KEY, payload)
    store = open_store(url)
    store.record_event(Event("429", MODEL, time.time()))
    assert [e.model for e in store.events(0)] == [MODEL]
    store.close()
    client.close()
    clean(run(sandbox, "limits", CLAUDE_HEALTH_LIMITER_URL=url))


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_redis_states_that_are_not_numbers_read_as_unused(
    sandbox: Sandbox,
    redis_server: str,  # noqa: F811
    value: float,
) -> None:
    flush(redis_server)
    url = f"{redis_server}/0"
    client = _redis(url)
    client.set(f"{PREFIX}org|sonnet-4", struct.pack("<14d", *[value] * 14))
    lim = Limiter.open(url, env=sandbox.env, home=sandbox.home, fallback=None)
    status = lim.status(MODEL)
    assert all(b.available == b.limit for b in status.classes[0].buckets if b.limit)
    assert status.classes[0].retry_after == 0
    lim.close()
    client.close()


def test_a_redis_url_with_an_unknown_query_parameter_is_a_clear_error(
    sandbox: Sandbox,
    redis_server: str,  # noqa: F811
) -> None:
    url = f"{redis_server}/0?foo=bar"
    with pytest.raises(StoreError, match="query parameter 'foo'"):
        open_store(url)
    done = clean(run(sandbox, "limits", "--store", url))
    assert done.returncode == 2 and "'foo'" in done.stderr
    doctor = clean(run(sandbox, "doctor", "--only", "limits", "--json", CLAUDE_HEALTH_LIMITER_URL=url))
    assert any(f["code"] == "L004" and "'foo'" in f["message"] for f in json.loads(doctor.stdout)["findings"])
