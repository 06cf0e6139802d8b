"""Finding codes of the plan-usage check (U001-U999)."""

from __future__ import annotations

from claude_health.tools.findings import Rule, Severity

CHECK = "usage"

FIVE_HOUR_NEAR_LIMIT = Rule(
    code="U001",
    title="5-hour plan window close to its limit",
    severity=Severity.WARNING,
    what="Claude Code's latest official figure shows the plan's 5-hour window at 80% or more.",
    why="At 100% Claude Code stops answering until the window resets; long tasks fail midway.",
    fix="Pace the work, switch to a lighter model for routine steps, or wait for the reset time shown.",
    check=CHECK,
)
WEEKLY_NEAR_LIMIT = Rule(
    code="U002",
    title="Weekly plan window close to its limit",
    severity=Severity.WARNING,
    what="Claude Code's latest official figure shows the plan's 7-day window at 80% or more.",
    why="The weekly cap blocks usage for up to days, far longer than a 5-hour window.",
    fix="Reserve the remaining quota for important work until the weekly reset, or upgrade the plan.",
    check=CHECK,
)
PROJECTED_TO_HIT = Rule(
    code="U003",
    title="Usage is on course to hit a plan limit before it resets",
    severity=Severity.WARNING,
    what="At the current rate the 5-hour or weekly window reaches 100% before its reset time.",
    why="Work stops at the limit; knowing when lets you plan around it.",
    fix="Slow down or move routine work to a cheaper model; the projection says when and how sure it is.",
    check=CHECK,
)
NO_OFFICIAL_NUMBERS = Rule(
    code="U004",
    title="Official plan percentages are not being captured",
    severity=Severity.INFO,
    what="The user has a Pro/Max plan but no current 5-hour/weekly percentage from Claude Code is stored.",
    why="Anthropic publishes no token limits; without the official percentage only local token counts "
    "are known, and they miss usage from claude.ai and other machines.",
    fix="Run `claude-health install --statusline` (it keeps an existing status line command) and use "
    "Claude Code once; the percentages then arrive with every status line refresh.",
    check=CHECK,
)
MALFORMED_LINES = Rule(
    code="U005",
    title="Transcript lines that could not be read",
    severity=Severity.INFO,
    what="Some transcript lines that carry usage are not valid JSON or lack a timestamp.",
    why="Their tokens are not counted, so totals are slightly low.",
    fix="Usually harmless (a crash mid-write); delete the file if it is not a Claude Code transcript.",
    check=CHECK,
)
STATE_UNUSABLE = Rule(
    code="U006",
    title="The usage state database cannot be used",
    severity=Severity.WARNING,
    what="claude-health could not open or write its SQLite state file.",
    why="Usage is recomputed from scratch on every call, and history older than Claude Code's "
    "transcript cleanup (30 days by default) is lost.",
    fix="Check the path's permissions and free space, or point CLAUDE_HEALTH_STATE_DB at a writable file.",
    check=CHECK,
)
UNREADABLE_TRANSCRIPT = Rule(
    code="U007",
    title="A transcript file cannot be read",
    severity=Severity.WARNING,
    what="A file under a Claude Code projects/ directory could not be opened.",
    why="Its usage is missing from every total.",
    fix="Fix the file's permissions (it should belong to the user running Claude Code).",
    check=CHECK,
)

CLEANUP_OUTRUNS_LEDGER = Rule(
    code="U008",
    title="Claude Code's transcript cleanup can outrun the usage ledger",
    severity=Severity.WARNING,
    what="Claude Code deletes a transcript `cleanupPeriodDays` after it was last written (30 by "
    "default). claude-health's usage ledger keeps the usage of every transcript it has read, but it "
    "reads them only when claude-health runs (a usage report, the MCP tool, the doctor, the key scan), "
    "and the time between two of those runs has reached (or come close to) that period.",
    why="Transcripts written just after one update and deleted before the next are lost for good: "
    "their usage is in no report, and no tool can recover it.",
    fix="Raise `cleanupPeriodDays` in ~/.claude/settings.json (for example to 90 or 365), or let "
    "claude-health read the transcripts more often (register its MCP server, or run "
    "`claude-health usage` from a daily job).",
    check=CHECK,
)
LEDGER_REBUILT = Rule(
    code="U009",
    title="The usage ledger was rebuilt",
    severity=Severity.WARNING,
    what="The state database holding the usage ledger was damaged (it was moved aside, its name is "
    "shown) or missing, and the ledger was rebuilt from the transcripts that still exist.",
    why="Usage from transcripts Claude Code had already deleted was only in the ledger: the message "
    "says which period and about how many responses are lost.",
    fix="Nothing to do for the ledger from now on. If you kept a backup of the state database, "
    "restore it (with claude-health stopped) to get the lost history back; the damaged copy can be "
    "deleted once you no longer need it.",
    check=CHECK,
)
STATE_REPAIRED = Rule(
    code="U010",
    title="The usage state database held rows claude-health never writes",
    severity=Severity.WARNING,
    what="Rows of claude-health's state file had values of the wrong type or out of range (another "
    "program, a manual edit or a damaged disk wrote them).",
    why="Reports computed from them would be wrong or fail; they were set aside (nothing deleted) and "
    "the transcripts behind them read again.",
    fix="Nothing to do for the report. The rows are kept in the *_set_aside tables of the file named; "
    "find out what wrote them, then drop those tables.",
    check=CHECK,
)

RULES = (
    FIVE_HOUR_NEAR_LIMIT,
    WEEKLY_NEAR_LIMIT,
    PROJECTED_TO_HIT,
    NO_OFFICIAL_NUMBERS,
    MALFORMED_LINES,
    STATE_UNUSABLE,
    UNREADABLE_TRANSCRIPT,
    CLEANUP_OUTRUNS_LEDGER,
    LEDGER_REBUILT,
    STATE_REPAIRED,
)
