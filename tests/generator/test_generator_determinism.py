"""Same seed and arguments → byte-identical files with identical mtimes, in every format."""

from __future__ import annotations

import hashlib
from pathlib import Path

from shelfguard.demo_data import generate
from shelfguard.settings import DataHome


def snapshot(home: Path) -> dict[str, tuple[str, int]]:
    return {
        str(path.relative_to(home)): (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns)
        for path in sorted(home.rglob("*"))
        if path.is_file()
    }


def test_two_runs_write_identical_files(tmp_path):
    """SQLite files are compared byte for byte too: the same statements give the same pages."""
    first, second = tmp_path / "first", tmp_path / "second"
    generate(DataHome(first), faults=["all"], days=9, stores=3, products=12, seed=7)
    generate(DataHome(second), faults=["all"], days=9, stores=3, products=12, seed=7)
    files = snapshot(first)
    suffixes = {Path(name).suffix for name in files}
    assert {".csv", ".txt", ".parquet", ".jsonl", ".xlsx", ".sqlite", ".json"} <= suffixes
    report = files.pop("demo_data_report.json")
    other = snapshot(second)
    assert other.pop("demo_data_report.json")[0] == report[0]
    assert files == other


def test_a_rerun_replaces_the_previous_output(tmp_path):
    home = DataHome(tmp_path)
    generate(home, faults=["all"], days=9, stores=3, products=12, seed=7)
    generate(home, days=9, stores=3, products=12, seed=7)
    fresh = tmp_path / "fresh"
    generate(DataHome(fresh), days=9, stores=3, products=12, seed=7)
    assert snapshot(tmp_path / "landing") == snapshot(fresh / "landing")
    assert snapshot(tmp_path / "sources") == snapshot(fresh / "sources")


def test_another_seed_gives_other_data(tmp_path):
    one = generate(DataHome(tmp_path / "one"), days=2, stores=2, products=3, seed=1, retailers=["nwg_us"])
    two = generate(DataHome(tmp_path / "two"), days=2, stores=2, products=3, seed=2, retailers=["nwg_us"])
    assert [d.sha256 for d in one.deliveries_of("nwg_us")] != [d.sha256 for d in two.deliveries_of("nwg_us")]
