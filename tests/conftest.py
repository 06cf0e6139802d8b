"""Shared fixtures: a throw-away HOME and project for every test, never the real user's."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from claude_health.tools.paths import Workspace
from tests.fake_anthropic import FakeAnthropic
from tests.fakes import fake_key
from tests.redis_cluster_support import redis_cluster  # noqa: F401 (session fixture: one cluster per run)


class Sandbox:
    """A fake user: HOME, a project directory, a managed directory and an environment."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.home = root / "home"
        self.project = root / "project"
        self.managed = root / "managed"
        for d in (self.home, self.project, self.managed):
            d.mkdir(parents=True, exist_ok=True)
        self.env: dict[str, str] = {
            "HOME": str(self.home),
            "PATH": "/usr/bin:/bin",
            "CLAUDE_HEALTH_MANAGED_DIR": str(self.managed),
        }

    def write(self, path: Path | str, content: str | bytes | dict[str, Any]) -> Path:
        target = Path(path)
        if not target.is_absolute():
            target = self.root / target
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, dict):
            target.write_text(json.dumps(content, indent=2))
        elif isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)
        return target

    def user_settings(self, data: dict[str, Any] | str) -> Path:
        return self.write(self.home / ".claude" / "settings.json", data)

    def project_settings(self, data: dict[str, Any] | str) -> Path:
        return self.write(self.project / ".claude" / "settings.json", data)

    def local_settings(self, data: dict[str, Any] | str) -> Path:
        return self.write(self.project / ".claude" / "settings.local.json", data)

    def managed_settings(self, data: dict[str, Any] | str) -> Path:
        return self.write(self.managed / "managed-settings.json", data)

    def claude_json(self, data: dict[str, Any] | str) -> Path:
        return self.write(self.home / ".claude.json", data)

    def credentials(self, data: dict[str, Any] | str) -> Path:
        return self.write(self.home / ".claude" / ".credentials.json", data)

    def workspace(self) -> Workspace:
        return Workspace.discover(project=self.project, env=self.env, platform="linux")


@pytest.fixture
def sandbox(tmp_path: Path) -> Sandbox:
    return Sandbox(tmp_path)


@pytest.fixture
def make_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Callable[[], Sandbox]:
    return lambda: Sandbox(tmp_path_factory.mktemp("sandbox"))


@pytest.fixture
def key() -> str:
    """A fake API key, built at run time."""
    return fake_key("api_key")


@pytest.fixture
def api(key: str) -> Iterator[FakeAnthropic]:
    """A local server on 127.0.0.1 that follows the Anthropic API contract and accepts ``key``."""
    with FakeAnthropic(key) as fake:
        yield fake
