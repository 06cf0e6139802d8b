"""Who pays and what is broken: the one place the guard asks the rest of claude-health.

:func:`session_facts` is the guard's only adapter to the checks. It calls the auth route
(:mod:`claude_health.tools.auth`) and the settings validator, and takes the key scan's verdict
(:func:`.keyscan.scan`, cached apart by :mod:`.session_start`: its inputs are other ones);
everything the hooks say at session start comes out of the :class:`SessionFacts` it returns,
which is plain JSON so that :mod:`.session_start` can cache it.

Only what costs the user money or protection now is kept: a credential that makes Claude Code
bill differently from the user's claude.ai login, settings files Claude Code ignores, deny or ask
rules it drops, and Anthropic keys leaked in the project. Every text is redaction-safe: findings
arrive scrubbed, and only variable names, paths and redacted forms are used.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from claude_health.tools.auth.inputs import gather
from claude_health.tools.auth.route import PROVIDER_SWITCHES, build_env, is_truthy, resolve
from claude_health.tools.auth.rules import API_KEY_OVERRIDES_SUBSCRIPTION
from claude_health.tools.findings import Finding, Severity
from claude_health.tools.guard.lost_rules import applied, lost_rules, settings_results
from claude_health.tools.paths import Workspace
from claude_health.tools.settings.discovery import mcp_json_chain
from claude_health.tools.view import view_of

if TYPE_CHECKING:
    from claude_health.tools.settings.validate import Validation


@dataclass(frozen=True)
class BillingFact:
    """Who pays for this session, and whether that differs from the user's plan login."""

    billing: str  # subscription | api | cloud | none
    explanation: str
    overrides_plan: bool = False
    culprit: str | None = None  # the variable or setting that wins (never its value)
    origin: str | None = None  # where it comes from: "the environment", a settings file
    plan: str | None = None  # "Max", "Pro" ... (None: a setup token)


@dataclass(frozen=True)
class Problem:
    """One error-level problem, in a sentence that names the file."""

    code: str
    text: str
    path: str | None = None


@dataclass(frozen=True)
class KeyScan:
    """The key scan's part (:func:`.keyscan.scan`): leaked keys, why the scan did not run when it
    did not, and the files whose change invalidates it."""

    problems: list[Problem] = field(default_factory=list)
    note: str | None = None
    depends_on: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> KeyScan:
        return cls(
            problems=[Problem(**p) for p in data.get("problems", [])],
            note=data.get("note"),
            depends_on=list(data.get("depends_on", [])),
        )


@dataclass
class SessionFacts:
    """The SessionStart verdict: who pays, the problems to say, and what it depends on."""

    billing: BillingFact
    problems: list[Problem] = field(default_factory=list)
    # path -> {"deny": [...], "ask": [...]}: what each settings file applies (ConfigChange compares).
    applied_rules: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    keys_note: str | None = None  # why the key scan did not run, when it did not
    depends_on: list[str] = field(default_factory=list)  # files whose change invalidates this
    global_config: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SessionFacts:
        return cls(
            billing=BillingFact(**data["billing"]),
            problems=[Problem(**p) for p in data.get("problems", [])],
            applied_rules=data.get("applied_rules", {}),
            keys_note=data.get("keys_note"),
            depends_on=list(data.get("depends_on", [])),
            global_config=data.get("global_config"),
        )


def session_facts(ws: Workspace, keys: KeyScan | None = None) -> SessionFacts:
    """Everything SessionStart needs to know about this workspace: who pays and what the settings
    lose computed now, with the key scan's verdict ``keys`` (None: no key scan)."""
    billing = billing_fact(ws)
    validation = view_of(ws).validation  # the one judgement every check reads
    problems = settings_problems(ws, validation)
    depends_on = [str(p) for p in dependencies(ws)]
    if keys is not None:
        problems += keys.problems
        depends_on += [p for p in keys.depends_on if p not in depends_on]
    rules = {str(r.file.path): applied(r) for r in settings_results(validation)}
    return SessionFacts(
        billing=billing,
        problems=problems,
        applied_rules=rules,
        keys_note=keys.note if keys is not None else None,
        depends_on=depends_on,
        global_config=str(ws.global_config),
    )


# -- who pays ---------------------------------------------------------------------------------------


