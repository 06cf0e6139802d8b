"""The context budget: what a project pays in tokens on every turn before the user types.

Sources, in Claude Code's load order (memory docs): managed ``CLAUDE.md``; user
``~/.claude/CLAUDE.md`` and ``~/.claude/rules/*.md``; for each directory from the filesystem root
down to the project, ``CLAUDE.md``, ``.claude/CLAUDE.md``, ``.claude/rules/*.md`` and
``CLAUDE.local.md``; each file's ``@path`` imports (outside code spans and blocks, relative to the
importing file, ``@~/`` = home, at most 5 hops, each file once); the auto memory ``MEMORY.md``
(first 200 lines or 25 KB). MCP servers from ``.mcp.json`` and ``~/.claude.json`` are described,
not launched, so their tool definitions are not counted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from claude_health.tools.files import SAFETY_LIMIT, read_text
from claude_health.tools.findings import Finding
from claude_health.tools.paths import Workspace
from claude_health.tools.tokens.estimator import ZERO, Estimate, estimate_text
from claude_health.tools.tokens.models import ModelInfo, resolve_model
from claude_health.tools.tokens.results import BudgetItem, ContextBudget, McpServerBudget
from claude_health.tools.tokens.rules import (
    IMPORT_CYCLE,
    IMPORT_NOT_FOUND,
    IMPORT_TOO_DEEP,
    LARGE_FIXED_CONTEXT,
    MEMORY_UNREADABLE,
)

MAX_IMPORT_DEPTH = 5
AUTO_MEMORY_LINES = 200
AUTO_MEMORY_BYTES = 25 * 1024
LARGE_BUDGET_TOKENS = 20_000
MAX_MEMORY_BYTES = SAFETY_LIMIT  # Claude Code reads a memory file whole: so does the budget

_FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.MULTILINE | re.DOTALL)
_SPAN = re.compile(r"`[^`\n]*`")
# "At the start or after whitespace" as one negative lookbehind: the same matches as
# ``(?:^|(?<=\s))`` at a fraction of the cost per position (a memory file may be tens of MiB).
_IMPORT = re.compile(r"(?<!\S)@((?:[^\s\\]|\\ )+)")
_TRAILING = ".,;:!?)]}>\"'"

Kind = Literal["managed", "user", "project", "local", "rules", "import", "auto_memory"]


def imports_in(text: str) -> list[str]:
    """``@path`` imports outside fenced code blocks and inline code spans."""
    if "@" not in text:  # most memory files: no pass over the text at all
        return []
    stripped = _SPAN.sub(" ", _FENCE.sub(" ", text))
    return [m.group(1).replace("\\ ", " ") for m in _IMPORT.finditer(stripped)]


def _looks_like_path(target: str) -> bool:
    return "/" in target or bool(re.search(r"\.[A-Za-z0-9]{1,8}$", target.rstrip(_TRAILING)))


def project_slug(project: Path) -> str:
    """Claude Code's per-project folder name under ``~/.claude/projects``."""
    return re.sub(r"[^A-Za-z0-9]", "-", str(project))


@dataclass
class _Walker:
    ws: Workspace
    model: ModelInfo
    items: list[BudgetItem] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    loaded: set[Path] = field(default_factory=set)
    total: Estimate = ZERO

    def add_file(
        self,
        path: Path,
        kind: Kind,
        *,
        depth: int = 0,
        parent: Path | None = None,
        chain: tuple[Path, ...] = (),
    ) -> None:
        try:
            key = path.resolve()
        except (OSError, RuntimeError):
            key = path
        if key in self.loaded:
            return
        read = read_text(path, limit=MAX_MEMORY_BYTES)
        if not read.exists:
            return
        self.loaded.add(key)
        if read.text is None:
            self.findings.append(MEMORY_UNREADABLE.finding(f"{path} {read.problem}", path=str(path)))
            return
        text = read.text
        if kind == "auto_memory":
            text = "\n".join(text.splitlines()[:AUTO_MEMORY_LINES])
            text = text.encode("utf-8")[:AUTO_MEMORY_BYTES].decode("utf-8", "ignore")
        est = estimate_text(text, self.model.family)
        self.total = self.total + est
        self.items.append(
            BudgetItem(
                kind=kind,
                path=str(path),
                tokens=est.tokens,
                error_band=(est.low, est.high),
                bytes=len(text.encode("utf-8")),
                imported_from=str(parent) if parent else None,
                depth=depth,
            )
        )
        if kind != "auto_memory":
            self.follow_imports(path, text, depth, (*chain, key))

    def follow_imports(self, path: Path, text: str, depth: int, chain: tuple[Path, ...]) -> None:
        for target in imports_in(text):
            resolved = self.resolve_import(path, target)
            if resolved is None:
                if _looks_like_path(target):
                    self.findings.append(
                        IMPORT_NOT_FOUND.finding(
                            f"{path} imports @{target}, which does not exist", path=str(path)
                        )
                    )
                continue
            try:
                key = resolved.resolve()
            except (OSError, RuntimeError):
                key = resolved
            if key in chain:
                self.findings.append(
                    IMPORT_CYCLE.finding(
                        f"{path} imports @{target}, which leads back to itself", path=str(path)
                    )
                )
                continue
            if depth + 1 > MAX_IMPORT_DEPTH:
                self.findings.append(
                    IMPORT_TOO_DEEP.finding(
                        f"{path} imports @{target} at hop {depth + 1}; "
                        f"Claude Code stops at {MAX_IMPORT_DEPTH}",
                        path=str(path),
                    )
                )
                continue
            if key in self.loaded:
                continue
            self.add_file(resolved, "import", depth=depth + 1, parent=path, chain=chain)

    def resolve_import(self, importer: Path, target: str) -> Path | None:
        for candidate in (target, target.rstrip(_TRAILING)):
            if not candidate:
                continue
            if candidate.startswith("~/"):
                path = self.ws.home / candidate[2:]
            elif candidate.startswith("/"):
                path = Path(candidate)
            else:
                path = importer.parent / candidate
            try:
                if path.is_file():
                    return path
            except OSError:
                continue
        return None


