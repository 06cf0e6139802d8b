"""Finding codes S001-S999: settings, hooks, permission rules, MCP server entries and env blocks.

Severity mirrors Claude Code (notes §2.2, §6): ``error`` when it ignores the whole file,
``warning`` when it drops one entry (or the setting will not do what it says), ``info`` for what
it silently ignores.
"""

from __future__ import annotations

from claude_health.tools.findings import Rule, Severity

E, W, N = Severity.ERROR, Severity.WARNING, Severity.INFO


def _rule(code: str, title: str, severity: Severity, what: str, why: str, fix: str) -> Rule:
    return Rule(code=code, title=title, severity=severity, what=what, why=why, fix=fix, check="settings")


# -- files and JSON ----------------------------------------------------------------------------
INVALID_JSON = _rule(
    "S001",
    "File is not valid JSON",
    E,
    "The file does not parse as strict JSON (comments, trailing commas, single quotes and NaN are not JSON).",
    "Claude Code parses settings with JSON.parse and ignores the whole file on any syntax error; for "
    "managed settings it refuses to start.",
    "Fix the JSON at the line and column shown; remove comments and trailing commas.",
)
UNREADABLE = _rule(
    "S002",
    "File cannot be read",
    E,
    "The file exists but cannot be read as UTF-8 text: binary, a directory, a broken symlink or no "
    "permission (a file too large to read is S015).",
    "Claude Code cannot load it, so everything in it is ignored.",
    "Replace it with a readable UTF-8 JSON file, or remove it.",
)
TOO_LARGE = _rule(
    "S015",
    "File is too large to judge",
    W,
    "The file is over claude-health's safety limit (256 MiB, or 8 million JSON values), so it was not read.",
    "Claude Code reads the file whole and applies it however big it is; claude-health cannot say what is "
    "in it, so every verdict that depends on it (settings in effect, who pays, servers) may be incomplete. "
    "It is not reported as ignored: nothing is concluded from it.",
    "Shrink the file: for ~/.claude.json, remove old entries under `projects` (Claude Code keeps "
    "per-project history there); a settings file this large is almost certainly not written by hand.",
)
NOT_OBJECT = _rule(
    "S003",
    "Top level is not a JSON object",
    E,
    "The file holds an array, string, number or null where Claude Code expects an object.",
    "Claude Code ignores the whole file.",
    "Wrap the settings in { ... }.",
)
WRONG_TYPE = _rule(
    "S004",
    "Wrong type or value for a known key",
    E,
    "A key Claude Code knows has a value of the wrong type, or an enum value it does not accept.",
    "Claude Code rejects the whole file, so every other setting in it (permissions, hooks, env) is lost "
    "too. In managed settings the rest of the document applies: the key is dropped, or, for a key that "
    "locks something down, read as its most restrictive value (an empty allowlist, `true` for a "
    "`disable...` switch) until it is fixed.",
    "Use the type shown in the message; `claude-health rules S004` and the Claude Code settings docs "
    "list the accepted values.",
)
VALUE_IGNORED = _rule(
    "S005",
    "Invalid value is ignored",
    W,
    "A key has a value Claude Code cannot use; it drops that value (or that key) and loads the rest.",
    "The setting silently does not apply.",
    "Use one of the accepted values shown in the message.",
)
UNKNOWN_KEY = _rule(
    "S006",
    "Unknown key",
    N,
    "A key that this Claude Code version does not know. Claude Code keeps it but ignores it.",
    "Usually a typo or a key from another tool; the setting has no effect. Newer Claude Code versions "
    "add keys, so this is never an error.",
    "Check the spelling (a suggestion is shown when one is close) or remove the key.",
)
DEPRECATED = _rule(
    "S007",
    "Deprecated setting",
    N,
    "A setting or form that Claude Code still reads but has replaced.",
    "It may stop working in a future release.",
    "Move to the replacement named in the message.",
)
MANAGED_ONLY = _rule(
    "S008",
    "Managed-only key outside managed settings",
    N,
    "A key that Claude Code honours only in managed (policy) settings.",
    "In user, project or local settings it is silently ignored, so the lock-down it describes "
    "is not in force.",
    "Move it to managed-settings.json (or a managed-settings.d drop-in).",
)
LEGACY_MANAGED_PATH = _rule(
    "S010",
    "Managed settings in a location Claude Code never reads",
    W,
    "A managed-settings.json in C:\\ProgramData\\ClaudeCode (removed in Claude Code 2.1.75) or in a "
    "repository's .claude/ directory.",
    "Administrators believe a policy is enforced, but Claude Code never loads this file.",
    "Move it to the OS managed directory: /etc/claude-code (Linux/WSL), /Library/Application Support/"
    "ClaudeCode (macOS) or C:\\Program Files\\ClaudeCode (Windows).",
)
MANAGED_SOURCE_NOT_APPLIED = _rule(
    "S020",
    "Managed settings source is not applied",
    W,
    "A managed settings source (managed-settings.json, an MDM profile, an HKLM or HKCU policy) delivers "
    "settings, but Claude Code takes its managed settings from a higher source.",
    "Claude Code uses the first managed source that delivers settings: server-managed, then the MDM "
    "profile (macOS) or HKLM (Windows), then managed-settings.json, then HKCU. Nothing in a lower source "
    "applies, so a policy edited there never takes effect.",
    "Put the policy in the source that wins, or remove the higher one; to combine the MDM profile or "
    'HKLM with managed-settings.json, set `"managedSourcesBehavior": "merge"` in the higher one.',
)
MANAGED_SOURCE_UNREADABLE = _rule(
    "S021",
    "Managed policy cannot be read",
    W,
    "An MDM profile (com.anthropic.claudecode plist) or a ClaudeCode registry policy exists but cannot be "
    "used: not a property list, a value with no JSON form (a date or data), the wrong registry type, "
    "too large, or unreadable.",
    "Claude Code takes no settings from it, so the policy it carries is not enforced and the next "
    "managed source is used instead.",
    "Redeploy it as a dictionary of settings (plist) or as a REG_SZ value named Settings holding the "
    "settings JSON (registry).",
)
SKIPPED_DROPIN = _rule(
    "S022",
    "managed-settings.d file skipped because of its name",
    W,
    "A file in managed-settings.d whose name does not end in `.json` (lower case) or starts with a dot, "
    "e.g. `.policy.json`, `10-policy.JSON`, `policy.json.bak`.",
    "Claude Code reads only `*.json` files not starting with `.` from the drop-in folder, so the policy "
    "in this file is silently not enforced.",
    "Rename it to a visible `.json` name (`20-policy.json`), or delete it if it is a backup.",
)
LEGACY_GLOBAL_KEY = _rule(
    "S011",
    "Leftover legacy key in ~/.claude.json",
    N,
    "`allowedTools`, `ignorePatterns`, `env` or `todoFeatureEnabled` under a project in ~/.claude.json; "
    "Claude Code 2.0.8 stopped reading them there.",
    "The rules or variables they hold no longer apply.",
    "Move them to .claude/settings.local.json (`permissions.allow`, `env`) and delete them from "
    "~/.claude.json.",
)
UNTRUSTED_RULES = _rule(
    "S012",
    "Project allow rules ignored: workspace not trusted",
    N,
    "The project has permission allow rules in .claude/settings.json or settings.local.json, but the "
    "workspace trust dialog was never accepted.",
    "Claude Code 2.1.332 ignores all project and local allow rules in an untrusted folder.",
    "Run `claude` in the project once and accept the trust dialog.",
)

