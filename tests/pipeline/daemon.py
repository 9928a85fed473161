"""The real `dagster-daemon` on the project's code location, for the deployment-path tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from shelfguard.dagster_home import DAGSTER_YAML
from shelfguard.settings import DataHome

REPO_ROOT = Path(__file__).resolve().parents[2]
DAEMON_BINARY = Path(sys.executable).parent / "dagster-daemon"


@contextmanager
def running_daemon(tmp_path: Path, home: DataHome, dagster_yaml: str = DAGSTER_YAML,
                   env: dict[str, str] | None = None) -> Iterator[tuple[subprocess.Popen, Path, Path]]:
    """The daemon in its own process group on `home`; yields it, its DAGSTER_HOME and its log."""
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    (dagster_home / "dagster.yaml").write_text(dagster_yaml, encoding="utf-8")
    workspace = tmp_path / "workspace.yaml"
    workspace.write_text(
        f"load_from:\n  - python_module:\n      module_name: assets.definitions\n"
        f"      working_directory: {REPO_ROOT}\n      location_name: shelfguard\n",
        encoding="utf-8",
    )
    environment = {
        **os.environ,
        "DAGSTER_HOME": str(dagster_home),
        "SHELFGUARD_HOME": str(home.root),
        "DAGSTER_DISABLE_TELEMETRY": "1",
        "SODA_CORE_TELEMETRY_ENABLED": "false",
        **(env or {}),
    }
    log = tmp_path / "daemon.log"
    with log.open("w") as output:
        daemon = subprocess.Popen(
            [str(DAEMON_BINARY), "run", "-w", str(workspace)],
            cwd=REPO_ROOT,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield daemon, dagster_home, log
    finally:
        os.killpg(daemon.pid, signal.SIGTERM)
        daemon.wait(timeout=60)
