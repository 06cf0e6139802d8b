"""What a limiter opens with: its store URL, tier and limits, resolved from arguments, the
environment and the user's files, before any store is touched.

Precedence, highest first. Store: the ``url`` argument, ``$CLAUDE_HEALTH_LIMITER_URL``, ``store``
in limits.toml, the shared SQLite state file. Tier: the ``tier`` argument, limits.toml, the
table's default. Limits: the ``limits`` argument over limits.toml's models over the
organisation's fetched limits over the dated tables. A file that cannot be read is a warning;
a bad argument is a :class:`ValueError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from claude_health.tools.limiter.config import LimitsConfig, LimitsConfigError, load_config
from claude_health.tools.limiter.orglimits import OrgLimits, OrgLimitsError, load_org_limits
from claude_health.tools.limiter.stores import sqlite_url
from claude_health.tools.limiter.table import (
    BucketLimits,
    LimitsDataError,
    LimitTable,
    load_table,
    parse_limits,
)
from claude_health.tools.state import state_db_path

URL_ENV = "CLAUDE_HEALTH_LIMITER_URL"
UrlSource = Literal["argument", "environment", "config file", "default"]
DEFAULT_TIER_SOURCE = "default (set yours: claude-health limits set --tier build)"


@dataclass(frozen=True)
class LimiterConfig:
    """A limiter's resolved configuration: everything :meth:`Limiter.open` decides before opening."""

    url: str  # the store to open
    url_source: UrlSource  # where it came from
    default_sqlite: str  # the shared SQLite state file: the default store and a fallback
    tier: str
    tier_source: str  # where the tier came from, as the status shows it
    overrides: Mapping[str, BucketLimits]  # the user's limits by model or class, argument over file
    table: LimitTable
    org_limits: OrgLimits | None
    warnings: tuple[str, ...]  # files that were ignored, and why


def resolve_config(
    url: str | None,
    *,
    tier: str | None,
    limits: Mapping[str, Mapping[str, int]] | None,
    env: Mapping[str, str],
    home: Path,
    read_config: bool = True,
) -> LimiterConfig:
    """The configuration a limiter opens with. Raises :class:`ValueError` for a bad ``tier`` or
    ``limits`` argument (or a bad tier in limits.toml); an unreadable file is a warning."""
    warnings: list[str] = []
    table = load_table()
    config, org = LimitsConfig(path=Path()), None
    if read_config:
        try:
            config = load_config(env, home)
        except LimitsConfigError as exc:
            warnings.append(f"ignored the limits override file: {exc}")
        try:
            org = load_org_limits(env, home, table)
        except OrgLimitsError as exc:
            warnings.append(f"ignored the organisation limits (run `claude-health limits --sync`): {exc}")
    overrides = _overrides(config, limits)
    tier_name, source = _tier(tier, config, table)
    default_sqlite = sqlite_url(state_db_path(env, home))
    chosen, url_source = _url(url, env, config)
    return LimiterConfig(
        url=chosen or default_sqlite,
        url_source=url_source,
        default_sqlite=default_sqlite,
        tier=tier_name,
        tier_source=source,
        overrides=overrides,
        table=table,
        org_limits=org,
        warnings=tuple(warnings),
    )


def _url(url: str | None, env: Mapping[str, str], config: LimitsConfig) -> tuple[str | None, UrlSource]:
    """The store URL asked for and where, or None for the default store."""
    if url:
        return url, "argument"
    from_env = env.get(URL_ENV, "").strip()
    if from_env:
        return from_env, "environment"
    if config.store:
        return config.store, "config file"
    return None, "default"


def _overrides(
    config: LimitsConfig, limits: Mapping[str, Mapping[str, int]] | None
) -> dict[str, BucketLimits]:
    """limits.toml's models, then the ``limits`` argument over them (keys lower-cased)."""
    overrides: dict[str, BucketLimits] = dict(config.models)
    for name, values in (limits or {}).items():
        try:
            overrides[str(name).strip().lower()] = parse_limits(values, f"limits[{name!r}]")
        except LimitsDataError as exc:
            raise ValueError(str(exc)) from None
    return overrides


def _tier(tier: str | None, config: LimitsConfig, table: LimitTable) -> tuple[str, str]:
    """The tier's name and where it came from; a name the table does not know is a ValueError."""
    if tier is not None:
        chosen = tier, "argument"
    elif config.tier is not None:
        chosen = config.tier, f"config file {config.path}"
    else:
        chosen = table.default_tier, DEFAULT_TIER_SOURCE
    try:
        table.tier(chosen[0])
    except LimitsDataError as exc:
        raise ValueError(str(exc)) from None
    return chosen
