"""The Dagster instance under `SHELFGUARD_HOME/dagster`, with telemetry off.

The demo, `shelfguard ui` and `shelfguard freshness` all use this one instance, so what the demo
ran is what the UI and the freshness report show.
"""

from __future__ import annotations

import os

from shelfguard.settings import DataHome

DAGSTER_YAML = """\
telemetry:
  enabled: false
"""


def prepare_dagster_home(home: DataHome) -> str:
    """Create DAGSTER_HOME with our dagster.yaml, export it, and return its path."""
    folder = home.dagster_home
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_YAML)
    os.environ["DAGSTER_HOME"] = str(folder)
    return str(folder)


def open_instance(home: DataHome):
    """The persistent Dagster instance of this data home (created on first use)."""
    import dagster as dg

    return dg.DagsterInstance.from_config(prepare_dagster_home(home))
