"""Resolving the time zone that dates are reported in (local unless ``--timezone`` says otherwise)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, tzinfo

# zoneinfo is imported when a zone is looked up: a report in UTC (the explicit name, or TZ=UTC
# as servers and CI set it) does not need it, and it costs a new process a few milliseconds.
LOCALTIME = "/etc/localtime"
_UTC_NAMES = frozenset({"UTC", "Z"})


class TimezoneError(ValueError):
    """An unknown time zone name."""


def resolve_tz(name: str | None, env: Mapping[str, str] | None = None) -> tzinfo:
    """A named IANA zone, else ``$TZ``, else the system zone, else the current UTC offset."""
    if name:
        if name.upper() in _UTC_NAMES:
            return UTC
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise TimezoneError(
                f"unknown time zone {name!r} (use an IANA name such as Europe/Paris)"
            ) from None
    tz_env = (env or {}).get("TZ", "").strip().lstrip(":")
    if tz_env == "UTC":  # the same zone as ZoneInfo("UTC"), named the same (tz_name)
        return UTC
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if tz_env:
        try:
            return ZoneInfo(tz_env)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    try:
        with open(LOCALTIME, "rb") as fh:
            return ZoneInfo.from_file(fh, key="localtime")
    except (OSError, ValueError):
        pass
    local = datetime.now().astimezone().tzinfo
    return local or UTC


def tz_name(tz: tzinfo) -> str:
    key = getattr(tz, "key", None)
    if isinstance(key, str) and key != "localtime":
        return key
    return datetime.now(tz).tzname() or "local"
