"""Run the `shelfguard` CLI in a child process with a time limit, measuring its peak memory.

Generous limits catch hangs and runaway memory on hostile input; they are not timings of a fast
path (the machine is shared). The child runs in an empty working folder with its own data home
and temporary folder, so a test can assert that nothing was written outside the data home.
"""

from __future__ import annotations

import os
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
    killed after `timeout` seconds. Peak RSS comes from the child's own rusage (`os.wait4`)."""
    cwd, tmp = work / "cwd", work / "tmp"
    cwd.mkdir(parents=True, exist_ok=True)
    tmp.mkdir(parents=True, exist_ok=True)
    child_env = {**os.environ, "SHELFGUARD_HOME": str(home), "TMPDIR": str(tmp), **(env or {})}
    out, err = work / "stdout", work / "stderr"
    started = time.monotonic()
    with out.open("wb") as stdout, err.open("wb") as stderr:
        command = [str(Path(sys.executable).parent / "shelfguard"), *args]
        process = subprocess.Popen(command, cwd=cwd, env=child_env, stdin=subprocess.DEVNULL, stdout=stdout,
                                   stderr=stderr)
        killed = threading.Event()

        def kill() -> None:
            killed.set()
            process.kill()

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            timer.cancel()
        process.returncode = os.waitstatus_to_exitcode(status)
    return CliRun(code=process.returncode, stdout=out.read_text("utf-8", "replace"),
                  stderr=err.read_text("utf-8", "replace"), seconds=time.monotonic() - started,
                  peak_rss_mb=usage.ru_maxrss / 1024, timed_out=killed.is_set())


def tree(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under `root` (symlinks not followed) with its size and mtime."""
    found = {}
    for folder, _, files in os.walk(root):
        for name in files:
            path = Path(folder) / name
            info = path.lstat()
            found[str(path.relative_to(root))] = (info.st_size, info.st_mtime_ns)
    return found
