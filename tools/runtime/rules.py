"""Finding codes of the Claude Code runtime checks (R###)."""

from __future__ import annotations

from claude_health.tools.findings import Rule, Severity

_CHECK = "runtime"

NOT_ON_PATH = Rule(
    code="R001",
    title="Claude Code is installed but `claude` is not on PATH",
    severity=Severity.WARNING,
    what="A Claude Code installation was found, but no directory on PATH holds a `claude` command.",
    why="Typing `claude` fails with 'command not found', and tools that launch Claude Code (IDE "
    "extensions, scripts) cannot find it.",
    fix="Add the installation's directory to PATH in your shell start-up file (for the native "
    'installer: `export PATH="$HOME/.local/bin:$PATH"`), then open a new terminal.',
    check=_CHECK,
)
NOT_INSTALLED = Rule(
    code="R002",
    title="Claude Code is not installed",
    severity=Severity.INFO,
    what="No `claude` command on PATH and no installation in the usual places (native installer, "
    "npm global prefix, ~/.claude/local, Homebrew).",
    why="Fine if you only use the Claude API; Claude Code checks that need the CLI are skipped.",
    fix="Install Claude Code with the native installer: `curl -fsSL https://claude.ai/install.sh | bash` "
    "(macOS, Linux, WSL) and run `claude`.",
    check=_CHECK,
)
MULTIPLE_INSTALLS = Rule(
    code="R003",
    title="More than one Claude Code installation",
    severity=Severity.WARNING,
    what="Several Claude Code installations exist (for example the native one and an npm global one).",
    why="PATH order silently decides which one runs; updates land in one while you run the other, so "
    "the version and settings you see can differ from what you expect.",
    fix="Keep the native installation and remove the others (`npm uninstall -g "
    "@anthropic-ai/claude-code`, `rm -rf ~/.claude/local`).",
    check=_CHECK,
)
NPM_PREFIX_NOT_WRITABLE = Rule(
    code="R004",
    title="npm's global prefix is not writable by you",
    severity=Severity.WARNING,
    what="Claude Code was installed with `npm install -g` into a prefix owned by another user (usually "
    "root).",
    why="Auto-update fails with permission errors, and the usual workaround, `sudo npm`, leaves "
    "root-owned files that break later installs.",
    fix="Switch to the native installer (`claude install`, or the install script) and remove the npm "
    "copy; or point npm at a prefix you own (`npm config set prefix ~/.npm-global`). Never use sudo.",
    check=_CHECK,
)
NODE_MISSING = Rule(
    code="R005",
    title="Claude Code needs Node.js, but `node` is not on PATH",
    severity=Severity.ERROR,
    what="The `claude` command is the npm package's JavaScript entry point, which runs under Node.js, "
    "and no `node` command is on PATH.",
    why="`claude` fails at once with 'node: not found' (env: node: No such file or directory).",
    fix="Use the native installer, which needs no Node.js: `curl -fsSL https://claude.ai/install.sh | "
    "bash`; or install Node.js 18+ and make sure it is on PATH.",
    check=_CHECK,
)
RIPGREP_MISSING = Rule(
    code="R006",
    title="USE_BUILTIN_RIPGREP=0 but ripgrep is not installed",
    severity=Severity.ERROR,
    what="USE_BUILTIN_RIPGREP=0 tells Claude Code to use the system `rg` instead of its bundled copy, "
    "and no `rg` is on PATH.",
    why="Search, @-file mentions and custom command/agent discovery stop working.",
    fix="Install ripgrep (`apt install ripgrep`, `brew install ripgrep`, `winget install "
    "BurntSushi.ripgrep.MSVC`), or remove USE_BUILTIN_RIPGREP to use the bundled copy.",
    check=_CHECK,
)
RIPGREP_BAD_VALUE = Rule(
    code="R007",
    title="USE_BUILTIN_RIPGREP has an unrecognised value",
    severity=Severity.WARNING,
    what="USE_BUILTIN_RIPGREP is set to something other than 0 or 1.",
    why="Claude Code documents only 0 (system ripgrep) and 1 (bundled); another value may not do what "
    "you meant.",
    fix="Set USE_BUILTIN_RIPGREP=0 to use the system `rg`, or remove it to use the bundled copy.",
    check=_CHECK,
)
RIPGREP_MUSL = Rule(
    code="R008",
    title="Bundled ripgrep may not run on this musl/Alpine system",
    severity=Severity.WARNING,
    what="This is a musl-based Linux (Alpine) and Claude Code would use its bundled ripgrep.",
    why="On musl systems the bundled ripgrep can fail to run, which breaks search and @-mentions.",
    fix="`apk add ripgrep` and set USE_BUILTIN_RIPGREP=0.",
    check=_CHECK,
)
WSL_WINDOWS_FS = Rule(
    code="R009",
    title="Project on the Windows filesystem under WSL",
    severity=Severity.WARNING,
    what="The project lives under /mnt/<drive>/, the Windows filesystem mounted into WSL.",
    why="Every file access crosses the WSL-Windows boundary: search, git status and file reads are "
    "several times slower, and file watching is unreliable.",
    fix="Move the project into the Linux filesystem (for example `~/code/`) and open it from there "
    "(`code .` works from WSL).",
    check=_CHECK,
)
WSL_WINDOWS_BINARY = Rule(
    code="R010",
    title="WSL is using a Windows copy of claude, node or npm",
    severity=Severity.WARNING,
    what="Under WSL, a command on PATH resolves to the Windows filesystem (/mnt/c/...).",
    why="Windows binaries run through interop: paths, line endings and permissions break, and npm "
    "installs land on the Windows side ('exec: node: not found', OS detection errors).",
    fix="Install Claude Code (native installer) and, if needed, Node.js inside the Linux distribution, "
    "or put the Linux directories first on PATH.",
    check=_CHECK,
)
VERSION_TOO_OLD = Rule(
    code="R011",
    title="Claude Code is older than the managed minimum version",
    severity=Severity.ERROR,
    what="The installed Claude Code version is below requiredMinimumVersion in managed settings.",
    why="Claude Code exits at start-up instead of running.",
    fix="Update Claude Code (`claude update`, or reinstall), or ask your administrator about the "
    "required version.",
    check=_CHECK,
)
VERSION_TOO_NEW = Rule(
    code="R012",
    title="Claude Code is newer than the managed maximum version",
    severity=Severity.ERROR,
    what="The installed Claude Code version is above requiredMaximumVersion in managed settings.",
    why="Claude Code exits at start-up with instructions to install an approved version.",
    fix="Install an approved version (`claude install <version>`), and set DISABLE_AUTOUPDATER=1 or "
    "the channel your administrator uses.",
    check=_CHECK,
)
VERSION_UNKNOWN = Rule(
    code="R013",
    title="`claude --version` did not report a version",
    severity=Severity.WARNING,
    what="Running `claude --version` failed, timed out or printed something unexpected.",
    why="A `claude` that cannot print its version is probably broken (a dangling install, a missing "
    "runtime), and the managed version range cannot be checked.",
    fix="Run `claude --version` yourself and read the error; reinstall with the native installer if "
    "it does not start.",
    check=_CHECK,
)
VERSION_BOUND_INVALID = Rule(
    code="R014",
    title="A managed version bound is not a version number",
    severity=Severity.WARNING,
    what="requiredMinimumVersion or requiredMaximumVersion in managed settings is not of the form "
    "MAJOR.MINOR.PATCH.",
    why="The bound cannot be compared, so it may not be enforced the way the administrator intended.",
    fix='Use a plain version such as "2.1.0".',
    check=_CHECK,
)

