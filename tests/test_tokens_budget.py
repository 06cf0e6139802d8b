"""The per-turn context budget: memory files, @imports, auto memory, MCP servers, findings."""

from __future__ import annotations

from claude_health.tools.tokens.budget import context_budget, imports_in, project_slug
from claude_health.tools.tokens.check import run_check
from tests.conftest import Sandbox


def codes(budget: object) -> list[str]:
    return sorted(f.code for f in budget.findings)  # type: ignore[attr-defined]


def test_empty_project_costs_nothing(sandbox: Sandbox) -> None:
    budget = context_budget(sandbox.workspace())
    assert budget.tokens == 0 and budget.items == [] and budget.findings == []


def test_memory_files_in_load_order_sources(sandbox: Sandbox) -> None:
    sandbox.write(sandbox.managed / "CLAUDE.md", "Company policy: never commit secrets.")
    sandbox.write(sandbox.home / ".claude" / "CLAUDE.md", "I prefer short answers.")
    sandbox.write(sandbox.home / ".claude" / "rules" / "style.md", "Use British spelling.")
    sandbox.write(sandbox.root / "CLAUDE.md", "Parent directory memory.")  # an ancestor of the project
    sandbox.write(sandbox.project / "CLAUDE.md", "Project conventions: run pytest before committing.")
    sandbox.write(sandbox.project / ".claude" / "CLAUDE.md", "More project rules.")
    sandbox.write(sandbox.project / ".claude" / "rules" / "tests.md", "Tests live in tests/.")
    sandbox.write(sandbox.project / "CLAUDE.local.md", "My sandbox URL is local.")
    budget = context_budget(sandbox.workspace())
    kinds = sorted(i.kind for i in budget.items)
    assert kinds == ["local", "managed", "project", "project", "project", "rules", "rules", "user"]
    assert budget.tokens == sum(i.tokens for i in budget.items) > 0
    assert budget.error_band[0] < budget.tokens < budget.error_band[1]
    assert budget.items == sorted(budget.items, key=lambda i: (-i.tokens, i.path))


def test_imports_are_followed_recursively_and_once(sandbox: Sandbox) -> None:
    sandbox.write(sandbox.project / "CLAUDE.md", "See @docs/guide.md and @docs/guide.md again.\n")
    sandbox.write(sandbox.project / "docs" / "guide.md", "Guide. Also @../notes/deep.md\n")
    sandbox.write(sandbox.project / "notes" / "deep.md", "Deep notes " * 50)
    sandbox.write(sandbox.home / "personal.md", "Personal instructions.")
    sandbox.write(sandbox.project / ".claude" / "CLAUDE.md", "Mine: @~/personal.md")
    budget = context_budget(sandbox.workspace())
    imported = {i.path.split("/")[-1]: i for i in budget.items if i.kind == "import"}
    assert set(imported) == {"guide.md", "deep.md", "personal.md"}
    assert imported["deep.md"].depth == 2 and imported["deep.md"].imported_from is not None
    assert imported["deep.md"].imported_from.endswith("guide.md")
    assert budget.findings == []


def test_imports_in_code_are_ignored() -> None:
    text = "Run `@not/an/import.md` and\n```\n@also/not.md\n```\nbut @real.md, and mail a@b.com"
    assert imports_in(text) == ["real.md,"]


def test_missing_import_and_trailing_punctuation(sandbox: Sandbox) -> None:
    sandbox.write(sandbox.project / "README.md", "Readme text.")
    sandbox.write(sandbox.project / "CLAUDE.md", "Read @README.md. Also @docs/missing.md and ping @alice")
    budget = context_budget(sandbox.workspace())
    assert any(i.path.endswith("README.md") for i in budget.items)
    assert codes(budget) == ["T002"]  # @alice is not path-like, so it is not reported
    assert "docs/missing.md" in budget.findings[0].message


def test_cycles_are_safe_and_reported(sandbox: Sandbox) -> None:
    sandbox.write(sandbox.project / "CLAUDE.md", "@a.md")
    sandbox.write(sandbox.project / "a.md", "A imports @b.md")
    sandbox.write(sandbox.project / "b.md", "B imports @a.md and @CLAUDE.md")
    budget = context_budget(sandbox.workspace())
    assert len(budget.items) == 3
    assert codes(budget) == ["T003", "T003"]


