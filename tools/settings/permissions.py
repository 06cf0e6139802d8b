"""Permission rules: Claude Code's grammar, its rejection checks, and how a rule matches a call.

Behaviour follows Claude Code 2.1.332 as observed with `claude doctor` (notes §3.1-3.2 and §6):
``Bash(ls))``, ``Bash((ls)``, ``Bash(foo:*bar)``, ``Bash(foo())`` and ``WebSearch(*)`` load;
``Bash(ls``, ``Bash()``, ``bash(ls)``, ``mcp__x(y)``, ``WebSearch(what?)`` and URL-form
``WebFetch`` rules are dropped.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import PurePosixPath

ALIASES = {
    "Task": "Agent",
    "KillShell": "TaskStop",
    "KillBash": "TaskStop",
    "BashOutput": "TaskOutput",
    "AgentOutputTool": "TaskOutput",
    "ListMcpResources": "ListMcpResourcesTool",
    "ReadMcpResource": "ReadMcpResourceTool",
    "SlashCommand": "Skill",
}

KNOWN_TOOLS = frozenset(
    {
        "Agent", "AskUserQuestion", "Artifact", "Bash", "Cd", "CronCreate", "CronDelete", "CronList",
        "Edit", "EnterPlanMode", "EnterWorktree", "ExitPlanMode", "ExitWorktree", "Glob", "Grep", "LS",
        "LSP", "ListMcpResourcesTool", "Monitor", "MultiEdit", "NotebookEdit", "NotebookRead",
        "PowerShell", "Read", "ReadMcpResourceTool", "SendMessage", "ShareOnboardingGuide", "Skill",
        "TaskCreate", "TaskGet", "TaskList", "TaskOutput", "TaskStop", "TaskUpdate", "TeamCreate",
        "TeamDelete", "TodoWrite", "ToolSearch", "WebFetch", "WebSearch", "Workflow", "Write",
    }
)  # fmt: skip

# Claude Code's path matcher looks up only Read and Edit rules (notes §3.1).
PATH_TOOLS_CONSULTED = frozenset({"Read", "Edit"})
PATH_TOOLS_NEVER_CONSULTED = frozenset({"Write", "Glob", "Grep", "NotebookEdit", "MultiEdit", "LS"})
EDIT_TOOLS = frozenset({"Edit", "Write", "MultiEdit", "NotebookEdit"})
READ_TOOLS = frozenset({"Read", "Glob", "Grep", "LS", "NotebookRead"})
NO_PREFIX_SYNTAX = frozenset({"Read", "Write", "Edit", "Glob", "NotebookRead", "NotebookEdit", "Cd"})
SHELL_TOOLS = frozenset({"Bash", "PowerShell"})
_PARAM = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*):(.*)$", re.DOTALL)


@dataclass(frozen=True, slots=True)
class ParsedRule:
    """A permission rule as written, its tool (aliases resolved) and its specifier."""

    raw: str
    written_tool: str
    tool: str  # alias resolved
    content: str | None  # the specifier, unescaped; None for a bare tool rule
    # Derived once here: the cross-file checks compare every allow rule with many others.
    is_mcp: bool = False
    whole_tool: bool = False

    @classmethod
    def make(cls, raw: str, written_tool: str, content: str | None) -> ParsedRule:
        tool = ALIASES.get(written_tool, written_tool)
        return cls(
            raw=raw,
            written_tool=written_tool,
            tool=tool,
            content=content,
            is_mcp=tool.startswith("mcp__"),
            whole_tool=content is None or content in ("*", "**"),
        )


def _unescaped(text: str, char: str) -> list[int]:
    positions, escaped = [], False
    for i, c in enumerate(text):
        if escaped:
            escaped = False
        elif c == "\\":
            escaped = True
        elif c == char:
            positions.append(i)
    return positions


def _unescape(text: str) -> str:
    return re.sub(r"\\([()\\])", r"\1", text)


@lru_cache(maxsize=16384)
def parse(raw: str) -> ParsedRule | str:
    """The rule, or Claude Code's reason for skipping it."""
    rule = raw.strip()
    if not rule:
        return "Permission rule cannot be empty"
    opens = _unescaped(rule, "(")
    if not opens:
        if _unescaped(rule, ")"):
            return "Malformed Tool(content) rule: a ')' without a matching '('"
        tool, content = rule, None
    else:
        first = opens[0]
        if not rule.endswith(")") or rule.endswith("\\)"):
            return (
                "Malformed Tool(content) rule. Rules take the form Tool or Tool(content) and must end "
                'at the closing ")"'
            )
        tool, content = rule[:first], _unescape(rule[first + 1 : -1])
        if not tool:
            return "Malformed Tool(content) rule: the tool name is missing"
        if content == "":
            return f'Empty parentheses. Either specify a pattern or use just "{tool}" without parentheses'
    return ParsedRule.make(raw, tool, content)


