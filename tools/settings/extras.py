"""Smaller keys with their own traps: plugin marketplaces, vim remaps, TLS termination scope."""

from __future__ import annotations

from typing import Any

from claude_health.tools.jsonspan import JsonPath as Path
from claude_health.tools.settings import rules as R
from claude_health.tools.settings.context import FileContext
from claude_health.tools.settings.keys import json_type

USER_ONLY_SCOPES = ("user", "managed")
# Remote plugin sources a settings-sourced marketplace accepts (observed with Claude Code 2.1.332).
PLUGIN_SOURCES = frozenset({"github", "url", "npm", "git-subdir"})


def check_marketplaces(ctx: FileContext, value: Any, at: Path) -> dict[str, Any]:
    """``extraKnownMarketplaces``: Claude Code drops an unusable entry with a warning."""
    kept: dict[str, Any] = {}
    for name, entry in value.items():
        where = (*at, name)
        source = entry.get("source") if isinstance(entry, dict) else None
        problem = None
        if not isinstance(entry, dict):
            problem = f"entry must be an object; received {json_type(entry)}"
        elif not isinstance(source, dict):
            problem = f"`source` must be an object; received {json_type(source)}"
        elif source.get("source") == "settings" and not isinstance(source.get("plugins"), list):
            problem = f"source.plugins: expected array, received {json_type(source.get('plugins'))}"
        elif source.get("source") == "settings":
            problem = _inline_plugins(ctx, source["plugins"], (*where, "source", "plugins"))
        if problem:
            ctx.emit(R.VALUE_IGNORED, f"Marketplace {name!r} is ignored: {problem}.", where, key=True)
            continue
        assert isinstance(source, dict)
        _git_url(ctx, source, (*where, "source"))
        kept[name] = entry
    return kept


def _inline_plugins(ctx: FileContext, plugins: list[Any], at: Path) -> str | None:
    """Why an inline marketplace entry is dropped; an unknown remote source type rejects the file."""
    for i, plugin in enumerate(plugins):
        source = plugin.get("source") if isinstance(plugin, dict) else None
        if isinstance(source, dict):
            kind = source.get("source")
            # A JSON array or object is unhashable: test the type before looking it up.
            if not isinstance(kind, str) or kind not in PLUGIN_SOURCES:
                shown = repr(kind) if isinstance(kind, str) else f"({json_type(kind)})"
                ctx.emit(
                    R.WRONG_TYPE,
                    f"Plugin source type {shown} is not one of {', '.join(sorted(PLUGIN_SOURCES))}. "
                    "Claude Code ignores this whole file.",
                    (*at, i, "source"),
                )
            continue
        if isinstance(source, str):
            return f"plugins[{i}] must use a remote source (github, url, npm, git-subdir), not a path"
        return f"plugins[{i}].source: expected an object, received {json_type(source)}"
    return None


def check_blocked(ctx: FileContext, value: Any, at: Path) -> None:
    if isinstance(value, list):
        for i, entry in enumerate(value):
            if isinstance(entry, dict):
                _git_url(ctx, entry, (*at, i))


def _git_url(ctx: FileContext, source: dict[str, Any], at: Path) -> None:
    url = source.get("url")
    if source.get("source") == "git" and isinstance(url, str) and not url.endswith(".git"):
        ctx.emit(
            R.SCHEMA_DISAGREES,
            f"Git marketplace URL {url!r} does not end in .git; Claude Code accepts it, the schema does not.",
            (*at, "url"),
        )


def check_vim_remaps(ctx: FileContext, value: Any, at: Path) -> None:
    if ctx.scope in ("project", "local"):
        ctx.emit(
            R.SILENTLY_IGNORED,
            f"vimInsertModeRemaps is read only from user and managed settings, not {ctx.scope} settings.",
            at,
            key=True,
        )
        return
    for seq, target in value.items():
        if len(seq) != 2 or target != "<Esc>":
            ctx.emit(
                R.SILENTLY_IGNORED,
                f"vimInsertModeRemaps {seq!r} -> {target!r} is ignored: keys are exactly two characters "
                'and "<Esc>" is the only target.',
                (*at, seq),
                key=True,
            )


def check_tls_scope(ctx: FileContext, sandbox: Any, at: Path) -> None:
    network = sandbox.get("network") if isinstance(sandbox, dict) else None
    if isinstance(network, dict) and "tlsTerminate" in network and ctx.scope not in USER_ONLY_SCOPES:
        ctx.emit(
            R.SILENTLY_IGNORED,
            f"sandbox.network.tlsTerminate is honoured only from user or managed settings, not {ctx.scope}.",
            (*at, "network", "tlsTerminate"),
            key=True,
        )