SILENTLY_IGNORED = _rule(
    "S013",
    "Entry is silently ignored",
    N,
    "A value Claude Code reads but ignores without a message: e.g. a vimInsertModeRemaps entry that is "
    "not a two-character sequence mapped to <Esc>, or a user-only setting in project settings.",
    "The setting has no effect, and nothing tells you.",
    "Follow the form in the message, or move the setting to the scope where it is honoured.",
)
SCHEMA_DISAGREES = _rule(
    "S014",
    "SchemaStore schema rejects what Claude Code accepts",
    N,
    "A value Claude Code 2.1.332 loads, but the SchemaStore JSON schema (used by editors and CI) rejects.",
    "Claude Code is unaffected, but an editor or a CI schema check flags the file.",
    "Optional: use the form the schema expects (shown in the message) to keep schema checks quiet.",
)

# -- permission rules --------------------------------------------------------------------------
INVALID_RULE = _rule(
    "S101",
    "Invalid permission rule is skipped",
    W,
    "A permission rule Claude Code's validator rejects (malformed parentheses, lowercase tool, MCP rule "
    "with parentheses, wildcard tool in allow, WebFetch URL form, WebSearch wildcard, misplaced `:*`).",
    "Claude Code drops the rule with a warning and loads the rest of the file; the permission you meant "
    "to grant or deny does not exist.",
    "Rewrite the rule as the message suggests (e.g. `WebFetch(domain:example.com)`, `Bash(npm run *)`).",
)
NON_STRING_RULE = _rule(
    "S102",
    "Permission rule is not a string",
    W,
    "An allow/deny/ask entry that is a number, object or array.",
    "Claude Code removes it.",
    'Write the rule as a string, e.g. "Bash(npm test)".',
)
PATH_RULE_NEVER_CONSULTED = _rule(
    "S103",
    "Path rule on a tool that never consults it",
    W,
    "A path rule on Write, Glob, Grep, NotebookEdit, MultiEdit or LS. Claude Code's path matcher only "
    "looks up Read and Edit rules.",
    "The rule passes validation but never matches, so the file access it meant to control is not controlled.",
    "Use `Edit(path)` for writes and edits, `Read(path)` for reads, searches and listings.",
)
ANCHORED_PATH = _rule(
    "S104",
    "Leading `/` is relative to the settings base, not the filesystem root",
    N,
    "A Read/Edit rule such as `Read(/etc/passwd)`: a single leading `/` is anchored at the project "
    "directory (the config directory for user settings).",
    "The rule protects <project>/etc/passwd, not /etc/passwd.",
    "Use `//etc/passwd` for an absolute path, or `./path` / `path` for a project-relative one.",
)
LEGACY_PREFIX = _rule(
    "S105",
    "Legacy `:*` prefix rule",
    N,
    "`Bash(cmd:*)` is the pre-2.1.0 prefix form.",
    "Still accepted, but `Bash(cmd *)` is the current form and is what Claude Code writes.",
    "Replace `:*` with ` *`, e.g. `Bash(npm run test *)`.",
)
TOOL_ALIAS = _rule(
    "S106",
    "Legacy tool name",
    N,
    "A rule names a tool by an old alias (Task, KillShell, KillBash, BashOutput, ...).",
    "Claude Code resolves the alias today, but the alias may be dropped.",
    "Use the current tool name shown in the message.",
)
NEVER_MATCHES = _rule(
    "S107",
    "Rule can never match",
    W,
    "A rule that Claude Code accepts but that cannot match any call: an unknown tool name, or a pattern "
    "that no input can satisfy.",
    "It looks like a permission but grants or denies nothing.",
    "Check the tool name (case-sensitive) and the specifier.",
)
SHADOWED_ALLOW = _rule(
    "S108",
    "Allow rule shadowed by a deny or ask rule",
    W,
    "An allow rule whose calls are all caught first by a deny or ask rule (possibly in another file).",
    "Evaluation is deny, then ask, then allow, first match wins: the allow rule never takes effect.",
    "Remove one of the two, or narrow the deny/ask rule.",
)
DANGEROUS_BREADTH = _rule(
    "S109",
    "Dangerously broad permission",
    W,
    "`Bash`, `Bash(*)` or `PowerShell` in allow, `defaultMode: bypassPermissions`, or skipping the "
    "dangerous-mode prompt.",
    "Claude Code runs any shell command (or any tool) without asking, including destructive ones.",
    "Allow specific commands (`Bash(npm test)`, `Bash(git status)`) and keep the default mode.",
)
DUPLICATE_RULE = _rule(
    "S110",
    "Duplicate permission rule",
    N,
    "The same rule appears twice in one list.",
    "Harmless (arrays are de-duplicated on merge) but noise.",
    "Remove the duplicate.",
)