@lru_cache(maxsize=16384)
def validate(rule: ParsedRule, behavior: str) -> str | None:
    """Claude Code's rejection checks for one parsed rule in ``allow``/``deny``/``ask``."""
    tool, content = rule.written_tool, rule.content
    if tool.startswith("mcp__"):
        if content is not None:
            return f'MCP rules do not support patterns in parentheses. Use "{tool}" without parentheses'
        if behavior == "allow" and "*" in tool and not re.match(r"^mcp__[^*]+__", tool):
            return f'Wildcard tool name "{tool}" is not supported in allow rules'
        return None
    if "*" in tool:
        if behavior == "allow":
            return f'Wildcard tool name "{tool}" is not supported in allow rules'
        return None
    if "_" not in tool and not tool[:1].isupper():
        return f'Tool names must start with uppercase. Use "{tool[:1].upper()}{tool[1:]}"'
    if content is None:
        return None
    if tool == "WebFetch":
        if "://" in content:
            return 'WebFetch permissions use domain format, not URLs. Use "domain:hostname"'
        if not content.startswith("domain:") and content not in ("*", "**"):
            return 'WebFetch permissions must use "domain:" prefix. Use "domain:hostname" format'
    if tool == "WebSearch" and content not in ("*", "**") and ("*" in content or "?" in content):
        return "WebSearch does not support wildcards. Use exact search terms without * or ?"
    if tool in SHELL_TOOLS and content == ":*":
        return "Prefix cannot be empty before :*. Specify a command prefix before :*"
    if tool in NO_PREFIX_SYNTAX and content.endswith(":*"):
        return 'The ":*" syntax is only for Bash prefix rules. Use glob patterns like "*" or "**"'
    return None


# -- matching ----------------------------------------------------------------------------------


def wildcard_matches(pattern: str, text: str) -> bool:
    """``*`` matches anything (spaces and slashes included), everything else is literal.

    Linear, not a regex: ``.*a.*a.*b`` backtracks exponentially on a long run of ``a`` and a
    settings file is untrusted input. With only ``*`` the leftmost placement of each literal
    piece is always a correct choice, so one forward scan decides.
    """
    pieces = pattern.split("*")
    if len(pieces) == 1:
        return text == pattern
    head, *middle, tail = pieces
    if len(text) < len(head) + len(tail) or not text.startswith(head) or not text.endswith(tail):
        return False
    pos, end = len(head), len(text) - len(tail)
    for piece in middle:
        found = text.find(piece, pos, end)
        if found < 0:
            return False
        pos = found + len(piece)
    return True


def shell_pattern_matches(pattern: str, command: str) -> bool:
    """One Bash/PowerShell specifier against one simple command."""
    command = command.strip()
    if pattern in ("*", "**"):
        return True
    if pattern.endswith(":*") and "*" not in pattern[:-2]:
        prefix = pattern[:-2]
        return command == prefix or command.startswith(prefix)
    if "*" not in pattern:
        return command == pattern
    if pattern.endswith(" *") and command == pattern[:-2]:
        return True  # `Bash(ls *)` also matches a bare `ls`
    return wildcard_matches(pattern, command)


_SPLIT = re.compile(r"""('[^']*'|"(?:\\.|[^"\\])*")|(&&|\|\||;|\||\n)""")


def split_command(command: str) -> list[str]:
    """Subcommands of a compound shell command (quotes respected; good enough for rules)."""
    parts, current = [], []
    pos = 0
    for m in _SPLIT.finditer(command):
        if m.group(2):
            current.append(command[pos : m.start()])
            parts.append("".join(current).strip())
            current = []
            pos = m.end()
    current.append(command[pos:])
    parts.append("".join(current).strip())
    return [p for p in parts if p]


@dataclass(frozen=True, slots=True)
class Glob:
    """A gitignore-style glob compiled for a bit-parallel scan: bit ``i`` is "token i is next".

    Tokens: a literal character, ``?`` (one character but "/"), ``*`` (a run without "/"),
    ``**`` (any run) and ``**/`` (nothing, or a run ending in "/"), which takes two bits: its
    entry (matches nothing, leads inside it or past it) and its inside (any run, left on a "/").
    Matching keeps the set of live tokens in one integer, so its cost is linear in the text
    whatever wildcards the (untrusted) pattern holds; a backtracking regex is exponential on
    ``**a**a**a**b``.
    """

    size: int  # number of bits; bit ``size`` set means the whole glob has matched
    literal: dict[str, int]  # character -> literal tokens equal to it
    one: int  # ``?``
    star: int  # ``*``
    any: int  # ``**``
    dirs: int  # ``**/`` entry
    inside: int  # ``**/`` inside

    @property
    def nullable(self) -> int:
        return self.star | self.any | self.dirs