def billing_fact(ws: Workspace) -> BillingFact:
    inputs = gather(ws)
    result = resolve(inputs)
    status = result.status
    env = build_env(inputs)
    login = next((c for c in status.credentials if c.slot == "subscription"), None)
    plan_login = login is not None and not (login.note or "").startswith("not usable")
    setup_token = env.get("CLAUDE_CODE_OAUTH_TOKEN")
    plan = None
    if inputs.oauth is not None and inputs.oauth.subscription_type:
        plan = inputs.oauth.subscription_type.capitalize()
    fact = BillingFact(billing=status.billing, explanation=status.billingExplanation, plan=plan)
    overridden = any(f.code == API_KEY_OVERRIDES_SUBSCRIPTION.code for f in result.findings)
    if overridden:
        culprit = status.tokenSource or status.apiKeySource or status.authMethod
        used = next((c for c in status.credentials if c.source == culprit), None)
        origin = used.location if used else env.origin.get(culprit)
        return _override(fact, culprit, origin)
    if status.billing == "cloud" and (plan_login or setup_token):
        switch = next((name for name, _ in PROVIDER_SWITCHES if is_truthy(env.get(name))), None)
        return _override(fact, switch, env.origin.get(switch or "", None))
    return fact


def _override(fact: BillingFact, culprit: str | None, origin: str | None) -> BillingFact:
    where = None
    if origin:
        where = "the environment" if origin == "environment" else origin
    return BillingFact(
        billing=fact.billing,
        explanation=fact.explanation,
        overrides_plan=True,
        culprit=culprit,
        origin=where,
        plan=fact.plan,
    )


# -- what is broken ---------------------------------------------------------------------------------


def shown_path(path: str, ws: Workspace) -> str:
    """A path as the user knows it: relative to the project, or under ``~``."""
    p = Path(path)
    for base, prefix in ((ws.project, ""), (ws.home, "~/")):
        try:
            return prefix + p.relative_to(base).as_posix()
        except ValueError:
            continue
    return path


def settings_problems(ws: Workspace, validation: Validation) -> list[Problem]:
    """Settings files Claude Code ignores, and deny/ask rules it drops from the others."""
    problems: list[Problem] = []
    by_path: dict[str, list[Finding]] = {}
    for f in validation.findings:
        if f.path and f.severity == Severity.ERROR:
            by_path.setdefault(f.path, []).append(f)
    for result in settings_results(validation):
        path = str(result.file.path)
        lost = lost_rules(validation, result)
        shown = shown_path(path, ws)
        if result.loaded is False:
            errors = by_path.get(path, [])
            reason = errors[0].message if errors else "it cannot be read."
            # The validator's message ends by saying the file is ignored; said once is enough.
            reason = reason.replace(" Claude Code ignores this whole file.", "").strip()
            text = f"{shown} is ignored by Claude Code: {reason}"
            if lost.any:
                text += f" Rules that do not apply: {lost.describe()}."
            problems.append(Problem(errors[0].code if errors else "S002", text, path))
        elif lost.any:
            problems.append(
                Problem("S101", f"{shown}: Claude Code skips these invalid rules: {lost.describe()}.", path)
            )
    return problems


def dependencies(ws: Workspace) -> list[Path]:
    """Every file and directory whose change can change who pays or what the settings lose (the
    key scan names its own: :func:`.keyscan.dependencies`)."""
    # The view's files (discovered once, MDM profiles included), not a second discovery.
    paths: list[Path] = [f.path for f in view_of(ws).files]
    if ws.os_name == "darwin":  # the Keychain holds the login there
        from claude_health.tools.auth.keychain import login_keychain  # macOS only: it loads logging

        paths.append(login_keychain(ws))
    paths += [
        ws.credentials_file,
        ws.config_dir / ".config.json",
        ws.managed_dropin_dir,
        *mcp_json_chain(ws.project),
        ws.project / ".claude" / "managed-settings.json",
    ]
    root = ws.git_root
    if root is not None:
        paths += [root / ".claude" / "settings.local.json", root / ".claude" / "managed-settings.json"]
    seen: set[str] = set()
    unique: list[Path] = []
    for p in paths:
        if str(p) not in seen:
            seen.add(str(p))
            unique.append(p)
    return unique
