"""The forked reader's half of a long scan, handed over as a SQLite image and merged by SQL.

Binding fifteen parameters per row is most of what storing a first load costs, and it is work in
Python, so it does not overlap with anything when the parent does it for both halves. Instead the
child stores its own rows (and their quarter-hour totals) in an in-memory database while the
parent stores its half in the ledger, and sends the database's image (``serialize``: its pages as
one ``bytes``) over the fork's pipe. The parent loads the image into an attached in-memory schema
and copies it with one ``INSERT ... SELECT``: a C-level copy, no Python per row. Nothing is
written to disk on the way, so a killed run leaves no file behind to be cleaned up or misread.

Which copy of a response is kept is decided as a single reader decides it (:func:`.rows.better`,
ties keep the parent's copy, which a single reader saw first); a sidechain replay of a response
loses to its main-chain copy (the replay delete in :mod:`.store`). Every copy that loses is
taken back out of the quarter-hour totals, so they equal ``GROUP BY`` over the rows kept
(``tests/test_usage_fork_reader.py``).
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Sequence

from claude_health.tools.usage.bulk import Quarters
from claude_health.tools.usage.rows import Row, better

TYPE_CHECKING = False  # typing.TYPE_CHECKING would import typing; type checkers honour this name
if TYPE_CHECKING:
    from pickle import PickleBuffer

NAME = "usage_stage"
_COLUMNS = (
    "msg, req, ts, model, project, session, file, sidechain, speed, input, output, cc5m, cc1h, cc, cread"
)
_QUARTER_COLUMNS = "q, model, project, speed, tier, input, output, cc5m, cc1h, cc, cread, n"

# ruff: noqa: S608 - every SQL string here is built from constants, never from input.

# Adds a quarter's sums (positive or negative) to the ledger's; used for the stage's table and
# for taking the copies that lost back out.
_ADD_QUARTERS = """
    ON CONFLICT (q, model, project, speed, tier) DO UPDATE SET
        input = input + excluded.input, output = output + excluded.output,
        cc5m = cc5m + excluded.cc5m, cc1h = cc1h + excluded.cc1h, cc = cc + excluded.cc,
        cread = cread + excluded.cread, n = n + excluded.n"""


def image(rows: Sequence[Row], quarters: Quarters) -> bytes:
    """An in-memory database holding ``rows`` (sorted by key) and their quarter sums, serialised.

    Plain rowid tables without indexes: rows appended in key order are copied out in that order.
    """
    conn = sqlite3.connect(":memory:", isolation_level=None)
    try:
        conn.execute(f"CREATE TABLE usage_entries ({_COLUMNS})")
        conn.execute(f"CREATE TABLE usage_quarters ({_QUARTER_COLUMNS})")
        conn.execute("BEGIN")
        conn.executemany(f"INSERT INTO usage_entries VALUES ({', '.join('?' * 15)})", rows)
        conn.executemany(
            f"INSERT INTO usage_quarters VALUES ({', '.join('?' * 12)})",
            [(*key, *acc) for key, acc in quarters.items()],
        )
        conn.execute("COMMIT")
        return conn.serialize()
    finally:
        conn.close()


def attach(conn: sqlite3.Connection) -> None:
    """An empty schema for the image, attached outside any transaction (SQLite requires it)."""
    if not any(row[1] == NAME for row in conn.execute("PRAGMA database_list")):
        conn.execute(f"ATTACH DATABASE ':memory:' AS {NAME}")


def detach(conn: sqlite3.Connection) -> None:
    """Free the image (after the write transaction ended)."""
    with contextlib.suppress(sqlite3.Error):
        conn.execute(f"DETACH DATABASE {NAME}")


def load(conn: sqlite3.Connection, data: bytes | bytearray | memoryview | PickleBuffer) -> None:
    """Put the image into the attached schema (allowed inside the ledger's write transaction)."""
    conn.deserialize(data, name=NAME)


def merge_first_load(conn: sqlite3.Connection) -> list[Row]:
    """Copy the staged rows into an empty ledger's entries, which hold the parent's half, and add
    the staged quarter sums. Returns every copy that lost (to take out of the quarter sums)."""
    removed: list[Row] = []
    replace: list[Row] = []
    # Responses read by both halves (a resumed session's copied lines): rare, settled here.
    for pair in conn.execute(
        f"SELECT s.*, m.* FROM {NAME}.usage_entries AS s"
        " JOIN main.usage_entries AS m ON m.msg = s.msg AND m.req = s.req"
    ):
        staged, stored = pair[:15], pair[15:]
        if better(staged, stored):
            replace.append(staged)
            removed.append(stored)
        else:
            removed.append(staged)
    conn.executemany(
        f"INSERT OR REPLACE INTO main.usage_entries ({_COLUMNS}) VALUES ({', '.join('?' * 15)})", replace
    )
    conn.execute(
        f"INSERT OR IGNORE INTO main.usage_entries ({_COLUMNS}) SELECT {_COLUMNS} FROM {NAME}.usage_entries"
    )
    conn.execute(
        f"INSERT INTO main.usage_quarters ({_QUARTER_COLUMNS})"
        f" SELECT {_QUARTER_COLUMNS} FROM {NAME}.usage_quarters WHERE true {_ADD_QUARTERS}"
    )
    return removed


def upsert_staged(conn: sqlite3.Connection, on_conflict: str) -> list[str]:
    """Upsert the staged rows into a ledger that had entries (its triggers keep the totals), by
    the ledger's rule for which copy wins (``on_conflict``); returns the message ids touched
    (for the replay check)."""
    conn.execute(
        f"INSERT INTO main.usage_entries ({_COLUMNS})"
        f" SELECT {_COLUMNS} FROM {NAME}.usage_entries WHERE true {on_conflict}"
    )
    return [str(m) for (m,) in conn.execute(f"SELECT DISTINCT msg FROM {NAME}.usage_entries WHERE msg != ''")]


def subtract(conn: sqlite3.Connection, sums: Quarters) -> None:
    """Take quarter sums (negative counts: copies that lost) out of the ledger's totals."""
    conn.executemany(
        f"INSERT INTO main.usage_quarters ({_QUARTER_COLUMNS})"
        f" VALUES ({', '.join('?' * 12)}) {_ADD_QUARTERS}",
        [(*key, *acc) for key, acc in sums.items() if acc[6]],
    )
    conn.execute("DELETE FROM main.usage_quarters WHERE n = 0")
