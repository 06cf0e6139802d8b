"""Finding codes of the auth route (A###)."""

from __future__ import annotations

from claude_health.tools.findings import Rule, Severity

_CHECK = "auth"

API_KEY_OVERRIDES_SUBSCRIPTION = Rule(
    code="A001",
    title="An API credential overrides your Claude subscription",
    severity=Severity.WARNING,
    what="You are logged in with a Max/Pro/Team plan, but Claude Code will authenticate with an API "
    "credential (ANTHROPIC_API_KEY, ANTHROPIC_AUTH_TOKEN or apiKeyHelper) instead.",
    why="Claude Code disables subscription OAuth whenever one of these is present, so every request is "
    "billed per token to API credits while the plan you already pay for sits unused. Remote Control, "
    "/schedule and claude.ai connectors are disabled too.",
    fix="Remove the credential from your shell start-up files and settings `env` blocks (or `unset "
    "ANTHROPIC_API_KEY` for this shell), then run `claude-health auth` again.",
    check=_CHECK,
)
NO_CREDENTIALS = Rule(
    code="A002",
    title="Claude Code has no credentials",
    severity=Severity.ERROR,
    what="No login, API key, token, apiKeyHelper or cloud provider was found.",
    why="Claude Code cannot make a single request until one is configured.",
    fix="Run `claude` and log in with your Claude account (Pro/Max) or Console, or set ANTHROPIC_API_KEY "
    "for API billing.",
    check=_CHECK,
)
GATEWAY = Rule(
    code="A003",
    title="Requests go through an LLM gateway",
    severity=Severity.INFO,
    what="ANTHROPIC_BASE_URL sends Claude Code's first-party traffic to another host.",
    why="The gateway decides billing, rate limits and logging; limits and costs reported by Anthropic may "
    "not apply, and a wrong URL breaks every request.",
    fix="Keep it if your organisation runs the gateway; otherwise remove ANTHROPIC_BASE_URL from the "
    "environment and settings `env`.",
    check=_CHECK,
)
SETTINGS_IGNORED = Rule(
    code="A004",
    title="Auth settings in an ignored file do not apply",
    severity=Severity.WARNING,
    what="A settings or config file sets credentials or the provider (`env` such as ANTHROPIC_API_KEY, "
    "apiKeyHelper, forceLoginMethod), but Claude Code ignores the whole file: a wrong type or value, "
    "invalid JSON, or it cannot be read (then what it holds is unknown, and this is a note).",
    why="None of the file applies, so the credential or provider it configures is not the one in use.",
    fix="Fix the file (`claude-health settings` shows the line and column) or remove it.",
    check=_CHECK,
)
PROJECT_CREDENTIAL_IGNORED = Rule(
    code="A005",
    title="A credential in project settings `env` is never applied",
    severity=Severity.INFO,
    what="ANTHROPIC_API_KEY, ANTHROPIC_AUTH_TOKEN or ANTHROPIC_BASE_URL is set in a project or local "
    "settings `env` block.",
    why="Claude Code does not take credentials or the base URL from project or local settings, so the "
    "value has no effect; in a committed file it is also a leaked secret.",
    fix="Move it to your shell environment or user settings (~/.claude/settings.json), or delete it, and "
    "rotate the key if the file was ever committed.",
    check=_CHECK,
)
SEVERAL_PROVIDERS = Rule(
    code="A006",
    title="More than one cloud provider is selected",
    severity=Severity.WARNING,
    what="Several CLAUDE_CODE_USE_* provider switches are set at once.",
    why="Claude Code uses only the first in its fixed order (gateway, Bedrock, Foundry, Anthropic AWS, "
    "Mantle, Vertex); the others are silently ignored, so you may be billed by another provider than "
    "you think.",
    fix="Unset every CLAUDE_CODE_USE_* variable except the provider you mean to use.",
    check=_CHECK,
)
PROJECT_API_KEY_HELPER = Rule(
    code="A007",
    title="apiKeyHelper comes from project settings",
    severity=Severity.WARNING,
    what="The apiKeyHelper in use is defined in the project's .claude/settings.json or settings.local.json.",
    why="It runs a command from the repository to produce a key, and it overrides a subscription login: "
    "cloning a repository can silently switch you to API billing, or run code you did not review.",
    fix="Move apiKeyHelper to ~/.claude/settings.json if you meant it, or delete it from the project file.",
    check=_CHECK,
)
API_KEY_REJECTED = Rule(
    code="A008",
    title="Interactive sessions ignore this API key",
    severity=Severity.INFO,
    what="ANTHROPIC_API_KEY is set, but you declined it when Claude Code asked (~/.claude.json "
    "customApiKeyResponses.rejected).",
    why="Interactive sessions keep using your login, while `claude -p` and SDK runs use the key and bill "
    "API credits: two billing routes from one shell.",
    fix="Unset ANTHROPIC_API_KEY if you do not want API billing anywhere.",
    check=_CHECK,
)
OAUTH_EXPIRED = Rule(
    code="A009",
    title="The claude.ai login has expired and cannot refresh",
    severity=Severity.WARNING,
    what="The stored OAuth access token is past its expiry and there is no refresh token.",
    why="Claude Code will ask you to log in again before the next request.",
    fix="Run `claude` and then `/login`.",
    check=_CHECK,
)
BOTH_SLOTS = Rule(
    code="A010",
    title="Both an API key and a bearer token are sent",
    severity=Severity.INFO,
    what="An API key (X-Api-Key) and a bearer token (Authorization) are both configured.",
    why="Claude Code sends both headers; which one the server bills depends on the endpoint or gateway, "
    "which makes costs hard to attribute.",
    fix="Keep only the credential you mean to use.",
    check=_CHECK,
)
CREDENTIALS_UNREADABLE = Rule(
    code="A011",
    title="The credentials file cannot be read",
    severity=Severity.WARNING,
    what="~/.claude/.credentials.json exists but is not a readable JSON object.",
    why="Claude Code cannot use the claude.ai login stored there, so it falls back to other credentials "
    "or asks you to log in.",
    fix="Run `claude` and `/login` again; Claude Code rewrites the file.",
    check=_CHECK,
)

