"""Run the `shelfguard` CLI in a child process with a time limit, measuring its peak memory.

Generous limits catch hangs and runaway memory on hostile input; they are not timings of a fast
path (the machine is shared). The child runs in an empty working folder with its own data home
and temporary folder, so a test can assert that nothing was written outside the data home.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "hostile"
"""The hostile-input corpus: one folder per case (see test_corpus.py)."""


@dataclass
class CliRun:
    code: int
    stdout: str
    stderr: str
    seconds: float
    peak_rss_mb: float
    timed_out: bool


def run_cli(args: list[str], *, home: Path, work: Path, timeout: float,
            env: dict[str, str] | None = None) -> CliRun:
    """The `shelfguard` console script with SHELFGUARD_HOME=`home`, cwd and TMPDIR under `work`;
    killed after `timeout` seconds. Peak RSS is the CLI's own rusage, taken by a small launcher
    (see `_LAUNCHER`)."""
    cwd, tmp = work / "cwd", work / "tmp"
    cwd.mkdir(parents=True, exist_ok=True)
    tmp.mkdir(parents=True, exist_ok=True)
    child_env = {**os.environ, "SHELFGUARD_HOME": str(home), "TMPDIR": str(tmp), **(env or {})}
    out, err = work / "stdout", work / "stderr"
    started = time.monotonic()
    with out.open("wb") as stdout, err.open("wb") as stderr:
        command = [str(Path(sys.executable).parent / "shelfguard"), *args]
        report = work / "rusage"
        process = subprocess.Popen([sys.executable, "-S", "-c", _LAUNCHER, str(report), *command], cwd=cwd,
                                   env=child_env, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr,
                                   start_new_session=True)
        killed = threading.Event()

        def kill() -> None:
            killed.set()
            os.killpg(process.pid, signal.SIGKILL)  # the launcher and the CLI share its session

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            process.wait()
        finally:
            timer.cancel()
        code, max_rss_kb = map(int, report.read_text().split()) if report.exists() else (-signal.SIGKILL, 0)
    return CliRun(code=code, stdout=out.read_text("utf-8", "replace"),
                  stderr=err.read_text("utf-8", "replace"), seconds=time.monotonic() - started,
                  peak_rss_mb=max_rss_kb / 1024, timed_out=killed.is_set())


_LAUNCHER = """
import os, sys
pid = os.posix_spawn(sys.argv[2], sys.argv[2:], os.environ)
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as report:
    report.write(f"{os.waitstatus_to_exitcode(status)} {usage.ru_maxrss}")
"""
"""Spawns the CLI and writes its exit code and peak RSS (KiB). Linux carries a process's RSS high-water
mark over fork and exec, so the CLI spawned straight from pytest would report at least pytest's own
size; spawned from this small launcher it reports its own."""


def tree(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under `root` (symlinks not followed) with its size and mtime."""
    found = {}
    for folder, _, files in os.walk(root):
        for name in files:
            path = Path(folder) / name
            info = path.lstat()
            found[str(path.relative_to(root))] = (info.st_size, info.st_mtime_ns)
    return found
