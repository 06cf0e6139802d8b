"""Fixtures of the hostile-input suite, and its tally: written to build/hostile-summary.json
(or ``$CLAUDE_HEALTH_HOSTILE_SUMMARY``) and printed at the end of the run."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.hostile.harness import TALLY
from tests.hostile.inputs import Case, Hostile, build

REPO = Path(__file__).resolve().parents[2]


def _remove(path: Path) -> None:
    # GNU rm walks a tree of any depth; shutil.rmtree recurses once per level (deep-directories).
    subprocess.run(["rm", "-rf", str(path)], check=False, timeout=300)


@pytest.fixture(scope="session")
def hostile_root() -> Iterator[Path]:
    """Where hostile workspaces live: not under pytest's tmp_path, whose clean-up recurses."""
    root = Path(tempfile.mkdtemp(prefix="claude-health-hostile-"))
    try:
        yield root
    finally:
        _remove(root)


@pytest.fixture(scope="session")
def workspaces(hostile_root: Path) -> Callable[[Case], Hostile]:
    """One workspace per case, built on first use and shared by every surface that reads it."""
    built: dict[str, Hostile] = {}

    def get(case: Case) -> Hostile:
        if case.name not in built:
            built[case.name] = build(case, hostile_root / case.name)
        return built[case.name]

    return get


@pytest.fixture
def fresh(hostile_root: Path) -> Iterator[Callable[[Case], Hostile]]:
    """Workspaces of this test only (for surfaces that write, or cases that mutate)."""
    made: list[Path] = []

    def get(case: Case) -> Hostile:
        root = Path(tempfile.mkdtemp(prefix=f"{case.name}-", dir=hostile_root))
        made.append(root)
        return build(case, root)

    yield get
    for root in made:
        _remove(root)


@pytest.fixture
def inside(monkeypatch: pytest.MonkeyPatch) -> Callable[[Hostile], None]:
    """Make this process see only the workspace's environment and stand in its project."""

    def enter(h: Hostile) -> None:
        for name in list(os.environ):
            monkeypatch.delenv(name)
        for name, value in {
            **h.sandbox.env,
            "CLAUDE_HEALTH_WATCH": "0",
            "NO_COLOR": "1",
            **h.env,
        }.items():
            monkeypatch.setenv(name, value)
        monkeypatch.chdir(h.project)

    return enter


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not TALLY.outcomes:
        return
    summary = TALLY.summary()
    target = Path(os.environ.get("CLAUDE_HEALTH_HOSTILE_SUMMARY") or REPO / "build" / "hostile-summary.json")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(summary, indent=2) + "\n")
    classes = ", ".join(f"{k} {v['cases']}" for k, v in sorted(summary["by_class"].items()))
    terminalreporter.write_sep(
        "=",
        f"hostile inputs: {summary['cases']} cases ({classes}); crashes {summary['crashes']}, "
        f"leaks {summary['leaks']}, data lost {summary['data_lost']} -> {target}",
    )
