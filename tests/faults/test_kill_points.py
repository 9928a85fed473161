"""`kill -9` at each commit point of bronze, silver and gold, then a re-run: the home holds exactly
what a clean run makes of the same deliveries (bronze, quarantine, both ledgers, silver, gold),
and no data file that the Delta logs do not reference.

Each layer's points are taken in a chain (killed at the first, re-run killed at the second, …,
then a run to the end), so every re-run also recovers what the previous kill left.
"""

from __future__ import annotations

import signal

import pytest

from tests.faults.conftest import copy_home, differences, orphans, run_pipeline, snapshot

pytestmark = pytest.mark.faults

CHAINS = {
    "bronze": ["bronze.table", "bronze.data", "bronze.ledger"],
    "silver": ["silver.dimension", "silver.fact", "silver.ledger"],
    "gold": ["gold.publish"],
}


@pytest.mark.parametrize("layer", list(CHAINS))
def test_a_kill_at_each_commit_point_then_a_rerun_equals_a_clean_run(
    layer, demo_template, clean_run, scratch
):
    home = copy_home(demo_template, scratch / "home")
    for point in CHAINS[layer]:
        killed = run_pipeline(home, kill_at=point)
        assert killed.returncode == -signal.SIGKILL, f"never reached {point}: {killed.stderr[-2000:]}"
    finished = run_pipeline(home)
    assert finished.returncode == 0, finished.stderr[-2000:]
    assert differences(snapshot(home), clean_run) == []
    assert orphans(home) == []
