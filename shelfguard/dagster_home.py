"""The Dagster instance under `SHELFGUARD_HOME/dagster`, with telemetry off.

The demo, `shelfguard ui` and `shelfguard freshness` all use this one instance, so what the demo
ran is what the UI and the freshness report show. Its sqlite storages are created and migrated by
one process at a time (a file lock, ADR 0018): two runs starting on a fresh home at once used to
race their alembic migrations and leave `schedules.db` with two heads.
"""

from __future__ import annotations

import os

from assets.storage.durability import exclusive, write_atomically
from shelfguard.settings import DataHome

DAGSTER_YAML = """\
telemetry:
  enabled: false
# A run that fails to start or whose worker dies is run again; a run stopped by a failed asset or
# check (a blocked delivery) is not: it fails the same way until the data or contract is fixed.
run_retries:
  enabled: true
  max_retries: 3
  retry_on_asset_or_op_failure: false
# A run stuck in STARTING (its worker never came up) is failed after start_timeout_seconds, and so retried.
run_monitoring:
  enabled: true
  start_timeout_seconds: 180
  poll_interval_seconds: 30
"""
EARLIER_DAGSTER_YAMLS = ("telemetry:\n  enabled: false\n",)
"""What earlier versions wrote: such a file is replaced by `DAGSTER_YAML`; one edited by hand is kept."""
INSTANCE_LOCK = "dagster-instance"


def prepare_dagster_home(home: DataHome) -> str:
    """Create DAGSTER_HOME with our dagster.yaml and migrated storages, export it, return its path."""
    with exclusive(home, INSTANCE_LOCK):
        folder = _write_config(home)
        if not (folder / "schedules" / "schedules.db").exists():
            _create_instance(folder).dispose()
    return str(folder)


def open_instance(home: DataHome):
    """The persistent Dagster instance of this data home (created on first use)."""
    with exclusive(home, INSTANCE_LOCK):
        return _create_instance(_write_config(home))


def _write_config(home: DataHome):
    folder = home.dagster_home
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "dagster.yaml"
    if not config.exists() or config.read_text() in EARLIER_DAGSTER_YAMLS:
        write_atomically(config, DAGSTER_YAML)
    os.environ["DAGSTER_HOME"] = str(folder)
    return folder


def _create_instance(folder):
    import dagster as dg

    return dg.DagsterInstance.from_config(str(folder))