# -- `doctor --probe-servers`: starting the configured MCP servers (P###) ---------------------------

_PROBE = "probe"

PROBE_NOT_FOUND = Rule(
    code="P001",
    title="MCP server command not found",
    severity=Severity.ERROR,
    what="The command configured for this MCP server cannot be started: a name not found on PATH, or a "
    "path that does not exist, is a directory, is not executable or starts with `~` (never expanded).",
    why="Claude Code cannot start the server; `claude mcp list` shows it as failed and its tools are "
    "missing.",
    fix="The finding says which case it is. A name: install it, or change `command` to its absolute path "
    "(hosts start servers with a minimal PATH, so absolute paths or `uvx`/`npx` are the safe choice). A "
    "path: point it at where the program really is, or `chmod +x` it.",
    check=_PROBE,
)
PROBE_CRASHED = Rule(
    code="P002",
    title="MCP server exited during start-up",
    severity=Severity.ERROR,
    what="The server process started but exited before completing the MCP handshake.",
    why="Claude Code reports 'Connection closed' and none of its tools are available.",
    fix="Run the command by hand to see its error (the last line of its stderr is in the message); often a "
    "missing dependency, environment variable or config file.",
    check=_PROBE,
)
PROBE_TIMEOUT = Rule(
    code="P003",
    title="MCP server did not answer the handshake in time",
    severity=Severity.ERROR,
    what="The server started but did not complete the MCP handshake within the probe timeout.",
    why="Claude Code gives up on slow servers (MCP_TIMEOUT), so its tools silently go missing.",
    fix="Run the command by hand: it may be waiting for input, downloading on first start (pre-install it), "
    "or not be an MCP stdio server at all.",
    check=_PROBE,
)
PROBE_PROTOCOL = Rule(
    code="P004",
    title="MCP server does not speak the protocol",
    severity=Severity.ERROR,
    what="The server answered with something that is not valid MCP JSON-RPC (for example log lines on "
    "stdout), or rejected the handshake.",
    why="On stdio, stdout carries only protocol messages; anything else breaks the connection.",
    fix="Make the server log to stderr, never stdout; check that the command really starts an MCP server "
    "(some need a `serve` or `--stdio` argument).",
    check=_PROBE,
)
PROBE_UNREACHABLE = Rule(
    code="P005",
    title="Remote MCP server is unreachable or refused the connection",
    severity=Severity.ERROR,
    what="Connecting to the server's URL failed, or it answered with an HTTP error.",
    why="Claude Code cannot list or call its tools.",
    fix="Check the URL and that the server is running; a 401 means it needs credentials (headers or "
    "`/mcp` authentication in Claude Code).",
    check=_PROBE,
)
PROBE_PENDING = Rule(
    code="P006",
    title="Project MCP server waits for approval",
    severity=Severity.INFO,
    what="This server comes from the project's .mcp.json and has not been approved, so Claude Code does "
    "not start it (and the probe does not either).",
    why="Project servers run commands from the repository; Claude Code asks before starting them. "
    "Approvals written in the repository's own files (.claude/settings.json, .claude/settings.local.json) "
    "count only after you accepted the workspace trust dialog, so a cloned repository cannot approve "
    "its own servers.",
    fix="Run `claude` in the project, accept the trust dialog and approve the server, or add its name to "
    "enabledMcpjsonServers in ~/.claude/settings.json.",
    check=_PROBE,
)
PROBE_LEGACY_ONLY = Rule(
    code="P007",
    title="MCP server speaks only the handshake-era protocol",
    severity=Severity.INFO,
    what="The server completed the 2025 `initialize` handshake but not the 2026-07-28 protocol.",
    why="Current clients fall back to the older protocol, so it works; server-initiated features of the "
    "newer protocol are unavailable.",
    fix="Nothing required; update the server (for Python, mcp>=2.3) to get the current protocol.",
    check=_PROBE,
)
PROBE_BAD_ENTRY = Rule(
    code="P008",
    title="MCP server entry cannot be started as written",
    severity=Severity.ERROR,
    what="The configuration entry has no command or URL, has values of the wrong type, or uses a ${VAR} "
    "that is not set and has no default.",
    why="Claude Code skips or fails this server.",
    fix="Fix the entry (`claude mcp get NAME` shows how Claude Code reads it) or set the variable.",
    check=_PROBE,
)

RULES: tuple[Rule, ...] = (
    NOT_ON_PATH,
    NOT_INSTALLED,
    MULTIPLE_INSTALLS,
    NPM_PREFIX_NOT_WRITABLE,
    NODE_MISSING,
    RIPGREP_MISSING,
    RIPGREP_BAD_VALUE,
    RIPGREP_MUSL,
    WSL_WINDOWS_FS,
    WSL_WINDOWS_BINARY,
    VERSION_TOO_OLD,
    VERSION_TOO_NEW,
    VERSION_UNKNOWN,
    VERSION_BOUND_INVALID,
    PROBE_NOT_FOUND,
    PROBE_CRASHED,
    PROBE_TIMEOUT,
    PROBE_PROTOCOL,
    PROBE_UNREACHABLE,
    PROBE_PENDING,
    PROBE_LEGACY_ONLY,
    PROBE_BAD_ENTRY,
)
