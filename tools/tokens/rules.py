"""Finding codes of token counting and the context budget (T###)."""

from __future__ import annotations

from claude_health.tools.findings import Rule, Severity

_CHECK = "tokens"

LARGE_FIXED_CONTEXT = Rule(
    code="T001",
    title="Memory files cost many tokens on every turn",
    severity=Severity.WARNING,
    what="CLAUDE.md files, their @imports, rules and auto memory add up to more than 20,000 tokens (about "
    "2% of a 1M window, 10% of a 200K one) before the user types anything.",
    why="Claude Code sends them with every request: they are billed (or count against plan limits) on "
    "every turn, push the conversation towards compaction sooner, and long instructions are followed less "
    "reliably.",
    fix="Move rarely needed detail out of CLAUDE.md into files Claude reads on demand (mention the path "
    "without @), drop @imports of large files such as READMEs or package manifests, and prune stale rules. "
    "Run `claude-health tokens --budget` to see the largest items.",
    check=_CHECK,
)
IMPORT_NOT_FOUND = Rule(
    code="T002",
    title="A CLAUDE.md @import points to a missing file",
    severity=Severity.INFO,
    what="An `@path` import in a memory file names a file that does not exist.",
    why="Claude Code skips it silently, so the instructions you meant to include are not in context.",
    fix="Fix the path (relative paths resolve from the importing file's folder; `@~/` is your home) or "
    "remove the import.",
    check=_CHECK,
)
IMPORT_CYCLE = Rule(
    code="T003",
    title="CLAUDE.md imports form a cycle",
    severity=Severity.INFO,
    what="A memory file imports itself, directly or through other imports.",
    why="Claude Code loads each file once, so the cycle adds nothing, but it usually means an import points "
    "at the wrong file.",
    fix="Remove the import that leads back to a file already loaded.",
    check=_CHECK,
)
IMPORT_TOO_DEEP = Rule(
    code="T004",
    title="CLAUDE.md imports nest deeper than Claude Code follows",
    severity=Severity.WARNING,
    what="An import chain is longer than 5 hops, the maximum depth Claude Code resolves.",
    why="Files beyond the fifth hop are not loaded, so their instructions are silently missing.",
    fix="Import the deep file directly from a CLAUDE.md closer to the top of the chain.",
    check=_CHECK,
)
MEMORY_UNREADABLE = Rule(
    code="T005",
    title="A memory file cannot be read",
    severity=Severity.WARNING,
    what="A CLAUDE.md, rules file or imported file exists but is unreadable, binary or not UTF-8.",
    why="Its instructions cannot reach the model, and an imported binary file would waste context.",
    fix="Fix the file's permissions or encoding, or remove the import.",
    check=_CHECK,
)

UNKNOWN_MODEL = Rule(
    code="T006",
    title="Model not in claude-health's model table",
    severity=Severity.WARNING,
    what="The model ID given to `tokens` (or found in a request) is not one claude-health knows: not in its "
    "shipped, dated table, nor a snapshot, alias or Bedrock/Vertex spelling of one.",
    why="Its context window, output cap and prices are unknown, so no cost or fit can be given; the count "
    "itself assumes the newer tokenizer. Usually it is a typo, which the API would reject too.",
    fix="Use a model ID from the list in the message (closest matches first); for a model released after "
    "the table's date, the count is still usable, and `--exact` asks the API itself.",
    check=_CHECK,
)

RULES = (
    LARGE_FIXED_CONTEXT,
    IMPORT_NOT_FOUND,
    IMPORT_CYCLE,
    IMPORT_TOO_DEEP,
    MEMORY_UNREADABLE,
    UNKNOWN_MODEL,
)
