"""Defensive reading of user files: every defect is a problem description, never a hang or crash."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from claude_health.tools.files import read_json_object, read_text


def test_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_bytes(b'\xef\xbb\xbf{"model": "opus"}')
    assert read_json_object(path).data == {"model": "opus"}


def test_missing_file_is_not_a_problem(tmp_path: Path) -> None:
    read = read_json_object(tmp_path / "absent.json")
    assert (read.exists, read.data, read.problem) == (False, None, None)


def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / ".mcp.json"
    os.mkfifo(fifo)
    read = read_text(fifo)  # a blocking open() would hang this test forever
    assert read.exists and read.problem and "not a regular file" in read.problem


def test_device_behind_a_symlink_is_refused(tmp_path: Path) -> None:
    link = tmp_path / "settings.json"
    link.symlink_to("/dev/zero")
    read = read_text(link)
    assert read.problem and "not a regular file" in read.problem


def test_symlink_loop_and_directory(tmp_path: Path) -> None:
    loop = tmp_path / "loop.json"
    loop.symlink_to(loop)
    assert "does not resolve" in (read_text(loop).problem or "")
    assert "directory" in (read_text(tmp_path).problem or "")


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"\x00\x01", "binary"),
        (b"\xff\xfe{}", "UTF-8"),
        (b"", "empty"),
        (b"[1]", "JSON object"),
        (b'{"a": 1,}', "not valid JSON"),
        (b'{"n": ' + b"9" * 5000 + b"}", "cannot be parsed"),
        (b"[" * 100_000, "nested too deeply"),
    ],
)
def test_bad_content_is_described(tmp_path: Path, content: bytes, fragment: str) -> None:
    path = tmp_path / "f.json"
    path.write_bytes(content)
    read = read_json_object(path)
    assert read.data is None
    assert read.problem and fragment in read.problem


def test_size_limit(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    path.write_bytes(b"{}" + b" " * 2048)
    read = read_text(path, limit=1024)
    assert read.too_large and "too large to judge" in (read.problem or "")