# -- hooks -------------------------------------------------------------------------------------
INVALID_HOOK = _rule(
    "S201",
    "Invalid hook entry",
    E,
    "A hook matcher without a `hooks` array, a hook with an unknown `type`, a missing required field "
    "(`command`, `prompt`, `url`, `tool`), a field of the wrong type (a non-positive timeout, an "
    "invalid http `url`, a non-string matcher, ...).",
    "Under PreToolUse, PermissionRequest and PreSkillShellCommand such a hook may be what guards the "
    "permissions beside it, so Claude Code rejects the whole file (in managed settings: the file's "
    "whole `hooks` field); under other events it drops the entry.",
    "Give every matcher a `hooks` array and every hook a valid `type` with its required field.",
)
UNKNOWN_EVENT = _rule(
    "S202",
    "Unknown hook event",
    W,
    "A key under `hooks` that is not a hook event Claude Code knows (names are case-sensitive).",
    "Claude Code drops the event with a warning; its hooks never run.",
    "Use one of the event names listed in the message.",
)
HOOKS_SHAPE = _rule(
    "S203",
    "Hooks block has the wrong shape",
    W,
    "`hooks` is not an object, or an event's value is not an array of matchers.",
    "Claude Code ignores that field or event. When PreToolUse/PermissionRequest hooks are involved (the "
    "event itself, a single matcher or an array of matchers as `hooks`, an unknown event or another "
    "event holding them) it rejects the whole file instead (in managed settings: the `hooks` field).",
    'Use `"hooks": {"PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "..."}]}]}`.',
)
GUARD_OUTSIDE_HOOKS = _rule(
    "S210",
    "PreToolUse hooks declared outside `hooks`",
    E,
    "A PreToolUse, PermissionRequest or PreSkillShellCommand key (or a hook matcher) at the top level "
    "of the file or under a key other than `hooks`.",
    "Claude Code never loads hooks from there, and because such a hook may be what guards the "
    "permissions beside it, it ignores the whole file (in managed settings those hooks just never run).",
    'Move it under `"hooks"`: `{"hooks": {"PreToolUse": [{"matcher": "Bash", "hooks": [...]}]}}`.',
)
HOOK_FIELD_DROPPED = _rule(
    "S204",
    "Unknown hook field is dropped",
    N,
    "A field Claude Code does not know in a hook or matcher object (e.g. `blocking`).",
    "Claude Code strips it silently, so whatever the author intended with it does not happen.",
    "Remove it; to block, exit with code 2 or return a JSON decision from the hook command.",
)
MATCHER_MATCHES_NOTHING = _rule(
    "S205",
    "Hook matcher matches nothing",
    W,
    "A matcher made only of letters, digits, `_` and `|` is an exact tool-name list, so `mcp__server` "
    "matches no tool; an invalid regular expression never matches either.",
    "The hook never runs.",
    "Use `mcp__server__.*` for every tool of an MCP server, or fix the regular expression.",
)
IF_NEVER_RUNS = _rule(
    "S206",
    "`if` on an event where it never runs",
    W,
    "`if` takes a permission rule and only works on tool events (PreToolUse, PostToolUse, "
    "PostToolUseFailure, PermissionRequest, PermissionDenied).",
    "On any other event a hook with `if` never runs.",
    "Remove `if`, or move the hook to a tool event.",
)
UNSET_HOOK_VARIABLE = _rule(
    "S207",
    "Hook reads an environment variable Claude Code never sets",
    W,
    "A hook command uses a variable such as `$CLAUDE_TOOL_INPUT_FILE_PATH` that does not exist; hooks "
    "get their input as JSON on stdin, plus CLAUDE_PROJECT_DIR, CLAUDE_PLUGIN_ROOT and CLAUDE_ENV_FILE.",
    "The variable expands to an empty string, so the hook silently does the wrong thing.",
    "Read the tool input from stdin, e.g. `jq -r .tool_input.file_path`.",
)
MATCHER_IGNORED = _rule(
    "S208",
    "Matcher on an event that ignores it",
    N,
    "A `matcher` on an event such as UserPromptSubmit or Stop that is not filtered by a matcher.",
    "The hook runs for every occurrence, not only the ones the matcher names.",
    "Remove the matcher or filter inside the hook command.",
)
HOOK_TYPE_NOT_ALLOWED = _rule(
    "S209",
    "Hook type not allowed on this event",
    W,
    "A `prompt` or `agent` hook on SessionStart, Setup or SubagentStart.",
    "Claude Code does not run prompt or agent hooks on those events.",
    "Use a `command` hook.",
)

