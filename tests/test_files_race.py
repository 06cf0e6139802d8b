"""A file swapped for a FIFO or a device after it was checked must not block or flood the read.

The swap is made deterministic by letting the check see a regular file while the path is a
FIFO; each read runs in a thread with a deadline, so a blocking open fails the test.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from claude_health.tools import files
from claude_health.tools.files import NotRegularFile, read_capped, read_text
from claude_health.tools.tokens.inputs import _read
from claude_health.tools.usage.scan import _Job
from claude_health.tools.usage.scan import _read as read_transcript


def within(seconds: float, fn: Callable[[], Any]) -> Any:
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # handed back to the test
            box["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "the read blocked"
    if "error" in box:
        raise box["error"]
    return box.get("value")


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "settings.json"
    os.mkfifo(path)
    return path


def test_read_capped_refuses_what_is_not_a_regular_file(fifo: Path) -> None:
    with pytest.raises(NotRegularFile):
        within(10, lambda: read_capped(fifo, 100))
    with pytest.raises(NotRegularFile):
        within(10, lambda: read_capped("/dev/zero", 100))
    with pytest.raises(IsADirectoryError):
        read_capped(fifo.parent, 100)


def test_a_fifo_swapped_in_after_the_check_does_not_block_read_text(
    fifo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    regular = tmp_path / "regular.json"
    regular.write_text("{}")
    real_stat = Path.stat

    def stat_as_before_the_swap(self: Path, **kw: Any) -> os.stat_result:
        return real_stat(regular if self == fifo else self, **kw)

    monkeypatch.setattr(files.Path, "stat", stat_as_before_the_swap)
    read = within(10, lambda: read_text(fifo))
    assert read.text is None and read.problem and "not a regular file" in read.problem


def test_tokens_and_usage_readers_do_not_block_on_a_fifo(fifo: Path) -> None:
    source = within(10, lambda: _read(fifo, "settings.json", 1000))
    assert source.data is None and "not a regular file" in (source.skipped or "")
    job = _Job(1, str(fifo), "p", 0, 100, fifo.stat(), (0, 0), 0)
    with pytest.raises(NotRegularFile):  # refused on the open descriptor, before any line is read
        within(10, lambda: read_transcript(job, None))  # type: ignore[arg-type]
