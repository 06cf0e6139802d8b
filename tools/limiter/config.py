"""The user's limiter settings: ``$XDG_CONFIG_HOME/claude-health/limits.toml`` (``~/.config/...``).

::

    tier = "build"                       # start | build | scale | tier-1 .. tier-4
    store = "redis://10.0.0.5:6379/0"    # optional; default: the shared SQLite state file
    [models."claude-opus-4-8"]           # a model ID or a class ID (opus-4, sonnet-4, ...)
    rpm = 500
    itpm = 30000
    otpm = 8000

Read with ``tomllib``; written with ``tomli-w`` atomically (temp file + rename) after copying
the previous file to ``limits.toml.bak``. Keys this module does not know are kept.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from claude_health.tools.files import TomlProblem, log_read, parse_toml, read_capped, write_atomically
from claude_health.tools.limiter.table import (
    BucketLimits,
    LimitsDataError,
    load_table,
    normalise_tier,
    parse_limits,
)
from claude_health.tools.state import CONFIG_FILE_NAME, config_file_name

CONFIG_NAME = CONFIG_FILE_NAME
MAX_CONFIG_BYTES = 1_000_000


class LimitsConfigError(ValueError):
    """The override file cannot be used; the message names the file and the problem."""


@dataclass(frozen=True, slots=True)
class LimitsConfig:
    path: Path
    exists: bool = False
    tier: str | None = None
    store: str | None = None
    models: Mapping[str, BucketLimits] = field(default_factory=dict)


def config_path(env: Mapping[str, str], home: Path) -> Path:
    return Path(config_file_name(env, home))


def _read_raw(path: Path) -> dict[str, Any] | None:
    try:
        if not path.is_file():
            if path.exists() or path.is_symlink():  # a FIFO, a directory, a dangling link...
                raise LimitsConfigError(f"{path}: not a regular file; move it aside")
            log_read(path, "absent (limits override file)")
            return None
        if path.stat().st_size > MAX_CONFIG_BYTES:
            raise LimitsConfigError(f"{path}: larger than {MAX_CONFIG_BYTES} bytes, not a limits file")
        data = read_capped(path, MAX_CONFIG_BYTES)
        log_read(path, f"read {len(data):,} bytes (limits override file)")
    except OSError as exc:
        raise LimitsConfigError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    try:
        return parse_toml(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise LimitsConfigError(f"{path}: not UTF-8 text") from None
    except TomlProblem as exc:
        raise LimitsConfigError(f"{path}: invalid TOML: {exc}") from None


def load_config(env: Mapping[str, str], home: Path) -> LimitsConfig:
    path = config_path(env, home)
    raw = _read_raw(path)
    if raw is None:
        return LimitsConfig(path=path)
    tier = raw.get("tier")
    if tier is not None:
        if not isinstance(tier, str):
            raise LimitsConfigError(f'{path}: tier must be a string such as "build"')
        tier = normalise_tier(tier)
        if tier not in load_table().tiers:
            raise LimitsConfigError(
                f"{path}: unknown tier {raw['tier']!r}; choose one of: {', '.join(load_table().tiers)}"
            )
    store = raw.get("store")
    if store is not None and not isinstance(store, str):
        raise LimitsConfigError(f"{path}: store must be a URL string")
    models_raw = raw.get("models", {})
    if not isinstance(models_raw, dict):
        raise LimitsConfigError(f"{path}: [models] must be a table of model -> limits")
    models: dict[str, BucketLimits] = {}
    for name, values in models_raw.items():
        try:
            models[name.strip().lower()] = parse_limits(values, f"{path} [models.{name!r}]")
        except LimitsDataError as exc:
            raise LimitsConfigError(str(exc)) from None
    return LimitsConfig(path=path, exists=True, tier=tier, store=store, models=models)


def write_config(
    env: Mapping[str, str],
    home: Path,
    *,
    tier: str | None = None,
    store: str | None = None,
    model: str | None = None,
    limits: Mapping[str, int] | None = None,
    clear_model: str | None = None,
) -> Path:
    """Update the override file, keeping every key it does not touch. Idempotent."""
    path = config_path(env, home)
    raw = _read_raw(path) or {}
    if tier is not None:
        key = normalise_tier(tier)
        if key not in load_table().tiers:
            raise LimitsConfigError(f"unknown tier {tier!r}; choose one of: {', '.join(load_table().tiers)}")
        raw["tier"] = key
    if store is not None:
        raw["store"] = store
    models = raw.setdefault("models", {})
    if not isinstance(models, dict):
        raise LimitsConfigError(f"{path}: [models] must be a table")
    if model is not None and limits:
        entry = dict(models.get(model, {}))
        entry.update(limits)
        try:
            parse_limits(entry, f"[models.{model!r}]")
        except LimitsDataError as exc:
            raise LimitsConfigError(str(exc)) from None
        models[model] = entry
    if clear_model is not None:
        models.pop(clear_model, None)
    if not models:
        raw.pop("models", None)
    _atomic_write(path, tomli_w.dumps(raw).encode("utf-8"))
    return path


def _atomic_write(path: Path, data: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_file():
            if path.read_bytes() == data:
                return
            shutil.copy2(path, path.with_name(path.name + ".bak"))
        write_atomically(path, data)
    except OSError as exc:
        raise LimitsConfigError(f"{path}: cannot be written: {exc.strerror or exc}") from None
