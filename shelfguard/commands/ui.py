"""`shelfguard ui`: start the Dagster UI and daemon on the data home's instance.

`dg dev` starts the webserver, the daemon and a code server, and the code server starts run workers.
They all run in one process group of their own, and stopping `shelfguard ui` (Ctrl-C, SIGTERM) stops
that whole group: first politely (SIGINT, which `dagster dev` turns into an orderly shutdown), then
with SIGKILL for whatever is still there after a grace period, so nothing keeps holding the port or
the instance.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from shelfguard.dagster_home import prepare_dagster_home
from shelfguard.settings import PROJECT_ROOT, DataHome

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
GRACE_SECONDS = 30.0
"""How long the processes get to shut down after SIGINT before the group is killed."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=3000, help="port of the web UI (default 3000)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")


def run(args: argparse.Namespace) -> int:
    home = DataHome.from_env().ensure()
    prepare_dagster_home(home)
    os.environ.setdefault("SHELFGUARD_HOME", str(home.root))
    command = [dg_executable(), "dev", "--port", str(args.port), "--host", args.host]
    print(f"Dagster UI on http://{args.host}:{args.port} (DAGSTER_HOME={home.dagster_home})", flush=True)
    with _stop_requests() as requested:
        process = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=os.environ.copy(), stdin=subprocess.DEVNULL, start_new_session=True
        )
        try:
            while process.poll() is None and not requested:
                time.sleep(0.2)
        finally:
            stop_group(process)
    if requested:
        print(f"shelfguard ui: stopped ({signal.Signals(requested[0]).name})", file=sys.stderr, flush=True)
        return 0
    return process.returncode


def dg_executable() -> str:
    """The `dg` of this environment (beside the interpreter), whatever PATH says."""
    beside = Path(sys.executable).parent / "dg"
    return str(beside) if beside.exists() else "dg"


@contextmanager
def _stop_requests() -> Iterator[list[int]]:
    """SIGINT and SIGTERM recorded (not raised) while the block runs; the list holds what arrived."""
    received: list[int] = []
    previous = {sig: signal.signal(sig, lambda number, _: received.append(number)) for sig in STOP_SIGNALS}
    try:
        yield received
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def stop_group(process: subprocess.Popen, grace: float = GRACE_SECONDS) -> None:
    """Stop every process of the group `process` leads: SIGINT, then SIGKILL after `grace` seconds."""
    group = process.pid
    if _group_alive(group):
        _signal_group(group, signal.SIGINT)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        process.poll()  # reap the leader, or the group never looks empty
        if not _group_alive(group):
            return
        time.sleep(0.2)
    _signal_group(group, signal.SIGKILL)
    process.wait()
    while _group_alive(group) and time.monotonic() < deadline + grace:
        time.sleep(0.1)


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _signal_group(group: int, sig: int) -> None:
    with suppress(ProcessLookupError):
        os.killpg(group, sig)