# -- MCP servers -------------------------------------------------------------------------------
SERVERS_KEY = _rule(
    "S301",
    "`servers` instead of `mcpServers`",
    W,
    "The file uses the VS Code spelling `servers`; Claude Code reads only `mcpServers`.",
    "None of the servers in the file are loaded.",
    "Rename the top-level key to `mcpServers`.",
)
INVALID_SERVER = _rule(
    "S302",
    "Invalid MCP server entry is skipped",
    W,
    "An MCP server entry Claude Code cannot use: missing command or url, unknown type, a field of the "
    "wrong type (e.g. a numeric env value).",
    "Claude Code skips that server and loads the others.",
    "Give stdio servers a `command` (and string `args`/`env`), remote servers a `type` and `url`.",
)
URL_ONLY_SERVER = _rule(
    "S303",
    "URL-only server without `type` is skipped",
    W,
    "An entry with `url` but no `type`. `type` defaults to stdio, so Claude Code looks for `command` and "
    "skips the server.",
    "The server never loads.",
    'Add `"type": "http"` (or "sse").',
)
UNSET_VARIABLE = _rule(
    "S304",
    "MCP config uses an unset environment variable",
    W,
    "`${VAR}` without a default where VAR is not set in this environment.",
    'Claude Code leaves the text literally and reports "Missing environment variables"; the server '
    "usually fails to start or to authenticate.",
    "Set the variable, or give a default: `${VAR:-value}`.",
)
NOT_EXPANDED = _rule(
    "S305",
    "Variable syntax Claude Code never expands",
    N,
    "`$VAR` without braces, or VS Code's `${input:...}` / `${env:...}`, in an MCP server entry.",
    "Claude Code passes the text through unchanged, with no warning.",
    "Use `${VAR}` or `${VAR:-default}`.",
)
COMMAND_NOT_FOUND = _rule(
    "S306",
    "MCP stdio command not found",
    W,
    "The stdio server's command cannot be started here: a name not found on PATH, or a path (absolute, "
    "or relative to the project) that does not exist, is a directory, is not executable or starts with "
    "`~` (Claude Code does not expand it).",
    "If it is also missing where Claude Code runs, the server fails to start.",
    "The finding says which case it is. A name: install it, or use its absolute path. A path: point it "
    "at where the program really is, or `chmod +x` it.",
)
PLAIN_HTTP = _rule(
    "S307",
    "MCP server over plain http to a remote host",
    W,
    "An http/sse/ws URL without TLS to a host that is not loopback.",
    "Requests, headers and tokens cross the network unencrypted.",
    "Use https:// (or a loopback address for local servers).",
)
APPROVAL_STATE = _rule(
    "S308",
    "Project MCP server approval state",
    N,
    "A `.mcp.json` server is pending approval or disabled for this project.",
    "Pending servers are not started until approved; disabled servers never start.",
    "Approve with `enabledMcpjsonServers` / `enableAllProjectMcpServers` in user or local settings, or "
    "through the dialog in `claude`.",
)
INVALID_FILTER_ENTRY = _rule(
    "S309",
    "Invalid allowedMcpServers/deniedMcpServers entry",
    W,
    "An entry that does not have exactly one of `serverName` (^[A-Za-z0-9_-]+$), `serverCommand` "
    "(string array) or `serverUrl`.",
    "Claude Code drops the entry (a non-array value drops the whole key).",
    'Use {"serverName": "github"}, {"serverCommand": ["npx", "pkg"]} or {"serverUrl": "https://*.x.com/*"}.',
)
MANAGED_MCP_EXCLUSIVE = _rule(
    "S310",
    "managed-mcp.json has exclusive control",
    N,
    "A managed-mcp.json parses, so Claude Code loads only its servers.",
    "Servers in ~/.claude.json and .mcp.json are ignored.",
    "Ask your administrator to add the servers you need to managed-mcp.json.",
)
SERVER_NAME = _rule(
    "S311",
    "Unusual MCP server name",
    N,
    "A server name outside ^[A-Za-z0-9_-]+$.",
    "`claude mcp add` refuses such names, and permission rules (`mcp__name__tool`) cannot name "
    "them reliably.",
    "Rename the server with letters, digits, `_` and `-` only.",
)
SERVER_BLOCKED = _rule(
    "S312",
    "MCP server blocked by policy",
    N,
    "A configured server is excluded by deniedMcpServers or not in allowedMcpServers.",
    "Claude Code does not start it.",
    "Remove it from your configuration or ask your administrator to allow it.",
)
INVALID_URL = _rule(
    "S313",
    "MCP server URL is not a valid URL",
    W,
    "A remote server's `url` cannot be parsed: an unbalanced `[` in the host, a port that is not a "
    "number from 0 to 65535, no scheme or host, or a control character.",
    "Claude Code lists the server but never connects to it (\"'url' is not a valid URL\").",
    "Fix the URL, e.g. `http://[::1]:8080/mcp` for an IPv6 host, or remove the entry.",
)

