"""Two pipeline runs started at once on one fresh data home: every delivery is taken in once, the
home equals a clean run's, and the Dagster instance both created is whole (a later command works)."""

from __future__ import annotations

import os
import subprocess
import sys

import dagster as dg
import pytest

from shelfguard.settings import DataHome
from tests.conftest import REPO_ROOT
from tests.faults.conftest import (
    RUN_TIMEOUT_SECONDS,
    copy_home,
    differences,
    orphans,
    pipeline_process,
    snapshot,
)

pytestmark = pytest.mark.faults


def test_two_runs_at_once_on_a_fresh_home_equal_one_clean_run(demo_template, clean_run, scratch):
    home = copy_home(demo_template, scratch / "home")
    assert not (home.dagster_home / "dagster.yaml").exists()
    runs = [pipeline_process(home), pipeline_process(home)]
    outputs = [run.communicate(timeout=RUN_TIMEOUT_SECONDS) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], [stderr[-2000:] for _, stderr in outputs]

    assert differences(snapshot(home), clean_run) == []
    assert orphans(home) == []
    clean_home = DataHome(demo_template.root.parent / "clean")  # where `clean_run` ran
    with dg.DagsterInstance.from_config(str(clean_home.dagster_home)) as instance:
        runs_of_one_pipeline = len(instance.get_runs())
    with dg.DagsterInstance.from_config(str(home.dagster_home)) as instance:
        # bronze, then one run per retailer's silver and per canonical layer (ADR 0026), per process
        assert len(instance.get_runs()) == 2 * runs_of_one_pipeline
        assert instance.all_instigator_state() == []
    freshness = subprocess.run(
        [sys.executable, "-m", "shelfguard.cli", "freshness", "--format", "json"],
        cwd=REPO_ROOT,
        env={**os.environ, "SHELFGUARD_HOME": str(home.root)},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_SECONDS,
    )
    assert freshness.returncode == 0, freshness.stderr