def test_depth_limit(sandbox: Sandbox) -> None:
    sandbox.write(sandbox.project / "CLAUDE.md", "@d1.md")
    for n in range(1, 8):
        sandbox.write(sandbox.project / f"d{n}.md", f"level {n} @d{n + 1}.md")
    budget = context_budget(sandbox.workspace())
    depths = sorted(i.depth for i in budget.items)
    assert depths == [0, 1, 2, 3, 4, 5]
    assert codes(budget) == ["T004"]


def test_auto_memory_is_truncated_to_200_lines(sandbox: Sandbox) -> None:
    memory = sandbox.home / ".claude" / "projects" / project_slug(sandbox.project) / "memory" / "MEMORY.md"
    sandbox.write(memory, "".join(f"- fact number {n}\n" for n in range(1000)))
    budget = context_budget(sandbox.workspace())
    (item,) = budget.items
    assert item.kind == "auto_memory"
    assert item.bytes <= 25 * 1024 and item.bytes < len(memory.read_bytes()) / 4


def test_unreadable_and_binary_memory(sandbox: Sandbox) -> None:
    sandbox.write(sandbox.project / "CLAUDE.md", b"\x00\x01binary")
    sandbox.write(sandbox.home / ".claude" / "CLAUDE.md", b"\xff\xfe not utf8")
    budget = context_budget(sandbox.workspace())
    assert codes(budget) == ["T005", "T005"] and budget.items == []


def test_symlink_loop_import_does_not_hang(sandbox: Sandbox) -> None:
    loop = sandbox.project / "loop.md"
    loop.symlink_to(loop)
    sandbox.write(sandbox.project / "CLAUDE.md", "@loop.md")
    budget = context_budget(sandbox.workspace())
    assert len(budget.items) == 1


def test_large_budget_is_a_warning(sandbox: Sandbox) -> None:
    sandbox.write(sandbox.project / "CLAUDE.md", "@big.md")
    sandbox.write(sandbox.project / "big.md", "The build uses several careful steps and checks. " * 3000)
    budget = context_budget(sandbox.workspace(), "claude-opus-4-7")
    assert budget.tokens > 20_000 and codes(budget) == ["T001"]
    assert "big.md" in budget.findings[0].message


def test_mcp_servers_are_described_not_launched(sandbox: Sandbox) -> None:
    marker = sandbox.root / "launched"
    sandbox.write(
        sandbox.project / ".mcp.json",
        {
            "mcpServers": {
                "files": {"command": "touch", "args": [str(marker)]},
                "web": {"type": "http", "url": "http://x"},
            }
        },
    )
    sandbox.claude_json(
        {
            "mcpServers": {"global": {"command": "touch", "args": [str(marker)]}},
            "projects": {str(sandbox.project): {"mcpServers": {"mine": {"type": "sse", "url": "http://y"}}}},
        }
    )
    budget = context_budget(sandbox.workspace())
    names = {(s.name, s.scope, s.transport) for s in budget.mcp_servers}
    assert names == {
        ("files", "project", "stdio"),
        ("web", "project", "http"),
        ("global", "user", "stdio"),
        ("mine", "local", "sse"),
    }
    assert not any(s.tools_listed for s in budget.mcp_servers)
    assert not marker.exists()
    assert any("not counted" in n for n in budget.notes)


def test_malformed_mcp_json_is_tolerated(sandbox: Sandbox) -> None:
    sandbox.write(sandbox.project / ".mcp.json", "{not json")
    assert context_budget(sandbox.workspace()).mcp_servers == []


def test_doctor_check(sandbox: Sandbox) -> None:
    sandbox.write(sandbox.project / "CLAUDE.md", "@gone/file.md")
    outcome = run_check(sandbox.workspace())
    assert [f.code for f in outcome.findings] == ["T002"]
    assert outcome.data["tokens"] >= 1 and "items" in outcome.data
