"""Reboots and clock steps never wedge the limiter and never mint tokens, on every store.

A simulated machine (:class:`SimClock`) keeps true time apart from what its clocks read: a
reboot restarts ``monotonic()`` while the wall clock goes on, a step moves only the wall clock,
and elapsed time moves both. Memory and SQLite read it directly (SQLite also from real
subprocesses, as separate processes before and after a reboot would); Redis reads its server's
``TIME``, so its tests forge what a server clock stepped back or forward leaves in a key.

The contract, after every event: no bucket ever holds more than its capacity; an event in
itself adds nothing beyond the time that truly passed, except a jump forward, which can at most
fill a bucket; refill resumes at its normal rate at once (a drained bucket grants its next
request within 60 / capacity seconds of true time); a ``retry-after`` hold never has more left
than its length, and is gone once that length of true time has passed.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from claude_health.tools.limiter.core import Limiter
from claude_health.tools.limiter.stores import redis_store
from tests import test_limiter_support as support

redis_server = support.redis_server  # the shared fixture

RPM = 60  # one request per second refills
HOME_ENV = "HOME"


class SimClock:
    """One machine's clocks. ``true`` is the time that really passed (the test's referee)."""

    def __init__(self, wall: float = 1_750_000_000.0, uptime: float = 500_000.0) -> None:
        self.wall = wall
        self.mono = uptime
        self.true = 0.0

    def monotonic(self) -> float:
        return self.mono

    def time(self) -> float:
        return self.wall

    def advance(self, seconds: float) -> None:
        """Time passes: both clocks move."""
        self.wall += seconds
        self.mono += seconds
        self.true += seconds

    def step(self, seconds: float) -> None:
        """The wall clock is set (NTP, a person, a VM resumed): only it moves, either way."""
        self.wall += seconds

    def reboot(self, downtime: float) -> None:
        """The machine restarts: monotonic begins again near zero, the wall clock went on."""
        self.wall += downtime
        self.true += downtime
        self.mono = 3.0


def _open(url: str, home: Path, clock: SimClock) -> Limiter:
    return Limiter.open(
        url, limits={"m": {"rpm": RPM}}, env={HOME_ENV: str(home)}, home=home, clock=clock, fallback=None
    )


def _drain(lim: Limiter, most: int = RPM * 3) -> int:
    granted = 0
    while granted < most and lim.try_acquire("m", 0, 0).allowed:
        granted += 1
    return granted


class Machine:
    """A store of one kind on a simulated machine; ``restart`` is a new process (after a reboot)."""

    def __init__(self, kind: str, tmp_path: Path) -> None:
        self.kind = kind
        self.home = tmp_path
        self.clock = SimClock()
        self.url = "memory://" if kind == "memory" else f"sqlite:///{tmp_path / 'state' / 'limiter.db'}"
        self.lim = _open(self.url, tmp_path, self.clock)

    def restart(self) -> None:
        if self.kind == "sqlite":  # a memory store dies with its process; nothing to carry over
            self.lim.close()
            self.lim = _open(self.url, self.home, self.clock)

    def held(self) -> float:
        decision = self.lim.would_admit("m", 0, 0)
        return decision.retry_after if decision.binding == "retry-after" else 0.0

    def hold(self, seconds: float) -> None:
        self.lim.observe_headers("m", {"retry-after": str(seconds)}, status_code=429)

    def available(self) -> float:
        bucket = self.lim.status("m").classes[0].buckets[0]
        assert bucket.available is not None
        return bucket.available


@pytest.fixture(params=["memory", "sqlite"])
def machine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Machine]:
    m = Machine(request.param, tmp_path)
    yield m
    m.lim.close()


# -- reboots --------------------------------------------------------------------------------


def test_a_reboot_does_not_wedge_a_drained_bucket(tmp_path: Path) -> None:
    m = Machine("sqlite", tmp_path)
    assert _drain(m.lim) == RPM
    m.clock.reboot(downtime=20.0)  # up again 20 s later, uptime back to 3 s
    m.restart()
    assert _drain(m.lim) == 20  # what 20 s refilled: no less (a wedge), no more (minted)
    m.clock.advance(1.0)
    assert _drain(m.lim) == 1  # and refill goes on at its normal rate
    m.clock.advance(600.0)
    assert _drain(m.lim) == RPM


def test_a_hold_across_a_reboot_lasts_what_is_left_of_it(tmp_path: Path) -> None:
    m = Machine("sqlite", tmp_path)
    m.hold(30)
    assert m.held() == pytest.approx(30)
    m.clock.reboot(downtime=10.0)
    m.restart()
    assert m.held() == pytest.approx(20)  # not the old uptime
    m.clock.advance(20.0)
    assert m.held() == 0.0
    assert m.lim.try_acquire("m", 0, 0).allowed


def test_a_store_from_before_the_wall_clock_fix_recovers(tmp_path: Path) -> None:
    """A file whose buckets and hold were dated by ``monotonic()`` (uptime seconds) and whose
    holds table has no length column: opened now, nothing wedges and nothing exceeds capacity."""
    import sqlite3

    db = tmp_path / "state" / "limiter.db"
    db.parent.mkdir()
    conn = sqlite3.connect(db)
    conn.executescript(
        "CREATE TABLE limiter_buckets (key TEXT PRIMARY KEY, tokens REAL NOT NULL, ts REAL NOT NULL,"
        " capacity REAL NOT NULL, learned INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;"
        "CREATE TABLE limiter_holds (key TEXT PRIMARY KEY, until REAL NOT NULL) WITHOUT ROWID;"
        "INSERT INTO limiter_buckets VALUES ('org|model:m|rpm', -5, 9e9, 60, 0);"
        "INSERT INTO limiter_holds VALUES ('org|model:m|hold', 9e9);"
    )
    conn.commit()
    conn.close()
    m = Machine("sqlite", tmp_path)
    # The old hold is dated far ahead: it is held no longer than the longest retry-after, and
    # re-dated, so a day later it is gone rather than held until year 2255.
    assert 0 < m.held() <= 86_400
    assert m.lim.try_acquire("m", 0, 0).binding == "retry-after"
    m.clock.advance(86_400)
    assert m.held() == 0.0
    assert _drain(m.lim) <= RPM


# -- steps of the clock ----------------------------------------------------------------------


def _step(m: Machine, seconds: float) -> None:
    """A step of the clock the store reads (memory: its monotonic reading, under test only)."""
    if m.kind == "memory":
        m.clock.mono += seconds
    else:
        m.clock.step(seconds)


@pytest.mark.parametrize("back", [0.5, 61.0, 3_600.0, 86_400.0 * 365])
def test_a_step_back_neither_mints_nor_wedges(machine: Machine, back: float) -> None:
    assert _drain(machine.lim) == RPM
    machine.clock.advance(10.0)  # 10 requests refill ...
    _step(machine, -back)  # ... then the clock goes back
    assert _drain(machine.lim) <= 10  # the step minted nothing
    machine.clock.advance(2.0)
    assert _drain(machine.lim) == 2  # refill resumes at once at its normal rate
    refused = machine.lim.try_acquire("m", 0, 0)
    assert refused.binding == "rpm" and 0 < refused.retry_after <= 1.0
    machine.clock.advance(60.0)
    assert _drain(machine.lim) == RPM
    assert machine.available() <= RPM


@pytest.mark.parametrize("forward", [5.0, 3_600.0, 86_400.0 * 365])
def test_a_jump_forward_fills_at_most_to_capacity(machine: Machine, forward: float) -> None:
    assert _drain(machine.lim) == RPM
    # Debt: a response that used far more than reserved (refill starts below zero).
    machine.lim.record_usage("m", {"input_tokens": 10, "output_tokens": 10})
    _step(machine, forward)
    assert machine.available() <= RPM
    assert _drain(machine.lim) <= min(RPM, forward)
    machine.clock.advance(1.0)
    assert _drain(machine.lim) == 1


@pytest.mark.parametrize("back", [1.0, 3_600.0, 86_400.0 * 30])
def test_a_step_back_does_not_stretch_a_hold(machine: Machine, back: float) -> None:
    machine.hold(30)
    machine.clock.advance(10.0)
    _step(machine, -back)
    left = machine.held()
    assert 0 < left <= 30  # never more than the hold's own length
    held = machine.lim.try_acquire("m", 0, 0)
    assert held.binding == "retry-after" and held.retry_after <= 30
    # It outlives its retry-after (20 s left) by at most the step, and never by more than 10 s.
    outlives = min(30.0, 20.0 + back)
    machine.clock.advance(outlives - 0.5)
    assert machine.held() > 0  # the step did not drop the hold either
    machine.clock.advance(0.5)
    assert machine.held() == 0.0
    assert machine.lim.try_acquire("m", 0, 0).allowed


def test_a_hold_that_is_over_stays_over_after_a_step_back(machine: Machine) -> None:
    machine.hold(30)
    machine.clock.advance(31.0)
    assert machine.lim.try_acquire("m", 0, 0).allowed  # a decision sees the hold over
    _step(machine, -3_600.0)
    assert machine.held() == 0.0
    assert machine.lim.try_acquire("m", 0, 0).allowed


def test_the_longer_of_two_holds_wins_with_its_own_length(machine: Machine) -> None:
    machine.hold(30)
    machine.hold(5)  # a shorter one does not cut the longer short
    assert machine.held() == pytest.approx(30)
    machine.clock.advance(28.0)
    machine.hold(10)  # a longer one extends it, and a step back cannot stretch it past 10
    _step(machine, -3_600.0)
    assert machine.held() == pytest.approx(10)


# -- random sequences of events ----------------------------------------------------------------

event = st.one_of(
    st.tuples(st.just("advance"), st.floats(0.0, 120.0)),
    st.tuples(st.just("step"), st.floats(-400_000.0, 400_000.0)),
    st.tuples(st.just("reboot"), st.floats(0.0, 120.0)),
    st.tuples(st.just("take"), st.integers(0, RPM + 5)),
    st.tuples(st.just("hold"), st.integers(1, 90)),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(["memory", "sqlite"]), events=st.lists(event, min_size=1, max_size=25))
def test_any_sequence_of_reboots_and_steps(
    tmp_path_factory: pytest.TempPathFactory, kind: str, events: list[tuple[str, float]]
) -> None:
    m = Machine(kind, tmp_path_factory.mktemp("clock"))
    hold_ends: list[float] = []  # true times at which each hold ends
    lengths: list[float] = []
    try:
        for index, (name, value) in enumerate(events):
            before = m.available()
            if name == "advance":
                m.clock.advance(value)
            elif name == "step":
                _step(m, value)
            elif name == "reboot":
                m.clock.reboot(value)
                if kind == "memory":  # a memory store does not survive a reboot: a new one
                    m.lim.close()
                    m.lim = _open(m.url, m.home, m.clock)
                    hold_ends.clear()
                    lengths.clear()
                    before = RPM
                m.restart()
            elif name == "take":
                taken = sum(m.lim.try_acquire("m", 0, 0).allowed for _ in range(int(value)))
                assert taken <= before + 0.05 and taken <= RPM
            else:
                m.hold(value)
                hold_ends.append(m.clock.true + value)
                lengths.append(value)
            now_available = m.available()
            assert now_available <= RPM + 1e-6  # never over capacity
            if name in ("reboot", "advance") or (name == "step" and value < 0):
                # Nothing but true time adds tokens (a step back adds none).
                refilled = (value if name != "step" else 0.0) * RPM / 60.0
                assert now_available <= before + refilled + 0.1  # status rounds to 0.1
            left = m.held()
            assert left <= max(lengths, default=0.0)  # never more than a hold's own length
            pending = max([end - m.clock.true for end in hold_ends], default=0.0)
            assert left <= max(0.0, pending) + _stretch(events[: index + 1]) + 1e-6
        # Whatever happened, true time heals: the first decision re-dates a hold a step left in
        # the future, and the longest hold passes; the next re-dates the bucket, which then
        # refills within a minute.
        m.lim.try_acquire("m", 0, 0)
        m.clock.advance(90.0)
        assert m.held() == 0.0
        m.lim.try_acquire("m", 0, 0)
        m.clock.advance(60.0)
        assert _drain(m.lim) == RPM
    finally:
        m.lim.close()


def _stretch(events: list[tuple[str, float]]) -> float:
    """The most a step back may have stretched a pending hold: the steps back taken together."""
    return -sum(v for name, v in events if name == "step" and v < 0)


# -- SQLite across real processes -----------------------------------------------------------

_PROCESS = """
import json, sys
from pathlib import Path
from claude_health.tools.limiter.core import Limiter

