"""Stopping `shelfguard ui` stops every process it started: dg dev, the webserver, the daemon and
the code server, whether it is stopped with Ctrl-C (SIGINT) or SIGTERM."""

from __future__ import annotations

import signal

import psutil
import pytest

from tests.ui.processes import UiProcess, wait_for

ROLES = {"dg dev": "dg dev", "webserver": "dagster_webserver", "daemon": "dagster._daemon",
         "code server": "dagster code-server"}
"""Each process `shelfguard ui` starts, by a marker of its command line."""


def _roles(processes: list[psutil.Process]) -> set[str]:
    lines = []
    for process in processes:
        try:
            lines.append(" ".join(process.cmdline()))
        except psutil.NoSuchProcess:
            continue
    return {role for role, marker in ROLES.items() if any(marker in line for line in lines)}


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_stopping_ui_leaves_no_process_behind(tmp_path, sig):
    ui = UiProcess(tmp_path / "home", tmp_path / "ui.log")
    try:
        ui.wait_until_loaded()
        wait_for(lambda: set(ROLES) <= _roles(ui.descendants()), 120,
                 "the webserver, daemon and code server processes", ui.log)
        started = ui.descendants()
        pids = {p.pid for p in started}
    finally:
        status = ui.stop(sig)
    assert status == 0, ui.log.read_text()[-3000:]
    alive = []
    for process in started:
        try:
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                alive.append(f"{process.pid} {' '.join(process.cmdline())}")
        except psutil.NoSuchProcess:
            pass
    assert not alive, f"left running after {signal.Signals(sig).name}: {alive}"
    assert len(pids) >= 3
    assert "stopped" in ui.log.read_text()
