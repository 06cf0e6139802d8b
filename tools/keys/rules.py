"""Finding codes of the key-hygiene check (K001-K999), each documented once."""

from __future__ import annotations

from claude_health.tools.findings import Rule, Severity

_ROTATE = (
    "Rotate the key in the Claude Console (Settings -> API keys), then remove it from this place; "
    "deleting the line alone does not revoke it."
)

KEY_IN_TREE = Rule(
    code="K001",
    title="Anthropic credential in the project tree",
    severity=Severity.ERROR,
    what="A file that git tracks, or would track (untracked and not ignored), holds an Anthropic "
    "API key, admin key, OAuth token or other Anthropic credential.",
    why="Anything in the tree gets committed, pushed, copied into images and read by tools; a leaked "
    "key is billed to its owner and an admin key controls the whole organisation.",
    fix=_ROTATE + " Load it from the environment or a secret manager instead.",
    check="keys",
)
KEY_IN_COMMITTED_CONFIG = Rule(
    code="K002",
    title="Anthropic credential in shared Claude Code config",
    severity=Severity.ERROR,
    what="`.claude/settings.json` (`env`) or `.mcp.json` (`env`, `headers`) holds an Anthropic "
    "credential as a literal value.",
    why="These files are meant to be committed and shared with everyone who clones the project.",
    fix=_ROTATE + ' Reference a variable instead: "ANTHROPIC_API_KEY": "${ANTHROPIC_API_KEY}" in '
    ".mcp.json, or set it in your own environment.",
    check="keys",
)
LITERAL_SECRET_IN_CONFIG = Rule(
    code="K003",
    title="Literal secret in shared Claude Code config",
    severity=Severity.WARNING,
    what="`.claude/settings.json` or `.mcp.json` holds a literal bearer token, a password in a "
    "connection URL, or a secret-named variable (…KEY, …TOKEN, …SECRET, …PASSWORD) with a literal "
    "value.",
    why="The file is shared through version control, so the secret is too.",
    fix="Use `${VAR}` expansion (.mcp.json supports `${VAR}` and `${VAR:-default}` in env, headers, "
    "url, command and args) and keep the value in your environment.",
    check="keys",
)
KEY_IN_PROCESS_ENV = Rule(
    code="K004",
    title="Anthropic credential in the environment",
    severity=Severity.WARNING,
    what="A variable of the environment claude-health runs in holds an Anthropic credential.",
    why="Claude Code and every tool, hook and MCP server it starts inherit the environment; "
    "ANTHROPIC_API_KEY there takes precedence over a claude.ai login.",
    fix="Set keys only for the command that needs them, or namespace application keys "
    "(MYAPP_ANTHROPIC_API_KEY); set CLAUDE_CODE_SUBPROCESS_ENV_SCRUB=1 to keep them from subprocesses.",
    check="keys",
)
KEY_OVERRIDES_PLAN = Rule(
    code="K005",
    title="API key in the environment of a Max/Pro subscriber",
    severity=Severity.ERROR,
    what="You have a usable claude.ai subscription (a login with the user:inference scope, or "
    "CLAUDE_CODE_OAUTH_TOKEN), and an API key or token in the environment Claude Code builds (shell "
    "environment or a settings `env` block) makes it bill the Anthropic API instead: the same "
    "condition as the auth check's A001. Bedrock and Vertex are not a plan being overridden.",
    why="Claude Code prefers ANTHROPIC_API_KEY / ANTHROPIC_AUTH_TOKEN over the subscription login, "
    "so usage is billed as API credits instead of your plan.",
    fix="Unset the variable (or remove it from the settings `env` block) before starting Claude Code; "
    "`claude-health auth` shows which credential wins.",
    check="keys",
)
KEY_IN_SETTINGS_ENV = Rule(
    code="K006",
    title="Anthropic credential in a settings env block",
    severity=Severity.WARNING,
    what="A Claude Code settings file (user, local, managed) or ~/.claude.json holds an Anthropic "
    "credential, e.g. in `env` or an MCP server's `env`/`headers`.",
    why="Settings `env` values are plain text and reach every subprocess of every session.",
    fix="Use an `apiKeyHelper` that reads a secret manager, or `${VAR}` references, instead of a "
    "literal key.",
    check="keys",
)
KEY_IN_SHELL_STARTUP = Rule(
    code="K007",
    title="Anthropic credential in a shell start-up file",
    severity=Severity.WARNING,
    what="A shell start-up file (~/.bashrc, ~/.zshrc, ~/.profile, fish config, …) contains an "
    "Anthropic credential.",
    why="It is exported into every shell, so every Claude Code session uses it (moving a Max/Pro "
    "user onto API billing) and every program can read it.",
    fix="Remove the export; set the key only when needed, or load it from a secret manager.",
    check="keys",
)
ENV_FILE_NOT_IGNORED = Rule(
    code="K008",
    title=".env file not ignored by git",
    severity=Severity.WARNING,
    what="A `.env*` file in the project is tracked by git, or untracked and not ignored.",
    why="`.env` files hold secrets by convention; the next `git add .` commits them.",
    fix="Add `.env*` (and `!.env.example`) to .gitignore; if it is tracked, `git rm --cached` it and "
    "rotate any key it held.",
    check="keys",
)
LOCAL_SETTINGS_NOT_IGNORED = Rule(
    code="K009",
    title=".claude/settings.local.json not ignored by git",
    severity=Severity.WARNING,
    what="`.claude/settings.local.json` is tracked, or untracked and not ignored.",
    why="It is your personal settings file; Claude Code only adds it to your global excludes, so a "
    "teammate's clone (or a `git add .`) is unprotected.",
    fix="Add `.claude/settings.local.json` to the project's .gitignore; if tracked, "
    "`git rm --cached .claude/settings.local.json`.",
    check="keys",
)
KEY_IN_HISTORY = Rule(
    code="K010",
    title="Anthropic credential in git history",
    severity=Severity.ERROR,
    what="A commit reachable from a branch or tag added an Anthropic credential.",
    why="Removing it in a later commit does not remove it from history: anyone with a clone can "
    "still read it.",
    fix=_ROTATE + " Rewriting history (git filter-repo) is optional once the key is revoked.",
    check="keys",
)
CREDENTIAL_FILE_READABLE = Rule(
    code="K011",
    title="Credential file readable by other users",
    severity=Severity.WARNING,
    what="~/.claude/.credentials.json or ~/.claude.json can be read by the group or by others.",
    why="They hold OAuth tokens, API keys and MCP server secrets; Claude Code writes the credentials "
    "file with mode 0600.",
    fix="chmod 600 the file (and chmod 700 ~/.claude).",
    check="keys",
)
HISTORY_INCOMPLETE = Rule(
    code="K012",
    title="Git history scan incomplete",
    severity=Severity.WARNING,
    what="The git history could not be scanned completely (time budget exceeded or git failed).",
    why="Keys in the part not scanned are not reported.",
    fix="Run `claude-health keys --history` on a faster machine or scan with a dedicated tool.",
    check="keys",
)
FILE_NOT_SCANNED = Rule(
    code="K013",
    title="File could not be scanned",
    severity=Severity.INFO,
    what="A file or directory in the project could not be read.",
    why="A credential in it would go unreported.",
    fix="Check the permissions of the file or directory.",
    check="keys",
)
ADMIN_KEY_AS_API_KEY = Rule(
    code="K014",
    title="Admin API key used where an API key belongs",
    severity=Severity.ERROR,
    what="ANTHROPIC_API_KEY or ANTHROPIC_AUTH_TOKEN in the environment Claude Code builds (shell, "
    "~/.claude.json, user or managed settings `env`), the same variables in the project's settings, "
    "an `.mcp.json` server's key variable or `x-api-key`/`Authorization` header, or a project `.env` "
    "file holds an Admin API key (sk-ant-admin01-...).",
    why="An admin key cannot call the Messages API, so the client fails to authenticate; and every "
    "tool, hook, MCP server and subprocess that inherits the variable, or anyone who reads the file, "
    "holds a key that manages the whole organisation: its members, workspaces and API keys.",
    fix="Put a regular API key (sk-ant-api03-...) there. Keep the admin key out of Claude Code: only "
    "in the shell of the admin tool that needs it (claude-health reads ANTHROPIC_ADMIN_KEY) or a "
    "secret manager; rotate it in the Claude Console (Settings > Admin keys) if the file was shared.",
    check="keys",
)
KEY_IN_TRANSCRIPT = Rule(
    code="K015",
    title="Anthropic credential in a Claude Code transcript",
    severity=Severity.WARNING,
    what="A Claude Code session transcript (~/.claude/projects/**/*.jsonl, or under "
    "CLAUDE_CONFIG_DIR) holds an Anthropic credential: pasted into a prompt, printed by a command "
    "the model ran, or written by the model. The finding names the session, the time of the line "
    "and the line.",
    why="The key was sent to the model with the conversation, and it stays in plain text in the "
    "transcript, which tools, backups and `claude --resume` read back; OAuth tokens there are the "
    "login of your Claude account.",
    fix=_ROTATE + " Then delete the session's transcript file (or the line) while that session is "
    "closed in Claude Code; claude-health's usage ledger keeps its usage.",
    check="keys",
)
KEY_IN_SHELL_HISTORY = Rule(
    code="K016",
    title="Anthropic credential in a shell history file",
    severity=Severity.WARNING,
    what="A shell history file (~/.bash_history, ~/.zsh_history, fish's fish_history, or $HISTFILE) "
    "holds an Anthropic credential typed or pasted on a command line.",
    why="History files are plain text, kept for years, synced by dotfile tools and read by anything "
    "running as you; a key there outlives the terminal it was typed in.",
    fix=_ROTATE + " Then remove it from the history with every shell of that kind closed (a running "
    "shell writes its history back when it exits): the finding gives the commands for bash, zsh and "
    "fish. Next time, read keys from a file or a secret manager instead of typing them.",
    check="keys",
)
KEY_LIVE = Rule(
    code="K020",
    title="Leaked key is live",
    severity=Severity.ERROR,
    what="`--verify` asked the Anthropic API and the key was accepted.",
    why="Anyone who has the key can spend on it now.",
    fix=_ROTATE,
    check="keys",
)
KEY_REJECTED = Rule(
    code="K021",
    title="Leaked key is revoked or invalid",
    severity=Severity.INFO,
    what="`--verify` asked the Anthropic API and the key was rejected (401/404).",
    why="It cannot be used any more, but it still should not sit in this place.",
    fix="Remove it.",
    check="keys",
)
KEY_UNVERIFIED = Rule(
    code="K022",
    title="Key liveness unknown",
    severity=Severity.INFO,
    what="`--verify` could not decide whether the key is live (timeout, rate limit, server error).",
    why="Treat it as live until you know otherwise.",
    fix="Retry later, or rotate it to be safe.",
    check="keys",
)

RULES: tuple[Rule, ...] = (
    KEY_IN_TREE,
    KEY_IN_COMMITTED_CONFIG,
    LITERAL_SECRET_IN_CONFIG,
    KEY_IN_PROCESS_ENV,
    KEY_OVERRIDES_PLAN,
    KEY_IN_SETTINGS_ENV,
    KEY_IN_SHELL_STARTUP,
    ENV_FILE_NOT_IGNORED,
    LOCAL_SETTINGS_NOT_IGNORED,
    KEY_IN_HISTORY,
    CREDENTIAL_FILE_READABLE,
    HISTORY_INCOMPLETE,
    FILE_NOT_SCANNED,
    ADMIN_KEY_AS_API_KEY,
    KEY_IN_TRANSCRIPT,
    KEY_IN_SHELL_HISTORY,
    KEY_LIVE,
    KEY_REJECTED,
    KEY_UNVERIFIED,
)