MANAGED_SETTINGS_INVALID = Rule(
    code="A012",
    title="Managed settings are invalid, so Claude Code will not start",
    severity=Severity.ERROR,
    what="managed-settings.json (or a managed-settings.d drop-in) is not a valid JSON object.",
    why="Claude Code refuses to run any command while a managed settings document cannot be parsed: "
    "none of its settings apply and every session fails until it is fixed.",
    fix="Fix or remove the file (it usually needs administrator rights); `claude-health settings` "
    "shows the line and column of the syntax error.",
    check=_CHECK,
)
BARE_MODE = Rule(
    code="A022",
    title="Bare mode ignores your login",
    severity=Severity.WARNING,
    what="CLAUDE_CODE_SIMPLE is set (what `claude --bare` sets), so Claude Code reads only "
    "ANTHROPIC_API_KEY (or an apiKeyHelper passed with --settings).",
    why="Your claude.ai login, CLAUDE_CODE_OAUTH_TOKEN, ANTHROPIC_AUTH_TOKEN, the apiKeyHelper of your "
    "settings files and the Console /login key are all ignored: without ANTHROPIC_API_KEY Claude Code "
    "is not logged in, and with it every request is billed per token instead of to your plan.",
    fix="Unset CLAUDE_CODE_SIMPLE (and remove it from the settings `env` that sets it) unless you want "
    "bare mode; run `claude` without --bare to use your plan.",
    check=_CHECK,
)
TOO_LARGE_TO_JUDGE = Rule(
    code="A013",
    title="A file the auth route depends on is too large to judge",
    severity=Severity.WARNING,
    what="~/.claude.json, a settings file or the credentials file is over claude-health's safety limit "
    "(256 MiB, or 8 million JSON values), so it was not read.",
    why="Claude Code reads the file whole and may take a credential, an `env` block or a login from it; "
    "without it claude-health cannot tell who pays, so billing is reported as `unknown` rather than "
    'guessed (and "no credentials" is never claimed).',
    fix="Shrink the file: for ~/.claude.json, remove old entries under `projects` (Claude Code keeps "
    "per-project history there). Then run `claude-health auth` again.",
    check=_CHECK,
)

KEYCHAIN_UNREADABLE = Rule(
    code="A020",
    title="Claude Code cannot read its login from the macOS Keychain",
    severity=Severity.WARNING,
    what="On macOS Claude Code keeps the claude.ai login in the Keychain item `Claude Code-credentials` "
    "and reads it with the `security` program; that read failed: the Keychain is locked, access was "
    "denied, `security` is missing from PATH, or it did not answer.",
    why='Claude Code treats a Keychain it cannot read as no login: it says "Not logged in" and asks for '
    "/login (a login made while the Keychain is locked may not be saved), or uses an API key and bills "
    "API credits instead. Until the Keychain can be read, nobody can tell which plan the login is on. "
    "Reported as an error when nothing else leaves Claude Code a credential.",
    fix="Unlock the login keychain (`security unlock-keychain ~/Library/Keychains/login.keychain-db`; SSH "
    "sessions need this) or allow `security` access to `Claude Code-credentials` in Keychain Access, "
    "then run `claude-health auth` again.",
    check=_CHECK,
)
KEYCHAIN_ITEM_DAMAGED = Rule(
    code="A021",
    title="The Keychain login item is damaged",
    severity=Severity.WARNING,
    what="The macOS Keychain item `Claude Code-credentials` exists but does not hold a JSON object.",
    why="Claude Code cannot use the login stored there: it falls back to ~/.claude/.credentials.json when "
    "that exists, and otherwise asks you to log in again.",
    fix="Run `claude`, then `/logout` and `/login`; Claude Code writes the item again.",
    check=_CHECK,
)

BASE_URL_INVALID = Rule(
    code="A014",
    title="ANTHROPIC_BASE_URL is not a valid URL",
    severity=Severity.ERROR,
    what="ANTHROPIC_BASE_URL cannot be parsed as a URL: an unbalanced `[` in the host, a port that is "
    "not a number from 0 to 65535, no scheme or host, or a control character.",
    why='Every request Claude Code sends fails with "API Error: Invalid URL", whatever the credential.',
    fix="Fix the value where it is set (the environment or a settings `env` block), e.g. "
    "`https://gateway.example.com` or `http://[::1]:8080`, or unset it to use the Anthropic API.",
    check=_CHECK,
)

RULES: tuple[Rule, ...] = (
    API_KEY_OVERRIDES_SUBSCRIPTION,
    NO_CREDENTIALS,
    GATEWAY,
    SETTINGS_IGNORED,
    PROJECT_CREDENTIAL_IGNORED,
    SEVERAL_PROVIDERS,
    PROJECT_API_KEY_HELPER,
    API_KEY_REJECTED,
    OAUTH_EXPIRED,
    BOTH_SLOTS,
    CREDENTIALS_UNREADABLE,
    MANAGED_SETTINGS_INVALID,
    KEYCHAIN_UNREADABLE,
    KEYCHAIN_ITEM_DAMAGED,
    BARE_MODE,
    TOO_LARGE_TO_JUDGE,
    BASE_URL_INVALID,
)
