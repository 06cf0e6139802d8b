"""The Admin API paths against a local server that follows the documented contract.

Real code path (the shared Anthropic client, its retries, the core limiter), only the base URL
differs: ``CLAUDE_HEALTH_ADMIN_BASE_URL`` points at tests/fake_admin.py on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from claude_health.tools.admin.credential import AdminKeyError, find_admin_key
from claude_health.tools.admin.service import organisation_usage, sync_limits
from claude_health.tools.limiter.core import Limiter
from claude_health.tools.limiter.orglimits import org_limits_path
from tests.conftest import Sandbox
from tests.fake_admin import CLAUDE_CODE, COST, RATE_LIMITS, USAGE, WORKSPACES, FakeAdmin, sample_org
from tests.fake_anthropic import Reply
from tests.fakes import fake_key

NOW = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)


@pytest.fixture
def admin_key() -> str:
    return fake_key("admin_key")


@pytest.fixture
def env(sandbox: Sandbox) -> Sandbox:
    sandbox.env["XDG_CONFIG_HOME"] = str(sandbox.home / "xdg")
    sandbox.env["CLAUDE_HEALTH_STATE_DB"] = str(sandbox.root / "state" / "limiter.db")
    return sandbox


@pytest.fixture
def admin(admin_key: str, env: Sandbox) -> Iterator[FakeAdmin]:
    with FakeAdmin(admin_key, sample_org(NOW.date())) as fake:
        env.env["ANTHROPIC_ADMIN_KEY"] = admin_key
        env.env["CLAUDE_HEALTH_ADMIN_BASE_URL"] = fake.base_url
        yield fake


def status_of(env: Sandbox, model: str) -> dict[str, tuple[float | None, str]]:
    lim = Limiter.open(env=env.env, home=env.home)
    try:
        cls = lim.status(model).classes[0]
        return {b.dimension: (b.limit, b.source) for b in cls.buckets}
    finally:
        lim.close()


# -- the key ---------------------------------------------------------------------------------------


def test_the_admin_key_comes_from_its_own_variable_only(env: Sandbox, admin_key: str) -> None:
    env.env["ANTHROPIC_API_KEY"] = admin_key  # an admin key where a regular key belongs: not used
    with pytest.raises(AdminKeyError, match="ANTHROPIC_ADMIN_KEY is not set") as err:
        find_admin_key(env.env, env.home)
    assert admin_key not in str(err.value)
    env.env["ANTHROPIC_ADMIN_KEY"] = f"  {admin_key}\n"
    key = find_admin_key(env.env, env.home)
    assert key.secret == admin_key and key.source == "ANTHROPIC_ADMIN_KEY"
    assert admin_key not in repr(key) and key.redacted.startswith("sk-ant-admin01-…")


def test_a_regular_key_is_never_taken_for_an_admin_key(env: Sandbox) -> None:
    regular = fake_key("api_key")
    env.env["ANTHROPIC_ADMIN_KEY"] = regular
    with pytest.raises(AdminKeyError, match="holds an Anthropic API key") as err:
        find_admin_key(env.env, env.home)
    assert regular not in str(err.value) and regular[-4:] in str(err.value)
    env.env["ANTHROPIC_ADMIN_KEY"] = "not-a-key"
    with pytest.raises(AdminKeyError, match="not an Admin API key"):
        find_admin_key(env.env, env.home)


def test_a_key_in_the_config_file_must_be_private(env: Sandbox, admin_key: str) -> None:
    config = env.write(
        env.home / "xdg" / "claude-health" / "limits.toml", f'tier = "build"\n[admin]\nkey = "{admin_key}"\n'
    )
    config.chmod(0o644)
    with pytest.raises(AdminKeyError, match="chmod 600") as err:
        find_admin_key(env.env, env.home)
    assert admin_key not in str(err.value)
    config.chmod(0o600)
    key = find_admin_key(env.env, env.home)
    assert key.secret == admin_key and key.source == str(config)


# -- rate limits -----------------------------------------------------------------------------------


def test_sync_seeds_the_limiter_with_the_organisations_limits(env: Sandbox, admin: FakeAdmin) -> None:
    before = status_of(env, "claude-opus-4-8")
    assert before["rpm"][0] == 1_000 and before["rpm"][1].startswith("tier start")
    outcome = sync_limits(env.env, env.home, now=NOW)
    assert outcome.findings == [] and outcome.sync is not None
    sync = outcome.sync
    assert sync.fetched_at == "2026-11-03T12:00:00Z"
    assert {"opus-4", "claude-opus-5-5", "count_tokens"} <= set(sync.seeded)
    assert [w.workspace_id for w in sync.workspaces] == ["wrkspc_alpha", "wrkspc_beta"]
    alpha = sync.workspaces[0].overrides[0]
    assert alpha.limits == {"rpm": 100, "otpm": 20_000}
    saved = json.loads(org_limits_path(env.env, env.home).read_text())
    assert saved["fetched_at"] == "2026-11-03T12:00:00Z" and saved["version"] == 1
    # The limiter now uses the organisation's numbers, says where they come from and when.
    opus = status_of(env, "claude-opus-4-6")
    assert opus["rpm"] == (4_000, "admin api (fetched 2026-11-03 12:00 UTC)")
    assert opus["itpm"][0] == 2_000_000 and opus["otpm"][0] == 400_000
    unpublished = status_of(env, "claude-opus-5-5")  # no published table: the org's limit now binds
    assert unpublished["rpm"][0] == 3_000 and unpublished["otpm"][0] == 90_000
    lim = Limiter.open(env=env.env, home=env.home)
    try:
        assert lim.plan("", "count_tokens").caps == (6_000.0,)
        assert lim.status().org_limits == "admin api (fetched 2026-11-03 12:00 UTC)"
        sonnet = lim.status("claude-sonnet-4-6").classes[0].buckets[0]
        assert sonnet.source.startswith("tier start")  # groups the org did not list keep the tables
    finally:
        lim.close()
    # The user's own override still wins over the fetched limits.
    env.write(env.home / "xdg" / "claude-health" / "limits.toml", "[models.opus-4]\nrpm = 50\n")
    assert status_of(env, "claude-opus-4-8")["rpm"] == (50, "override")


def test_sync_for_one_workspace_uses_its_overrides(env: Sandbox, admin: FakeAdmin) -> None:
    outcome = sync_limits(env.env, env.home, workspace="wrkspc_alpha", now=NOW)
    assert outcome.sync is not None and outcome.sync.workspace_id == "wrkspc_alpha"
    opus = status_of(env, "claude-opus-4-8")
    assert opus["rpm"][0] == 100 and opus["otpm"][0] == 20_000 and opus["itpm"][0] == 2_000_000
    assert "workspace wrkspc_alpha" in opus["rpm"][1]
    with pytest.raises(ValueError, match="workspace ID"):
        sync_limits(env.env, env.home, workspace="../../etc", now=NOW)
    missing = sync_limits(env.env, env.home, workspace="wrkspc_gone", now=NOW)
    assert missing.sync is None and "404" in missing.findings[0].message


def test_every_page_is_followed(env: Sandbox, admin_key: str) -> None:
    with FakeAdmin(admin_key, sample_org(NOW.date()), page_size=1) as fake:
        env.env.update(ANTHROPIC_ADMIN_KEY=admin_key, CLAUDE_HEALTH_ADMIN_BASE_URL=fake.base_url)
        outcome = sync_limits(env.env, env.home, now=NOW)
        assert outcome.sync is not None
        assert len(outcome.sync.organisation) == 4  # four entries, one per page
        assert [c.split("?")[1] if "?" in c else "" for c in fake.calls(RATE_LIMITS)] == [
            "",
            "page=1",
            "page=2",
            "page=3",
        ]
        assert len(fake.calls(WORKSPACES)) == 2 and "after_id=wrkspc_alpha" in fake.calls(WORKSPACES)[1]
        report = organisation_usage(env.env, env.home, now=NOW)
        assert report.usage is not None and report.usage.totals.output_tokens == 1_650
        assert len(fake.calls(USAGE)) == 3  # 3 daily buckets, one per page
        assert len(fake.calls(CLAUDE_CODE)) == 6  # 3 days x 2 records, one per page


def test_a_rejected_key_saves_nothing(env: Sandbox, admin: FakeAdmin) -> None:
    env.env["ANTHROPIC_ADMIN_KEY"] = fake_key("admin_key")  # another admin key: the fake refuses it
    outcome = sync_limits(env.env, env.home, now=NOW)
    assert outcome.sync is None and [f.code for f in outcome.findings] == ["O002"]
    assert "401" in outcome.findings[0].message and "Nothing was saved" in outcome.findings[0].message
    assert not org_limits_path(env.env, env.home).exists()
    assert len(admin.calls(RATE_LIMITS)) == 1 and not admin.calls(WORKSPACES)


def test_a_workspace_list_that_fails_leaves_the_organisation_limits_saved(
    env: Sandbox, admin: FakeAdmin
) -> None:
    admin.fail(WORKSPACES, Reply.error(403, "permission_error", "no"))
    outcome = sync_limits(env.env, env.home, now=NOW)
    assert outcome.sync is not None and outcome.sync.workspaces == []
    assert [f.code for f in outcome.findings] == ["O001"] and "workspaces" in outcome.findings[0].message
    assert "403" in outcome.findings[0].message
    assert status_of(env, "claude-opus-4-8")["rpm"][0] == 4_000


def test_429_is_retried_as_the_api_asks_then_reported(env: Sandbox, admin: FakeAdmin) -> None:
    admin.fail(RATE_LIMITS, Reply.rate_limited(**{"retry-after": "0.2"}))
    outcome = sync_limits(env.env, env.home, now=NOW)
    assert outcome.sync is not None and len(admin.calls(RATE_LIMITS)) == 2
    admin.fail(RATE_LIMITS, *[Reply.rate_limited(**{"retry-after": "0.1"})] * 3)
    failed = sync_limits(env.env, env.home, now=NOW)
    assert (
        failed.sync is None
        and "rate limited by the Admin API (429) after 2 retries" in failed.findings[0].message
    )


def test_requests_go_through_the_shared_limiter(env: Sandbox, admin: FakeAdmin) -> None:
    outcome = sync_limits(env.env, env.home, now=NOW)
    assert outcome.sync is not None
    key = find_admin_key(env.env, env.home)
    lim = Limiter.open(env=env.env, home=env.home, namespace=f"admin:{key.fingerprint}")
    try:
        other = next(c for c in lim.status().classes if c.bucket == "other").buckets[0]
        # Every response's rate-limit headers reached the limiter (the fake reports 2,000 RPM).
        assert (other.limit, other.source) == (2_000, "server headers")
        # A retry-after another process saw holds this key's Admin API calls: nothing is sent.
        lim.observe_headers("", {"retry-after": "120"}, status_code=429, endpoint="other")
    finally:
        lim.close()
    sent = len(admin.requests)
    held = sync_limits(env.env, env.home, now=NOW)
    assert held.sync is None and "not sent" in held.findings[0].message
    assert len(admin.requests) == sent


# -- usage and cost --------------------------------------------------------------------------------


def test_the_months_usage_cost_headroom_and_claude_code(env: Sandbox, admin: FakeAdmin) -> None:
    env.write(env.home / "xdg" / "claude-health" / "limits.toml", "[admin]\nspend_limit_usd = 45\n")
    report = organisation_usage(env.env, env.home, now=NOW)
    assert report.period_start == "2026-11-01T00:00:00Z" and report.period_end == "2026-11-04T00:00:00Z"
    assert report.missing == []
    usage = report.usage
    assert usage is not None
    totals = usage.totals
    assert (totals.uncached_input_tokens, totals.cache_creation_input_tokens) == (4_803, 4_500)
    assert (totals.cache_read_input_tokens, totals.output_tokens, totals.web_search_requests) == (
        21_000,
        1_650,
        6,
    )
    assert totals.cache_read_rate == round(21_000 / 30_303, 4)
    assert [r.name for r in usage.by_model] == ["claude-opus-4-8", "claude-haiku-4-5-20251001"]
    assert [r.name for r in usage.by_workspace] == ["wrkspc_alpha", "default workspace"]
    assert [r.name for r in usage.by_api_key] == ["apikey_01", "(no API key: Console)"]
    assert usage.by_model[1].cache_read_rate == 0.0
    cost = report.cost
    assert cost is not None and cost.total_usd == pytest.approx(39.015)
    assert {r.name: r.usd for r in cost.by_model} == {
        "claude-opus-4-8": pytest.approx(37.515),
        "no model (web_search)": pytest.approx(1.5),
    }
    spend = report.spend
    assert spend is not None and spend.limit_usd == 45 and "spend_limit_usd" in spend.limit_source
    assert spend.headroom_usd == pytest.approx(5.98, abs=0.01)
    # 39.015 USD in 2.5 of November's 30 days: the pace ends the month near 468 USD.
    assert spend.projected_month_usd == pytest.approx(468.18, abs=0.01)
    assert [f.code for f in report.findings] == ["O003"] and report.findings[0].severity == "warning"
    code = report.claude_code
    assert code is not None and code.days == 3
    assert (code.totals.sessions, code.totals.commits, code.totals.lines_added) == (12, 6, 315)
    assert code.totals.estimated_cost_usd == pytest.approx(6.84)
    assert [(a.actor, a.estimated_cost_usd) for a in code.by_actor] == [
        ("dev@example.com", pytest.approx(5.58)),
        ("api key: ci-bot", pytest.approx(1.26)),
    ]
    sent = admin.calls(USAGE)[0]
    assert (
        "group_by%5B%5D=model" in sent and "group_by%5B%5D=api_key_id" in sent and "bucket_width=1d" in sent
    )
    assert [c.split("starting_at=")[1][:10] for c in admin.calls(CLAUDE_CODE)] == [
        "2026-11-01",
        "2026-11-02",
        "2026-11-03",
    ]


def test_the_tier_cap_is_the_limit_when_none_is_configured(env: Sandbox, admin: FakeAdmin) -> None:
    report = organisation_usage(env.env, env.home, now=NOW)
    assert report.spend is not None and report.spend.limit_usd == 500  # Start's monthly cap
    assert "tier Start" in report.spend.limit_source and report.findings == []  # 8%, on pace for 468
    env.write(env.home / "xdg" / "claude-health" / "limits.toml", "[admin]\nspend_limit_usd = 30\n")
    over = organisation_usage(env.env, env.home, now=NOW)
    assert over.findings[0].severity == "error" and "is reached" in over.findings[0].message


def test_one_failing_report_leaves_the_others(env: Sandbox, admin: FakeAdmin) -> None:
    admin.fail(COST, *[Reply.error(500, "api_error", "boom")] * 3)
    admin.fail(CLAUDE_CODE, Reply.error(403, "permission_error", "Claude Code analytics not enabled"))
    report = organisation_usage(env.env, env.home, now=NOW)
    assert report.usage is not None and report.cost is None and report.claude_code is None
    assert {m.part: m.status for m in report.missing} == {"cost": 500, "claude_code": 403}
    messages = [f.message for f in report.findings]
    assert all(f.code == "O001" for f in report.findings)
    assert any(m.startswith("cost report: the Admin API answered 500") for m in messages)
    assert any("Claude Code report for 2026-11-01: not allowed" in m for m in messages)
    assert any("spend headroom: not computed" in m for m in messages)
    assert len(admin.calls(COST)) == 3  # the SDK's two retries on a 500


def test_a_rejected_key_stops_after_the_first_call(env: Sandbox, admin: FakeAdmin) -> None:
    admin.fail(USAGE, Reply.error(401, "authentication_error", "invalid x-api-key"))
    report = organisation_usage(env.env, env.home, now=NOW)
    assert [f.code for f in report.findings] == ["O002"]
    assert {m.part for m in report.missing} == {"usage", "cost", "claude_code"}
    assert not admin.calls(COST) and not admin.calls(CLAUDE_CODE)


@pytest.mark.parametrize(
    ("reply", "says"),
    [
        (Reply(200, raw=b"<html>oops"), "not JSON"),
        (Reply(200, {"data": "nope"}), "not the documented shape"),
        (Reply(200, {"data": [], "has_more": True, "next_page": None}), "gave no new next_page"),
    ],
)
def test_hostile_answers_are_named_not_raised(
    reply: Reply, says: str, env: Sandbox, admin: FakeAdmin
) -> None:
    admin.fail(USAGE, reply)
    report = organisation_usage(env.env, env.home, now=NOW)
    assert report.usage is None and report.cost is not None
    assert says in report.missing[0].reason


def test_odd_values_are_skipped_and_counted(env: Sandbox, admin_key: str) -> None:
    org = sample_org(NOW.date())
    org.usage[date(2026, 11, 1)][0].update(
        output_tokens=-5, uncached_input_tokens="9", cache_read_input_tokens=10**20
    )
    org.cost[date(2026, 11, 1)][0]["amount"] = "NaN"
    org.claude_code[date(2026, 11, 1)][0]["core_metrics"] = "broken"
    with FakeAdmin(admin_key, org) as fake:
        env.env.update(ANTHROPIC_ADMIN_KEY=admin_key, CLAUDE_HEALTH_ADMIN_BASE_URL=fake.base_url)
        report = organisation_usage(env.env, env.home, now=NOW)
    assert report.usage is not None and report.usage.ignored_values == 3
    assert report.cost is not None and report.cost.total_usd == pytest.approx(39.015 - 12.505)
    assert report.claude_code is not None and report.claude_code.totals.sessions == 9


def test_the_admin_key_is_never_written_or_shown(env: Sandbox, admin: FakeAdmin, admin_key: str) -> None:
    sync_limits(env.env, env.home, now=NOW)
    report = organisation_usage(env.env, env.home, now=NOW)
    admin.fail(RATE_LIMITS, Reply.error(401, "authentication_error", f"bad key {admin_key}"))
    rejected = sync_limits(env.env, env.home, now=NOW)
    shown = report.model_dump_json() + json.dumps([f.to_json() for f in rejected.findings])
    assert admin_key not in shown and admin_key[-20:] not in shown
    for root, _dirs, files in os.walk(env.root):
        for name in files:
            assert admin_key.encode() not in (Path(root) / name).read_bytes(), name
    assert all(r.headers.get("x-api-key") == admin_key for r in admin.requests)  # sent only as the header


def test_the_base_url_must_be_http(env: Sandbox, admin: FakeAdmin) -> None:
    env.env["CLAUDE_HEALTH_ADMIN_BASE_URL"] = "file:///etc/passwd"
    report = organisation_usage(env.env, env.home, now=NOW)
    assert report.missing[0].part == "all" and "http(s) URL" in report.missing[0].reason
    assert not admin.requests
