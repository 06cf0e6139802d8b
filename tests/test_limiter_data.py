"""The dated tables, model classes, header parsing and the user's override file."""

from __future__ import annotations

import json
import tomllib
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

import pytest

from claude_health.tools.limiter.config import LimitsConfigError, config_path, load_config, write_config
from claude_health.tools.limiter.core import Limiter
from claude_health.tools.limiter.headers import parse
from claude_health.tools.limiter.resolve import URL_ENV, resolve_config
from claude_health.tools.limiter.table import LimitsDataError, class_of, clean_model, load_table, parse_table


def test_current_tiers_match_the_published_table() -> None:
    table = load_table()
    assert table.default_tier == "start"
    start, build, scale = table.tier("Start"), table.tier("build"), table.tier("SCALE")
    assert start.classes["opus-4"].rpm == 1_000 and start.classes["opus-4"].itpm == 2_000_000
    assert build.classes["sonnet-4"].otpm == 1_000_000 and scale.classes["haiku-4-5"].itpm == 10_000_000
    assert start.classes["fable-5"].itpm == 500_000 and scale.classes["fable-5"].otpm == 800_000
    assert (start.count_tokens_rpm, build.count_tokens_rpm, scale.count_tokens_rpm) == (2_000, 4_000, 8_000)
    assert (start.batches_rpm, start.batch_queue, start.batch_size) == (1_000, 200_000, 100_000)
    assert start.as_of == "2026-08-22" and "rate-limits" in start.source


def test_legacy_tiers_are_kept_with_their_date() -> None:
    table = load_table()
    t1, t4 = table.tier("tier 1"), table.tier("Tier-4")
    assert t1.classes["opus-4"].rpm == 50 and t1.classes["opus-4"].itpm == 30_000
    assert t4.classes["haiku-4-5"].itpm == 4_000_000 and t4.classes["sonnet-3-7"].itpm == 200_000
    assert t1.count_tokens_rpm == 100 and t1.batches_rpm == 50 and not t1.current
    assert t1.as_of == "2026-04-25"
    with pytest.raises(LimitsDataError, match="unknown tier"):
        table.tier("tier-9")


def test_only_marked_classes_count_cache_reads() -> None:
    table = load_table()
    counting = {cid for cid, mc in table.classes.items() if mc.cache_read_counts}
    assert counting == {"haiku-3-5", "haiku-3"}


@pytest.mark.parametrize(
    ("model", "cls"),
    [
        ("claude-opus-4-8", "opus-4"),
        ("claude-opus-4-5-20251101", "opus-4"),
        ("claude-opus-4-20250514", "opus-4"),
        ("claude-opus-4-6[1m]", "opus-4"),
        ("anthropic.claude-opus-4-8-v1:0", "opus-4"),
        ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", "sonnet-4"),
        ("claude-opus-5", "opus-5"),
        ("claude-opus-5-5", None),
        ("claude-fable-5", "fable-5"),
        ("claude-fable-5-1", None),
        ("claude-sonnet-5-5", None),
        ("claude-haiku-4-5-20251001", "haiku-4-5"),
        ("claude-3-5-haiku-latest", "haiku-3-5"),
        ("gpt-4o", None),
    ],
)
def test_model_classes(model: str, cls: str | None) -> None:
    found = class_of(clean_model(model))
    assert (found.id if found else None) == cls


def test_every_class_member_maps_to_its_class_and_data_is_validated() -> None:
    table = load_table()
    for cid, mc in table.classes.items():
        for member in mc.members:
            found = class_of(member, table)
            assert found is not None and found.id == cid
    raw = json.loads(resources.files("claude_health.tools.data").joinpath("limits.json").read_text())
    raw["tiers"]["start"]["classes"]["opus-4"]["rpm"] = -5
    with pytest.raises(LimitsDataError, match=r"opus-4\.rpm"):
        parse_table(raw)