def _memory_dirs(project: Path) -> list[Path]:
    """Directories from the filesystem root down to the project (root itself excluded)."""
    chain = [p for p in (project, *project.parents) if p != Path(p.anchor)]
    return list(reversed(chain))


def _rules(directory: Path) -> list[Path]:
    try:
        return sorted(p for p in directory.glob("*.md") if p.is_file())
    except OSError:
        return []


def _mcp_servers(ws: Workspace) -> list[McpServerBudget]:
    """The MCP servers Claude Code may load for the project (the view's: valid, not overridden,
    disabled or blocked; a project server waiting for approval loads once approved, and in `-p`
    mode without it); their tool definitions cost context every turn."""
    scopes: dict[str, Literal["project", "user", "local"]] = {
        "project": "project",
        "user": "user",
        "local": "local",
        "managed": "user",
    }
    servers: list[McpServerBudget] = []
    for server in ws.view.servers:
        if not server.valid or server.status not in ("enabled", "pending"):
            continue
        servers.append(
            McpServerBudget(
                name=server.to_json()["name"],  # scrubbed: a server may be named after a key
                scope=scopes.get(server.scope, "user"),
                transport=server.type,
                tools_listed=False,
            )
        )
    return sorted(servers, key=lambda s: (s.scope, s.name))


def context_budget(ws: Workspace, model: str | None = None) -> ContextBudget:
    """Estimate the per-turn fixed context of ``ws``'s project."""
    info = resolve_model(model)
    walker = _Walker(ws, info)
    walker.add_file(ws.managed_dir / "CLAUDE.md", "managed")
    walker.add_file(ws.config_dir / "CLAUDE.md", "user")
    for rule in _rules(ws.config_dir / "rules"):
        walker.add_file(rule, "rules")
    for directory in _memory_dirs(ws.project):
        walker.add_file(directory / "CLAUDE.md", "project")
        walker.add_file(directory / ".claude" / "CLAUDE.md", "project")
        for rule in _rules(directory / ".claude" / "rules"):
            walker.add_file(rule, "rules")
        walker.add_file(directory / "CLAUDE.local.md", "local")
    walker.add_file(
        ws.config_dir / "projects" / project_slug(ws.project) / "memory" / "MEMORY.md", "auto_memory"
    )
    servers = _mcp_servers(ws)
    notes = [
        "estimated offline; Claude Code's own system prompt and built-in tool definitions are not included",
    ]
    if servers:
        notes.append(
            f"{len(servers)} MCP server(s) configured: their tool definitions are sent every turn but "
            "were not counted (servers are described, not launched)"
        )
    total = walker.total
    findings = list(walker.findings)
    if total.tokens > LARGE_BUDGET_TOKENS:
        biggest = max(walker.items, key=lambda i: i.tokens)
        findings.append(
            LARGE_FIXED_CONTEXT.finding(
                f"memory files add about {total.tokens:,} tokens to every turn (largest: {biggest.path}, "
                f"{biggest.tokens:,})",
                path=biggest.path,
            )
        )
    items = sorted(walker.items, key=lambda i: (-i.tokens, i.path))
    return ContextBudget(
        model=info.id,
        tokens=total.tokens,
        error_band=(total.low, total.high),
        context_window=info.context,
        share_of_context=round(total.tokens / info.context, 5) if info.context else 0.0,
        items=items,
        mcp_servers=servers,
        notes=notes,
        findings=findings,
    )