url, home, wall, mono, action = sys.argv[1:6]

class Fixed:
    def monotonic(self): return float(mono)
    def time(self): return float(wall)

lim = Limiter.open(url, limits={"m": {"rpm": 60}}, env={"HOME": home}, home=Path(home),
                   clock=Fixed(), fallback=None)
if action == "drain":
    n = 0
    while n < 500 and lim.try_acquire("m", 0, 0).allowed:
        n += 1
    print(json.dumps({"granted": n}))
elif action.startswith("hold:"):
    lim.observe_headers("m", {"retry-after": action[5:]}, status_code=429)
    print(json.dumps({}))
else:
    d = lim.try_acquire("m", 0, 0)
    print(json.dumps({"allowed": d.allowed, "binding": d.binding, "wait": d.retry_after}))
"""


def _process(url: str, home: Path, wall: float, mono: float, action: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", _PROCESS, url, str(home), repr(wall), repr(mono), action],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "HOME": str(home)},
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_processes_before_and_after_a_reboot_and_a_step_share_one_timeline(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    wall, uptime = 1_750_000_000.0, 900_000.0
    # Before the reboot: one process drains the bucket, another records a 60 s hold.
    assert _process(url, tmp_path, wall, uptime, "drain") == {"granted": RPM}
    _process(url, tmp_path, wall, uptime + 1, "hold:60")
    # 15 s later the machine is up again (uptime 2 s): 44 s of the hold are left, not 900,000.
    after = _process(url, tmp_path, wall + 15, 2.0, "ask")
    assert after["binding"] == "retry-after"
    assert after["wait"] == pytest.approx(45.0)
    assert _process(url, tmp_path, wall + 61, 47.0, "drain") == {"granted": RPM}
    # The wall clock is then set back an hour: the next process refills from where it is, at
    # its normal rate, and gains nothing from the step.
    stepped = wall + 61 - 3_600
    assert _process(url, tmp_path, stepped, 48.0, "ask")["binding"] == "rpm"
    assert _process(url, tmp_path, stepped + 5, 53.0, "drain") == {"granted": 5}


# -- Redis: what a step of the server's clock leaves in a key -------------------------------------


@pytest.fixture
def redis_url(redis_server: str) -> str:
    support.flush(redis_server, 2)
    return f"{redis_server}/2"


def _redis_parts(url: str) -> tuple[object, str]:
    import redis

    client = redis.Redis.from_url(url)
    key, _ = redis_store.class_key("org|model:m|rpm")
    return client, key


def _server_now(client: object) -> float:
    secs, micros = client.time()  # type: ignore[attr-defined]
    return float(secs) + float(micros) / 1e6


def _forge(client: object, key: str, values: list[float]) -> None:
    packed = struct.pack(f"<{len(values)}d", *values)
    client.set(key, packed)  # type: ignore[attr-defined]


def _rpm_state(
    hold: float = 0.0, tokens: float = 0.0, ts: float = 0.0, length: float | None = None
) -> list[float]:
    """A class key with only the RPM slot written (15 doubles; 14 when ``length`` is None)."""
    values = [hold, 0.0, tokens, ts, 0.0] + [0.0] * 9
    return values if length is None else [*values, length]


def test_redis_bucket_dated_ahead_by_a_server_clock_step_is_redated(redis_url: str, tmp_path: Path) -> None:
    lim = Limiter.open(redis_url, limits={"m": {"rpm": 600}}, env={HOME_ENV: str(tmp_path)}, home=tmp_path)
    client, key = _redis_parts(redis_url)
    now = _server_now(client)
    _forge(client, key, _rpm_state(tokens=0.0, ts=now + 3_600.0, length=0.0))  # written an hour "ahead"
    refused = lim.try_acquire("m", 0, 0)
    assert refused.binding == "rpm" and refused.retry_after <= 0.1 + 1e-9
    values = struct.unpack("<15d", client.get(key))  # type: ignore[attr-defined]
    assert values[3] <= _server_now(client)  # the refusal re-dated it
    assert values[2] == 0.0  # at the same level: nothing minted
    time.sleep(0.25)  # 600 RPM: 10 a second refill, at once
    assert lim.try_acquire("m", 0, 0).allowed
    lim.close()


def test_redis_hold_stretched_by_a_step_back_is_cut_to_its_length(redis_url: str, tmp_path: Path) -> None:
    lim = Limiter.open(redis_url, limits={"m": {"rpm": 600}}, env={HOME_ENV: str(tmp_path)}, home=tmp_path)
    client, key = _redis_parts(redis_url)
    lim.observe_headers("m", {"retry-after": "1"}, status_code=429)
    values = struct.unpack("<15d", client.get(key))  # type: ignore[attr-defined]
    assert values[14] == 1.0  # the hold's length is kept with it
    # The server's clock steps back an hour: the hold's end now lies an hour ahead.
    _forge(client, key, [values[0] + 3_600.0, *values[1:]])
    assert 0 < lim.would_admit("m", 0, 0).retry_after <= 1.0
    held = lim.try_acquire("m", 0, 0)
    assert held.binding == "retry-after" and held.retry_after <= 1.0
    time.sleep(1.05)
    assert lim.try_acquire("m", 0, 0).allowed
    # The decision that found the hold over cleared it: a later step back cannot revive it.
    assert struct.unpack("<15d", client.get(key))[0] == 0.0  # type: ignore[attr-defined]
    lim.close()


def test_redis_key_of_the_previous_layout_keeps_its_level(redis_url: str, tmp_path: Path) -> None:
    lim = Limiter.open(redis_url, limits={"m": {"rpm": 60}}, env={HOME_ENV: str(tmp_path)}, home=tmp_path)
    client, key = _redis_parts(redis_url)
    now = _server_now(client)
    _forge(client, key, _rpm_state(tokens=2.0, ts=now))  # 14 doubles, no hold length
    assert sum(lim.try_acquire("m", 0, 0).allowed for _ in range(10)) == 2
    assert len(client.get(key)) == 120  # type: ignore[attr-defined]
    # An old-layout hold far ahead is held no longer than the longest retry-after, and re-dated.
    _forge(client, key, _rpm_state(hold=now + 10 * 86_400.0, tokens=60.0, ts=now))
    assert 86_000 < lim.try_acquire("m", 0, 0).retry_after <= 86_400
    values = struct.unpack("<15d", client.get(key))  # type: ignore[attr-defined]
    assert values[0] <= _server_now(client) + 86_400 and values[14] == 86_400
    lim.close()


def test_redis_jump_forward_fills_at_most_to_capacity(redis_url: str, tmp_path: Path) -> None:
    lim = Limiter.open(redis_url, limits={"m": {"rpm": 60}}, env={HOME_ENV: str(tmp_path)}, home=tmp_path)
    client, key = _redis_parts(redis_url)
    now = _server_now(client)
    # Dated a year back and in debt: the jump fills the bucket, never past it.
    _forge(client, key, _rpm_state(tokens=-1_000.0, ts=now - 365 * 86_400.0, length=0.0))
    assert sum(lim.try_acquire("m", 0, 0).allowed for _ in range(100)) == 60
    lim.close()


# -- debt -------------------------------------------------------------------------------------


def test_an_absurd_usage_charge_does_not_wedge_the_bucket(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """A billion-token ``usage`` (a hostile or broken caller) leaves at most one capacity of debt:
    the next request fits within two minutes, not weeks, on every store."""
    for url in ("memory://", f"sqlite:///{tmp_path / 'debt.db'}", None):
        if url is None:
            base: str = request.getfixturevalue("redis_server")
            support.flush(base, 3)
            url = f"{base}/3"
        lim = Limiter.open(
            url,
            limits={"m": {"rpm": 60, "itpm": 30_000, "otpm": 8_000}},
            env={HOME_ENV: str(tmp_path)},
            home=tmp_path,
            fallback=None,
        )
        lim.record_usage("m", {"input_tokens": 10**9, "output_tokens": 10**9})
        refused = lim.try_acquire("m", 1_000, 1_000)
        assert refused.binding in ("itpm", "otpm", "tpm"), url
        assert 60.0 < refused.retry_after <= 120.0, url
        lim.close()