# -- env ---------------------------------------------------------------------------------------
ENV_COERCED = _rule(
    "S401",
    "env value is not a string",
    N,
    "A number or boolean in a settings `env` block; Claude Code converts it to a string.",
    'Works, but `true` becomes "true" and 1.0 becomes "1"; objects become "[object Object]".',
    "Quote the value.",
)
ENV_BAD_VALUE = _rule(
    "S402",
    "env value is an object, array or null",
    W,
    'Claude Code stringifies it, so the variable gets a meaningless value like "[object Object]".',
    "Whatever reads the variable receives garbage.",
    "Use a string value.",
)
ENV_CREDENTIAL = _rule(
    "S403",
    "Credential in a settings env block",
    W,
    "A literal API key or token in `env` of a settings file. Project settings are meant to be committed.",
    "Anyone with the file has the credential; in user settings it also silently switches Claude Code to "
    "API billing.",
    "Remove it and rotate the key; use an environment variable from a secret store or `apiKeyHelper`.",
)
ENV_NOT_APPLIED = _rule(
    "S404",
    "Auth variable in project settings env is not applied",
    W,
    "ANTHROPIC_API_KEY, ANTHROPIC_AUTH_TOKEN or ANTHROPIC_BASE_URL in project or local settings `env`.",
    "Claude Code 2.1.332 does not apply these from project or local settings, and a committed "
    "ANTHROPIC_BASE_URL would redirect every contributor's traffic.",
    "Set them in your shell or in ~/.claude/settings.json.",
)
ENV_NAME = _rule(
    "S405",
    "Unusual env variable name",
    N,
    "An env name outside [A-Za-z_][A-Za-z0-9_]*.",
    "Shells and many programs cannot read such a variable.",
    "Use letters, digits and underscores.",
)
COMMITTED_HELPER = _rule(
    "S406",
    "Command-running setting in a committed file",
    N,
    "`apiKeyHelper` (or another helper that runs a command) in project settings.",
    "It runs on every contributor's machine once the workspace is trusted.",
    "Move it to user or local settings unless every contributor should run it.",
)