def test_header_parsing_uses_reset_to_refine_rounded_remaining() -> None:
    now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    reset = (now + timedelta(seconds=30)).isoformat().replace("+00:00", "Z")
    info = parse(
        {
            "anthropic-ratelimit-input-tokens-limit": "60000",
            "anthropic-ratelimit-input-tokens-remaining": "30000",
            "anthropic-ratelimit-input-tokens-reset": reset,
            "anthropic-priority-output-tokens-limit": "1000",
            "anthropic-priority-output-tokens-remaining": "10",
            "anthropic-fast-input-tokens-limit": "5000",
            "anthropic-fast-input-tokens-remaining": "5000",
            "retry-after-ms": "1500",
            "retry-after": "9",
        },
        now=now,
    )
    reading = info.buckets[("", "itpm")]
    assert reading.reset_in == pytest.approx(30) and reading.level() == pytest.approx(30_000)
    assert info.buckets[("priority", "otpm")].limit == 1_000
    assert ("fast", "itpm") in info.buckets
    assert info.retry_after == pytest.approx(1.5)
    when = (now + timedelta(seconds=42)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert parse({"Retry-After": when}, now=now).retry_after == pytest.approx(42)


def test_override_file_selects_the_tier_and_models(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    path = config_path(env, tmp_path)
    assert path == tmp_path / "xdg" / "claude-health" / "limits.toml"
    assert (
        config_path({"HOME": str(tmp_path)}, tmp_path)
        == tmp_path / ".config" / "claude-health" / "limits.toml"
    )
    path.parent.mkdir(parents=True)
    path.write_text('# mine\ncolour = "blue"\ntier = "Tier 2"\n')
    write_config(env, tmp_path, tier="build")
    assert "Tier 2" in path.with_name("limits.toml.bak").read_text()  # the previous file, kept
    write_config(env, tmp_path, model="claude-opus-4-8", limits={"rpm": 500, "otpm": 8_000})
    write_config(env, tmp_path, model="claude-opus-4-8", limits={"rpm": 500, "otpm": 8_000})  # idempotent
    data = tomllib.loads(path.read_text())
    assert data == {
        "colour": "blue",
        "tier": "build",
        "models": {"claude-opus-4-8": {"rpm": 500, "otpm": 8000}},
    }
    assert "models" not in path.with_name("limits.toml.bak").read_text()
    cfg = load_config(env, tmp_path)
    assert cfg.tier == "build" and cfg.models["claude-opus-4-8"].otpm == 8_000
    lim = Limiter.open("memory://", env=env, home=tmp_path)
    assert lim.tier.id == "build" and "config file" in lim.tier_source
    assert lim.try_acquire("claude-opus-4-5", 10, 9_000).impossible  # override: 8,000 OTPM for the pool
    with pytest.raises(LimitsConfigError, match="positive whole number"):
        write_config(env, tmp_path, model="x", limits={"rpm": 0})
    with pytest.raises(LimitsConfigError, match="unknown tier"):
        write_config(env, tmp_path, tier="platinum")


def test_broken_override_file_is_reported_not_fatal(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path)}
    path = config_path(env, tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text("tier = [unclosed\n")
    with pytest.raises(LimitsConfigError, match="invalid TOML"):
        load_config(env, tmp_path)
    lim = Limiter.open("memory://", env=env, home=tmp_path)
    assert lim.tier.id == "start"
    assert any(str(path) in w and "invalid TOML" in w for w in lim.warnings)
    path.write_bytes(b"\xff\xfe\x00binary")
    with pytest.raises(LimitsConfigError, match="not UTF-8"):
        load_config(env, tmp_path)
    path.write_text('[models.m]\nrpm = "many"\n')
    with pytest.raises(LimitsConfigError, match="rpm"):
        load_config(env, tmp_path)


def test_explicit_limits_override_the_tables(tmp_path: Path) -> None:
    lim = Limiter.open(
        "memory://",
        limits={"my-model": {"rpm": 500, "itpm": 30_000, "otpm": 8_000}},
        env={"HOME": str(tmp_path)},
        home=tmp_path,
    )
    assert lim.try_acquire(model="my-model", input_tokens=1_200, max_output_tokens=512).allowed
    with pytest.raises(ValueError, match="unknown limit"):
        Limiter.open("memory://", limits={"m": {"rpd": 5}}, env={"HOME": str(tmp_path)}, home=tmp_path)


def test_configuration_is_resolved_before_any_store_is_opened(tmp_path: Path) -> None:
    """Store URL, tier and limits each come from the first of argument, environment, limits.toml,
    default; resolving touches no store (a Redis URL that nothing listens on resolves fine)."""
    env = {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    default = resolve_config(None, tier=None, limits=None, env=env, home=tmp_path)
    assert (default.url, default.url_source) == (default.default_sqlite, "default")
    assert default.tier == "start" and default.tier_source.startswith("default")
    assert not Path(default.default_sqlite.removeprefix("sqlite://")).exists()  # nothing created

    write_config(env, tmp_path, tier="build", store="redis://127.0.0.1:1/0")
    write_config(env, tmp_path, model="claude-opus-4-8", limits={"rpm": 500})
    from_file = resolve_config(None, tier=None, limits=None, env=env, home=tmp_path)
    assert (from_file.url, from_file.url_source) == ("redis://127.0.0.1:1/0", "config file")
    assert from_file.tier == "build" and from_file.overrides["claude-opus-4-8"].rpm == 500

    env[URL_ENV] = "  memory://  "
    from_env = resolve_config(None, tier=None, limits=None, env=env, home=tmp_path)
    assert (from_env.url, from_env.url_source) == ("memory://", "environment")

    argued = resolve_config(
        "sqlite:///x.db", tier="scale", limits={"Claude-Opus-4-8": {"rpm": 7}}, env=env, home=tmp_path
    )
    assert (argued.url, argued.url_source, argued.tier, argued.tier_source) == (
        "sqlite:///x.db",
        "argument",
        "scale",
        "argument",
    )
    assert argued.overrides["claude-opus-4-8"].rpm == 7  # the argument wins over the file, key lower-cased

    with pytest.raises(ValueError, match="unknown tier"):
        resolve_config(None, tier="platinum", limits=None, env=env, home=tmp_path)
    with pytest.raises(ValueError, match="limits"):
        resolve_config(None, tier=None, limits={"x": {"rpm": 0}}, env=env, home=tmp_path)
    # The store is opened from the resolved configuration alone.
    lim = Limiter.for_config(from_env)
    assert lim.store.url == "memory://" and lim.tier.id == "build"
    lim.close()
