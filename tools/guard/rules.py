"""Finding codes of the session guard (G001-G999): are the hooks and the status line there and working."""

from __future__ import annotations

from claude_health.tools.findings import Rule, Severity

CHECK = "guard"

NOT_INSTALLED = Rule(
    code="G001",
    title="The session guard is not installed",
    severity=Severity.INFO,
    what="claude-health's Claude Code hooks are in none of your settings files.",
    why="Nothing warns you in a session when an API key makes it bill per token instead of your plan, when a "
    "plan window nears its limit, or when an edit makes Claude Code drop a settings file and its deny rules.",
    fix="Run `claude-health install --hooks` (user settings; `--scope project` or `local` for one project).",
    check=CHECK,
)
PARTLY_INSTALLED = Rule(
    code="G002",
    title="Some guard hooks are missing",
    severity=Severity.WARNING,
    what="claude-health's hooks are installed for some events but not all of SessionStart, UserPromptSubmit, "
    "ConfigChange and StopFailure.",
    why="The missing events give no warning: e.g. without UserPromptSubmit no plan alert and no warning "
    "about an edited settings file reaches the session.",
    fix="Run `claude-health install --hooks` again; it adds what is missing and keeps your other hooks.",
    check=CHECK,
)
COMMAND_MISSING = Rule(
    code="G003",
    title="A hook or status line command does not exist",
    severity=Severity.WARNING,
    what="The claude-health command a hook or the status line runs is not an existing executable "
    "(claude-health moved, or its virtual environment was deleted).",
    why="Claude Code reports the hook as failed on every event, and the guard is silently off.",
    fix="Run `claude-health install --hooks` (and `--statusline`) again from the claude-health you use now.",
    check=CHECK,
)
HOOKS_DISABLED = Rule(
    code="G004",
    title="All hooks are disabled",
    severity=Severity.WARNING,
    what="`disableAllHooks: true` in a settings file Claude Code loads.",
    why="No hook runs, the guard's included, and the status line is off too.",
    fix="Remove `disableAllHooks` unless you mean to switch every hook and the status line off.",
    check=CHECK,
)
HOOK_FAILED = Rule(
    code="G005",
    title="A guard hook failed the last time it ran",
    severity=Severity.WARNING,
    what="The last run of one of claude-health's hooks ended in an error or ran out of time. The session "
    "went on (a hook never blocks it), but that warning was not given.",
    why="Until it is fixed the guard may stay silent when it should warn.",
    fix="Read the last lines of guard.log (path in the message) and report them as a claude-health bug.",
    check=CHECK,
)
STATUSLINE_MISSING = Rule(
    code="G006",
    title="Plan alerts have no official figures: the status line is not claude-health's",
    severity=Severity.INFO,
    what="The guard's hooks are installed but claude-health is not Claude Code's status line, which is how "
    "the official 5-hour and weekly percentages are captured.",
    why="Without them the UserPromptSubmit hook has nothing official to alert on.",
    fix="Run `claude-health install --statusline` (an existing status line is kept and wrapped).",
    check=CHECK,
)

UNSAFE_MODULE_LAUNCH = Rule(
    code="G007",
    title="A hook or the status line runs claude-health by module without -P",
    severity=Severity.WARNING,
    what="A claude-health hook or status line command is `python -m claude_health.server ...` without `-P` "
    "(the form earlier versions of claude-health wrote).",
    why="Claude Code runs hooks and the status line in your project, and `python -m` puts the project first "
    "on Python's import path: a cloned repository that contains its own `claude_health/` package, or a file "
    "named like a standard module, runs its code in place of claude-health's.",
    fix="Run `claude-health install --hooks` (and `--statusline`) again: it rewrites the commands with "
    "`python -P -m claude_health.server`, which leaves the project off the import path.",
    check=CHECK,
)

RULES = (
    NOT_INSTALLED,
    PARTLY_INSTALLED,
    COMMAND_MISSING,
    HOOKS_DISABLED,
    HOOK_FAILED,
    STATUSLINE_MISSING,
    UNSAFE_MODULE_LAUNCH,
)
