"""Property tests: whatever else a config file holds survives install/uninstall byte for byte."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from claude_health.tools.paths import Workspace
from claude_health.tools.registration.launch import Launch
from claude_health.tools.registration.plan import apply, plan_install, plan_uninstall

LAUNCH = Launch("/opt/claude-health", ["serve"])
SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

keys = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12).filter(
    lambda k: k not in ("claude-health", "mcpServers")
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**9), 10**9),
    st.text(max_size=20),
    st.floats(allow_nan=False, allow_infinity=False),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
    max_leaves=10,
)
servers = st.dictionaries(
    keys,
    st.fixed_dictionaries(
        {"command": st.text(max_size=10), "args": st.lists(st.text(max_size=6), max_size=3)}
    ),
    min_size=1,
    max_size=4,
)
indents = st.sampled_from([None, 2, 4, "\t", 1])


def workspace(root: Path) -> Workspace:
    root.mkdir(parents=True, exist_ok=True)
    return Workspace.discover(project=root, env={"HOME": str(root / "home"), "PATH": ""}, platform="linux")


def common_prefix_suffix_cover(old: str, new: str) -> bool:
    """True when ``new`` is ``old`` with one contiguous insertion (nothing of ``old`` altered)."""
    prefix = 0
    while prefix < min(len(old), len(new)) and old[prefix] == new[prefix]:
        prefix += 1
    suffix = 0
    while suffix < min(len(old), len(new)) - prefix and old[-1 - suffix] == new[-1 - suffix]:
        suffix += 1
    return prefix + suffix >= len(old)


@SETTINGS
@given(
    before=st.dictionaries(keys, json_values, max_size=4),
    others=servers,
    after=st.dictionaries(keys, json_values, max_size=3),
    indent=indents,
)
def test_json_install_is_a_pure_insertion_and_uninstall_restores(
    tmp_path_factory: Any, before: dict[str, Any], others: dict[str, Any], after: dict[str, Any], indent: Any
) -> None:
    root = tmp_path_factory.mktemp("p")
    data = {**before, "mcpServers": others, **{k: v for k, v in after.items() if k not in before}}
    original = json.dumps(data, indent=indent, ensure_ascii=False) + "\n"
    path = root / ".mcp.json"
    path.write_text(original, encoding="utf-8")
    ws = workspace(root)
    apply(plan_install(ws, "claude-code", launch=LAUNCH))
    new = path.read_text(encoding="utf-8")
    assert common_prefix_suffix_cover(original, new)
    parsed = json.loads(new)
    assert parsed["mcpServers"]["claude-health"]["command"] == "/opt/claude-health"
    parsed["mcpServers"].pop("claude-health")
    assert parsed == data
    apply(plan_uninstall(ws, "claude-code"))
    assert path.read_text(encoding="utf-8") == original


@SETTINGS
@given(others=servers, old=json_values, indent=indents)
def test_json_replacing_an_entry_touches_nothing_else(
    tmp_path_factory: Any, others: dict[str, Any], old: Any, indent: Any
) -> None:
    root = tmp_path_factory.mktemp("r")
    data = {"mcpServers": {**others, "claude-health": old}, "tail": [1, 2]}
    original = json.dumps(data, indent=indent, ensure_ascii=False)
    path = root / ".cursor" / "mcp.json"
    path.parent.mkdir()
    path.write_text(original, encoding="utf-8")
    change = plan_install(workspace(root), "cursor", launch=LAUNCH)
    apply(change)
    new = path.read_text(encoding="utf-8")
    old_value = json.dumps(old, indent=indent, ensure_ascii=False)
    # everything before and after the old value is kept verbatim
    start = original.rfind(old_value) if indent is None else original.find('"claude-health": ') + 17
    assert new.startswith(original[:start])
    parsed = json.loads(new)
    assert parsed["tail"] == [1, 2]
    assert {k: v for k, v in parsed["mcpServers"].items() if k != "claude-health"} == others


toml_keys = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True).filter(lambda k: k != "mcp_servers")
comments = st.lists(st.from_regex(r"# [a-zA-Z0-9 ]{0,20}", fullmatch=True), max_size=3)


@SETTINGS
@given(
    top=st.dictionaries(toml_keys, st.one_of(st.integers(), st.text(max_size=10), st.booleans()), max_size=3),
    others=st.dictionaries(
        toml_keys, st.fixed_dictionaries({"command": st.text(max_size=10)}), min_size=0, max_size=3
    ),
    head=comments,
    tail=comments,
)
def test_toml_comments_and_tables_survive(
    tmp_path_factory: Any, top: dict[str, Any], others: dict[str, Any], head: list[str], tail: list[str]
) -> None:
    root = tmp_path_factory.mktemp("t")
    body = tomli_w.dumps({**top, "mcp_servers": others} if others else top)
    original = "".join(c + "\n" for c in head) + body + "".join(c + "\n" for c in tail)
    path = root / ".codex" / "config.toml"
    path.parent.mkdir()
    path.write_text(original, encoding="utf-8")
    ws = workspace(root)
    apply(plan_install(ws, "codex", scope="project", launch=LAUNCH))
    new = path.read_text(encoding="utf-8")
    assert new.startswith(original)
    assert tomllib.loads(new)["mcp_servers"]["claude-health"] == {
        "command": "/opt/claude-health",
        "args": ["serve"],
    }
    apply(plan_uninstall(ws, "codex", scope="project"))
    restored = path.read_text(encoding="utf-8")
    assert restored == original or (not original.strip() and not restored.strip())


@SETTINGS
@given(before=st.dictionaries(keys, json_values, max_size=5), indent=indents)
def test_json_missing_container_is_added_without_touching_the_rest(
    tmp_path_factory: Any, before: dict[str, Any], indent: Any
) -> None:
    root = tmp_path_factory.mktemp("m")
    original = json.dumps(before, indent=indent, ensure_ascii=False)
    path = root / "home" / ".claude.json"
    path.parent.mkdir(parents=True)
    path.write_text(original, encoding="utf-8")
    ws = workspace(root)
    apply(plan_install(ws, "claude-code", scope="user", launch=LAUNCH))
    new = path.read_text(encoding="utf-8")
    assert common_prefix_suffix_cover(original, new)
    assert json.loads(new) == {
        **before,
        "mcpServers": {"claude-health": plan_install(ws, "claude-code", scope="user", launch=LAUNCH).entry},
    }
    apply(plan_uninstall(ws, "claude-code", scope="user"))
    assert json.loads(path.read_text(encoding="utf-8")) == {**before, "mcpServers": {}}
