"""bench/usage_scan.py measures the tree its sizes say: a tree kept in ``--workdir`` is cut back
to its bytes as generated before each run (every run's warm phases append about 30 MiB to it)."""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench" / "usage_scan.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("usage_scan_bench", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def digests(bench: ModuleType, tree: Path) -> dict[str, str]:
    return {name: hashlib.sha256((tree / name).read_bytes()).hexdigest() for name in bench.tree_sizes(tree)}


def test_a_kept_tree_is_cut_back_to_its_bytes_as_generated(bench: ModuleType, tmp_path: Path) -> None:
    tree = tmp_path / "claude-1m"
    generated = bench.prepare_tree(tree, 1)
    before = digests(bench, tree)
    appended = bench.append_mib(tree, "first") + bench.append_mib(tree, "second")
    assert sum(bench.tree_sizes(tree).values()) == generated + appended

    assert bench.prepare_tree(tree, 1) == generated
    assert digests(bench, tree) == before  # the very bytes generated, not a new tree
    assert bench.restore_tree(tree) == 0  # nothing left to cut


def test_a_tree_appends_cannot_explain_is_generated_again(bench: ModuleType, tmp_path: Path) -> None:
    tree = tmp_path / "claude-1m"
    bench.prepare_tree(tree, 1)
    shortened = sorted(bench.tree_sizes(tree))[0]
    (tree / shortened).write_bytes(b"")  # shorter than generated: not what a run's appends do
    assert bench.restore_tree(tree) is None

    bench.prepare_tree(tree, 1)
    assert (tree / shortened).stat().st_size > 0
    assert bench.restore_tree(tree) == 0  # its record is the new tree's


def test_a_tree_without_a_record_of_its_sizes_is_generated_again(bench: ModuleType, tmp_path: Path) -> None:
    tree = tmp_path / "claude-1m"
    bench.prepare_tree(tree, 1)
    record = tree.with_name(tree.name + bench.SIZES_SUFFIX)
    record.unlink()  # a tree an earlier version of the script kept, which recorded nothing
    assert bench.restore_tree(tree) is None

    generated = bench.prepare_tree(tree, 1)
    assert record.exists()
    assert sum(bench.tree_sizes(tree).values()) == generated
