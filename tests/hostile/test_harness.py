"""The corpus harness measures the CLI's own memory, not the size of the test process that starts it."""

from __future__ import annotations

from tests.hostile.harness import run_cli


def test_peak_rss_is_the_clis_own_however_large_the_test_process(tmp_path):
    ballast = bytearray(800 * 1024 * 1024)  # pytest grown large over a whole suite run
    ballast[:: 4096] = b"x" * len(ballast[:: 4096])  # touched, so resident
    run = run_cli(["--help"], home=tmp_path / "home", work=tmp_path / "work", timeout=300)
    del ballast
    assert run.code == 0 and not run.timed_out
    assert 0 < run.peak_rss_mb < 500, f"peak RSS {run.peak_rss_mb:.0f} MB"


def test_a_cli_killed_at_its_time_limit_is_reported_as_timed_out(tmp_path):
    run = run_cli(["sql", "--as", "nobody@example.com"], home=tmp_path / "home", work=tmp_path / "work",
                  timeout=0.01)
    assert run.timed_out and run.code != 0