RULES: tuple[Rule, ...] = (
    INVALID_JSON,
    UNREADABLE,
    TOO_LARGE,
    NOT_OBJECT,
    WRONG_TYPE,
    VALUE_IGNORED,
    UNKNOWN_KEY,
    DEPRECATED,
    MANAGED_ONLY,
    LEGACY_MANAGED_PATH,
    MANAGED_SOURCE_NOT_APPLIED,
    MANAGED_SOURCE_UNREADABLE,
    SKIPPED_DROPIN,
    SILENTLY_IGNORED,
    SCHEMA_DISAGREES,
    LEGACY_GLOBAL_KEY,
    UNTRUSTED_RULES,
    INVALID_RULE,
    NON_STRING_RULE,
    PATH_RULE_NEVER_CONSULTED,
    ANCHORED_PATH,
    LEGACY_PREFIX,
    TOOL_ALIAS,
    NEVER_MATCHES,
    SHADOWED_ALLOW,
    DANGEROUS_BREADTH,
    DUPLICATE_RULE,
    INVALID_HOOK,
    UNKNOWN_EVENT,
    HOOKS_SHAPE,
    HOOK_FIELD_DROPPED,
    MATCHER_MATCHES_NOTHING,
    IF_NEVER_RUNS,
    UNSET_HOOK_VARIABLE,
    MATCHER_IGNORED,
    HOOK_TYPE_NOT_ALLOWED,
    GUARD_OUTSIDE_HOOKS,
    SERVERS_KEY,
    INVALID_SERVER,
    URL_ONLY_SERVER,
    UNSET_VARIABLE,
    NOT_EXPANDED,
    COMMAND_NOT_FOUND,
    PLAIN_HTTP,
    APPROVAL_STATE,
    INVALID_FILTER_ENTRY,
    MANAGED_MCP_EXCLUSIVE,
    SERVER_NAME,
    SERVER_BLOCKED,
    INVALID_URL,
    ENV_COERCED,
    ENV_BAD_VALUE,
    ENV_CREDENTIAL,
    ENV_NOT_APPLIED,
    ENV_NAME,
    COMMITTED_HELPER,
)
