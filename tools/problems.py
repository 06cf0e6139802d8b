"""Problems, not symptoms: findings grouped by root cause, each group told as one problem.

A problem has one severity, a one-line summary a person understands, the one fix that removes
it, and the findings it explains as evidence. Grouping is by data, never by message text: each
finding carries a cause key (:mod:`claude_health.tools.causes`) and the view links keys that name
one fact (a settings ``env`` entry is the environment variable it sets). A finding without a key
is a problem of its own. The severity policy is written once, in docs/problems.md.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from claude_health.tools import causes
from claude_health.tools.findings import Finding, Severity, sort_findings
from claude_health.tools.keys.formats import label

if TYPE_CHECKING:
    from claude_health.tools.view import View

Concern = Literal["money", "security", "other"]
_CONCERN_RANK = {"money": 0, "security": 1, "other": 2}

# Findings whose consequence is spending: billing routes, spend limits, plan windows.
MONEY = frozenset({"A001", "A003", "A008", "A010", "K005", "K020", "L003", "U001", "U002", "U003"})
# Findings about a leaked credential or a lost or weakened guard.
SECURITY = frozenset(
    {"A005", "A007", "K001", "K002", "K003", "K004", "K006", "K007", "K008", "K009", "K010", "K011"}
    | {"S109", "S307", "S403", "S404", "S406"}
)
BILLING_OVERRIDE = frozenset({"A001", "K005"})
COMMAND_MISSING = frozenset({"S306", "P001"})


@dataclass(frozen=True, slots=True)
class Problem:
    """One root cause and the findings it explains."""

    id: str
    severity: Severity
    summary: str
    fix: str
    findings: tuple[Finding, ...]
    concern: Concern = "other"

    def sort_key(self) -> tuple[int, int, str, str]:
        lead = self.findings[0]
        return (self.severity.rank, _CONCERN_RANK[self.concern], lead.code, lead.path or "")

    def to_json(self, *, evidence: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "severity": self.severity.value,
            "summary": self.summary,
            "fix": self.fix,
        }
        if evidence:
            out["findings"] = [f.to_json() for f in self.findings]
        else:
            out["codes"] = sorted({f.code for f in self.findings})
        return out


def group_problems(findings: Iterable[Finding], view: View | None = None) -> list[Problem]:
    """Every finding under exactly one problem, most important first (severity, then money and
    security before the rest)."""
    groups: dict[str, list[Finding]] = {}
    for finding in sort_findings(findings):
        key = _canonical(finding, view) or _own_key(finding)
        groups.setdefault(key, []).append(finding)
    problems = [_problem(key, members, view) for key, members in groups.items()]
    return sorted(problems, key=Problem.sort_key)


def _own_key(finding: Finding) -> str:
    """A key for a finding with no cause: itself (stable across runs, so is the problem's id)."""
    return f"finding:{finding.code}|{finding.path}|{finding.line}|{finding.column}|{finding.message}"


def _canonical(finding: Finding, view: View | None) -> str | None:
    """The finding's cause key, with the links the view knows applied: an entry of a settings
    ``env`` block is the environment variable it sets when Claude Code takes the value from it."""
    cause = finding.cause
    if cause is None or view is None:
        return cause
    kind, subject = causes.split(cause)
    if kind == causes.SETTING_ENV:
        name = subject.rpartition("#")[2]
        origin = view.env.origin(name)
        if origin is not None and origin.path is not None and causes.setting_env(origin.path, name) == cause:
            return causes.env(name)
    return cause


def _problem(key: str, members: list[Finding], view: View | None) -> Problem:
    lead = members[0]  # members arrive sorted: the most severe first
    kind, subject = causes.split(key)
    summary, fix = _told(kind, subject, members, view)
    summary = summary.rstrip(". ")  # one line, said like a headline
    codes = {f.code for f in members}
    concern: Concern = "money" if codes & MONEY else "security" if codes & SECURITY else "other"
    if kind == causes.IGNORED_FILE and _lost_guards(subject, view):
        concern = "security"
    digest = hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=4).hexdigest()[:7]
    return Problem(
        id=f"{lead.code}-{digest}",
        severity=lead.severity,
        summary=summary,
        fix=fix,
        findings=tuple(members),
        concern=concern,
    )


# -- telling a problem -----------------------------------------------------------------------


def _told(kind: str, subject: str, members: list[Finding], view: View | None) -> tuple[str, str]:
    lead = members[0]
    codes = {f.code for f in members}
    if view is not None:
        if kind == causes.ENV and codes & BILLING_OVERRIDE:
            return _billing_override(subject, view)
        if kind == causes.ENV and len(members) > 1:
            return _env_variable(subject, members, view)
        if kind == causes.IGNORED_FILE:
            return _ignored_file(Path(subject), members, view)
        if kind == causes.MCP and codes & COMMAND_MISSING:
            return _missing_server(subject, members, view)
        if kind == causes.KEY:
            return _leaked_key(members, view)
    return lead.message, lead.hint or ""


def shown(path: str | Path, view: View | None) -> str:
    """A path as a person reads it: relative to the project, ``~/`` in the home folder."""
    if view is None:
        return str(path)
    target = Path(path)
    ws = view.workspace
    try:
        return target.relative_to(ws.project).as_posix()
    except ValueError:
        pass
    try:
        return "~/" + target.relative_to(ws.home).as_posix()
    except ValueError:
        return str(path)


