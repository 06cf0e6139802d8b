"""The recorded listing: what a server started from it shows and does is what a fully registered
server shows and does; a record that does not fit (other code, other versions, damaged) is never used.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters

from claude_health.server import listing
from claude_health.server.app import ClaudeHealthServer, build_server, tool_modules
from tests.conftest import Sandbox
from tests.mcp_helpers import MODES, cli_path

LIST_METHODS = ("list_tools", "list_resources", "list_resource_templates", "list_prompts")


def answers(server: ClaudeHealthServer) -> dict[str, list[dict[str, Any]]]:
    """The four list answers as a client receives them."""

    async def gather() -> dict[str, list[dict[str, Any]]]:
        return {
            name: [item.model_dump(mode="json", by_alias=True) for item in await getattr(server, name)()]
            for name in LIST_METHODS
        }

    return asyncio.run(gather())


def records(cache: Path) -> list[Path]:
    return sorted(cache.glob(f"{listing.PREFIX}*.json"))


def test_a_second_start_lists_exactly_what_registration_lists(tmp_path: Path) -> None:
    registered = build_server()
    assert registered.listing is None and registered.loaded == set(tool_modules())

    first = build_server(cache_dir=str(tmp_path))
    assert first.listing is None and len(records(tmp_path)) == 1
    listed = build_server(cache_dir=str(tmp_path))
    assert listed.listing is not None
    assert listed.loaded == set()  # nothing registered: the record answers

    expected = answers(registered)
    assert answers(listed) == expected
    assert len(expected["list_tools"]) >= 12 and expected["list_resources"] and expected["list_prompts"]
    # Every entry is owned by the module that registers it.
    owners = listed.listing.owners
    assert {listing.owner_key(listing.TOOL, t["name"]) for t in expected["list_tools"]} <= set(owners)
    assert owners[listing.owner_key(listing.TOOL, "count_tokens")] == "tokens"
    assert owners[listing.owner_key(listing.PROMPT, "diagnose")] == "diagnose"


@pytest.mark.parametrize("mode", MODES)
async def test_calls_reads_and_prompts_register_only_their_own_adapter(
    mode: str, sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in sandbox.env.items():
        monkeypatch.setenv(name, value)
    cache = str(tmp_path / "cache")
    build_server(cache_dir=cache)
    listed = build_server(cache_dir=cache)
    project = str(sandbox.project)
    async with Client(listed, mode=mode) as lazy, Client(build_server(), mode=mode) as eager:
        assert (await lazy.list_tools()).tools == (await eager.list_tools()).tools

        args = {"text": "hello world", "project_dir": project}
        got = await lazy.call_tool("count_tokens", args)
        assert listed.loaded == {"tokens"}
        assert got.structured_content == (await eager.call_tool("count_tokens", args)).structured_content

        bad = {"text": 5}  # rejected by the input schema the listing advertised
        assert (await lazy.call_tool("count_tokens", bad)).is_error
        assert (await eager.call_tool("count_tokens", bad)).is_error

        findings = "settings://findings"
        assert (await lazy.read_resource(findings)).contents == (await eager.read_resource(findings)).contents
        assert listed.loaded == {"tokens", "settings"}

        prompt = await lazy.get_prompt("diagnose", {"project_dir": project})
        assert prompt.messages == (await eager.get_prompt("diagnose", {"project_dir": project})).messages
        assert listed.loaded == {"tokens", "settings", "diagnose"}

        # A name nobody registers gets the SDK's own answer, after every adapter is loaded.
        unknown = await lazy.call_tool("no_such_tool", {})
        assert unknown.is_error
        assert unknown.content == (await eager.call_tool("no_such_tool", {})).content
        assert listed.loaded == set(tool_modules())


def test_a_damaged_record_is_replaced_not_used(tmp_path: Path) -> None:
    build_server(cache_dir=str(tmp_path))
    (record,) = records(tmp_path)
    good = record.read_bytes()
    for damage in (
        b"",
        b"{",
        b"[]",
        b'{"tools": 5}',
        good[: len(good) // 2],
        json.dumps({"tools": []}).encode(),
    ):
        record.write_bytes(damage)
        server = build_server(cache_dir=str(tmp_path))
        assert server.listing is None  # registered in full, as without a cache
        assert record.read_bytes() == good  # and recorded again


def test_a_record_written_by_other_code_or_versions_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_server(cache_dir=str(tmp_path))
    real_version = listing.metadata.version
    monkeypatch.setattr(
        listing.metadata, "version", lambda name: "0.0.1" if name == "mcp" else real_version(name)
    )
    server = build_server(cache_dir=str(tmp_path))
    assert server.listing is None
    assert len(records(tmp_path)) == 2  # each install keeps its own record

    # A source file edited in place (an editable install keeps its version) changes the key too.
    src = tmp_path / "src"
    (src / "pkg").mkdir(parents=True)
    module = src / "pkg" / "adapter.py"
    module.write_text("X = 1\n")
    before = listing.fingerprint([str(src)])
    assert listing.fingerprint([str(src)]) == before
    module.write_text("X = 22\n")
    assert listing.fingerprint([str(src)]) != before
    (src / "pkg" / "new.py").write_text("")
    assert listing.fingerprint([str(src)]) not in {before}


def test_old_records_of_other_installs_are_pruned(tmp_path: Path) -> None:
    stale = tmp_path / f"{listing.PREFIX}0123456789abcdef01234567.json"
    recent = tmp_path / f"{listing.PREFIX}89abcdef0123456789abcdef.json"
    unrelated = tmp_path / "limiter.db"
    half_written = tmp_path / f".{stale.name}.k2j4f9"  # a start killed while writing its record
    for path in (stale, recent, unrelated, half_written):
        path.write_text("{}")
    month_ago = stale.stat().st_mtime - listing.STALE_AFTER_S - 60
    for path in (stale, unrelated, half_written):
        os.utime(path, (month_ago, month_ago))
    build_server(cache_dir=str(tmp_path))
    assert not stale.exists() and not half_written.exists()
    assert recent.exists() and unrelated.exists()


def test_a_cache_path_that_is_a_file_costs_the_record_only(tmp_path: Path) -> None:
    blocker = tmp_path / "cache"
    blocker.write_text("not a directory")
    server = build_server(cache_dir=str(blocker))
    assert server.listing is None and server.loaded == set(tool_modules())
    assert blocker.read_text() == "not a directory"


async def test_the_console_script_serves_from_its_record(sandbox: Sandbox) -> None:
    """`serve` twice in one HOME: the first records, the second lists from the record; the client
    sees the same tools and gets the same answers."""
    params = StdioServerParameters(
        command=cli_path(), args=["serve"], env={**sandbox.env, "CLAUDE_HEALTH_WATCH": "0"}
    )
    seen = []
    for _start in range(2):
        async with Client(params) as client:
            tools = (await client.list_tools()).tools
            result = await client.call_tool(
                "count_tokens", {"text": "a b c", "project_dir": str(sandbox.project)}
            )
            seen.append((tools, result.structured_content))
    cache = sandbox.home / ".cache" / "claude-health"
    assert len(records(cache)) == 1
    assert seen[0] == seen[1]
    assert seen[0][1] is not None and seen[0][1]["tokens"] > 0


def test_without_the_versions_a_record_depends_on_no_record_is_used_or_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_server(cache_dir=str(tmp_path))
    assert len(records(tmp_path)) == 1

    def no_metadata(name: str) -> str:
        raise listing.metadata.PackageNotFoundError(name)  # mcp vendored without its dist-info

    monkeypatch.setattr(listing.metadata, "version", no_metadata)
    server = build_server(cache_dir=str(tmp_path))
    assert server.listing is None and server.loaded == set(tool_modules())
    assert len(records(tmp_path)) == 1