def compile_glob(pattern: str, *, prefix: str = "", dirs_after_prefix: bool = False) -> Glob:
    """``prefix`` is matched literally, then (optionally) ``**/``, then ``pattern``."""
    parts: list[str] = [f"={c}" for c in prefix]
    if dirs_after_prefix:
        parts += ["**/", "**/+"]
    i = 0
    while i < len(pattern):
        part = next((t for t in ("**/", "**", "*", "?") if pattern.startswith(t, i)), None)
        if part is None:
            parts.append("=" + pattern[i])
            i += 1
            continue
        i += len(part)
        # Adjacent wildcards collapse (``****/`` is ``**``), so a run of them stays short.
        last = parts[-1] if parts else ""
        if part != "?" and (last == "**" or (last == "**/+" and part == "**/")):
            continue
        if last == "**/+" and part == "**":
            del parts[-2:]
        parts += ["**/", "**/+"] if part == "**/" else [part]
    literal: dict[str, int] = {}
    masks = {"?": 0, "*": 0, "**": 0, "**/": 0, "**/+": 0}
    for bit, part in enumerate(parts):
        if part.startswith("="):
            literal[part[1]] = literal.get(part[1], 0) | 1 << bit
        else:
            masks[part] |= 1 << bit
    return Glob(len(parts), literal, masks["?"], masks["*"], masks["**"], masks["**/"], masks["**/+"])


def glob_matches(glob: Glob, text: str, *, subtree: bool = False) -> bool:
    """Does ``text`` match (``subtree``: or lie beneath a match, after a "/")?"""
    nullable, entry, done = glob.nullable, glob.dirs, 1 << glob.size

    def close(live: int) -> int:
        # Wildcards may match nothing: a live one also makes the next token live (a ``**/``
        # entry: its inside and the token after it).
        while True:
            wider = live | (live & nullable) << 1 | (live & entry) << 2
            if wider == live:
                return live
            live = wider

    live = close(1)
    for char in text:
        slash = char == "/"
        if slash and subtree and live & done:
            return True
        stay = live & (glob.any | glob.inside | (0 if slash else glob.star))
        step = live & (glob.literal.get(char, 0) | (glob.inside if slash else glob.one))
        live = close(stay | step << 1)
        if not live:
            return False
    return bool(live & done)


@lru_cache(maxsize=4096)
def _path_glob(absolute: str, anchored: bool) -> Glob:
    if anchored:
        return compile_glob(absolute.rstrip("/"))
    root, _, name = absolute.rpartition("/")
    return compile_glob(name.rstrip("/"), prefix=root + "/", dirs_after_prefix=True)


def resolve_path_pattern(pattern: str, *, base: str, cwd: str, home: str) -> tuple[str, bool]:
    """An absolute gitignore-style pattern, and whether it is anchored (vs any-depth basename)."""
    if pattern.startswith("//"):
        return "/" + pattern[2:].lstrip("/"), True
    if pattern.startswith("~/"):
        return home.rstrip("/") + "/" + pattern[2:], True
    if pattern.startswith("/"):
        return base.rstrip("/") + pattern, True
    rel = pattern[2:] if pattern.startswith("./") else pattern
    anchored = "/" in rel.rstrip("/")
    return cwd.rstrip("/") + "/" + rel, anchored


def path_pattern_matches(pattern: str, path: str, *, base: str, cwd: str, home: str) -> bool:
    if pattern in ("*", "**"):
        return True
    absolute, anchored = resolve_path_pattern(pattern, base=base, cwd=cwd, home=home)
    return glob_matches(_path_glob(absolute, anchored), str(PurePosixPath(path)), subtree=True)


def domain_matches(pattern: str, url_or_host: str) -> bool:
    host = url_or_host
    m = re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://([^/:?#]+)", url_or_host)
    if m:
        host = m.group(1)
    host = host.lower()
    spec = pattern.removeprefix("domain:").lower()
    if spec in ("*", "**"):
        return True
    return fnmatch.fnmatchcase(host, spec)


def mcp_tool_matches(rule_tool: str, tool: str) -> bool:
    if "*" in rule_tool:
        return wildcard_matches(rule_tool, tool)
    if rule_tool == tool:
        return True
    # `mcp__server` covers every tool of that server.
    return rule_tool.count("__") == 1 and tool.startswith(rule_tool + "__")


def param_match(content: str) -> tuple[str, str] | None:
    """``Tool(param:value)`` -> (param, value); None for other specifiers."""
    m = _PARAM.match(content)
    return (m.group(1), m.group(2)) if m else None