def _billing_override(name: str, view: View) -> tuple[str, str]:
    login = view.credentials.login
    plan = f"{login.subscription_type.capitalize()} plan" if login and login.subscription_type else "plan"
    where = view.env.described(name)
    summary = f"{name}, {where}, makes Claude Code bill API credits instead of your {plan}"
    return summary, _remove_variable(
        name, view
    ) + " Then `claude-health auth` should say billing: subscription."


def _remove_variable(name: str, view: View) -> str:
    origin = view.env.origin(name)
    if origin is None:
        return f"Unset {name}."
    if not origin.from_process:
        return f"Remove {name} from the env block of {shown(origin.path or '', view)}."
    shell = view.env.shell_origin(name)
    if shell is None:
        return (
            f"Find where {name} is set for your shell (a start-up file, your terminal or IDE) and remove "
            f"it; `unset {name}` clears it for the current shell."
        )
    return (
        f"Delete the {name} line ({shell.shown(view.workspace.home)}), then open a new shell or run "
        f"`unset {name}`; pass the key only to the commands that need it."
    )


def _env_variable(name: str, members: list[Finding], view: View) -> tuple[str, str]:
    lead = members[0]
    if any(f.kind for f in members):
        summary = (
            f"{name}, {view.env.described(name)}, puts an Anthropic credential into every program you start"
        )
        return summary, _remove_variable(name, view)
    return f"{name} ({view.env.described(name)}): {lead.message}", lead.hint or ""


def _trimmed(message: str) -> str:
    """A rejection message without the sentence every one of them ends with."""
    for tail in (" Claude Code ignores this whole file.", " Claude Code ignores the whole file."):
        if message.endswith(tail):
            return message[: -len(tail)].rstrip(".")
    return message.rstrip(".")


def _lost(data: dict[str, Any] | None) -> list[str]:
    """What a file would have set: its permission rules, hooks, env and helpers."""
    if not data:
        return []
    out: list[str] = []
    perms = data.get("permissions")
    if isinstance(perms, dict):
        for behavior in ("deny", "ask", "allow"):
            written = perms.get(behavior)  # as written: an ignored file may hold any type here
            rules = [r for r in written if isinstance(r, str)] if isinstance(written, list) else []
            if len(rules) == 1:
                out.append(f"its {behavior} rule {rules[0]}")
            elif rules:
                out.append(f"its {len(rules)} {behavior} rules")
    if data.get("hooks"):
        out.append("its hooks")
    if isinstance(data.get("env"), dict) and data["env"]:
        out.append("its env (" + ", ".join(sorted(map(str, data["env"])))[:80] + ")")
    if data.get("apiKeyHelper"):
        out.append("its apiKeyHelper")
    return out


def _lost_guards(path: str, view: View | None) -> bool:
    seen = view.file(path) if view is not None else None
    data = seen.raw if seen is not None else None
    perms = data.get("permissions") if data else None
    has_rules = isinstance(perms, dict) and any(
        isinstance(perms.get(b), list) and perms.get(b) for b in ("deny", "ask")
    )
    return bool(has_rules or (data and data.get("hooks")))


def _ignored_file(path: Path, members: list[Finding], view: View) -> tuple[str, str]:
    seen = view.file(path)
    name = shown(path, view)
    rejecting = [f for f in members if f.severity is Severity.ERROR] or members
    lead = rejecting[0]
    if seen is not None and seen.scope == "managed" and not seen.not_applied:
        return (
            f"Claude Code refuses to start: managed settings {name} cannot be used "
            f"({_trimmed(lead.message)})",
            _located_fix(lead, view),
        )
    if seen is None or seen.kind == "ignored":
        return lead.message, lead.hint or ""
    why = _trimmed(lead.message)
    more = f" and {len(rejecting) - 1} more error(s)" if len(rejecting) > 1 else ""
    lost = _lost(seen.raw)
    consequence = f", so {_join(lost)} {'does' if len(lost) == 1 else 'do'} not apply" if lost else ""
    return f"Claude Code ignores {name} entirely ({why}{more}){consequence}", _located_fix(lead, view)


def _located_fix(lead: Finding, view: View) -> str:
    where = shown(lead.path or "", view)
    if lead.line:
        where += f":{lead.line}" + (f":{lead.column}" if lead.column else "")
    return f"Fix {where} ({_trimmed(lead.message)}); then `claude-health settings` shows the file as loaded."


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _missing_server(name: str, members: list[Finding], view: View) -> tuple[str, str]:
    server = next((s for s in view.servers if s.name == name and s.valid), None)
    lead = members[0]
    if server is None:
        return lead.message, lead.hint or ""
    command = server.target.split(" ", 1)[0] if server.target else "its command"
    missing = "does not exist" if command.startswith(("/", "~")) or "/" in command else "is not on PATH"
    summary = f"MCP server {name!r} ({shown(server.path, view)}) cannot start: {command} {missing}"
    fix = (
        f"Install the server so that {command} exists, point `command` in {shown(server.path, view)} at "
        f"the right path, or remove the {name!r} entry."
    )
    return summary, fix


def _leaked_key(members: list[Finding], view: View) -> tuple[str, str]:
    lead = members[0]
    places = []
    for f in members:
        if f.path and f.kind:
            where = shown(f.path, view) + (f":{f.line}" if f.line else "")
            if f.commit:
                where += f" (commit {f.commit[:12]})"
            if where not in places:
                places.append(where)
    shown_key = f" ({lead.redacted})" if lead.redacted else ""

    what = f"An Anthropic {label(lead.kind)}" if lead.kind else "An Anthropic credential"
    summary = f"{what}{shown_key} is exposed in {_join(places) if places else 'several places'}"
    return summary, lead.hint or ""
