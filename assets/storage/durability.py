"""Crash and concurrency safety of every write to the data home (ADR 0018).

Three small tools, used by bronze, silver, gold and the ledgers alike:

- `guarded(home, scope, tables)`: one writer at a time per scope (an advisory file lock, released
  by the kernel when the process dies, so a `kill -9` never leaves a stale lock), and a marker
  file that says "a write of this scope is under way". A writer that finds the marker of a dead
  predecessor first removes the data files it left that no Delta commit references, and hands the
  marker's `pending` record to the caller to roll back (bronze: rows whose ledger entry never
  landed).
- `retry_commit(write)`: a Delta commit that lost a race with a concurrent writer is tried again
  with exponential backoff.
- `kill_point(name)`: where the fault-injection tests kill the process (`SHELFGUARD_KILL_AT`).
"""

from __future__ import annotations

import fcntl
import json
import os
import random
import shutil
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from urllib.parse import unquote

from deltalake import DeltaTable
from deltalake.exceptions import CommitFailedError

from shelfguard.settings import DataHome

KILL_AT = "SHELFGUARD_KILL_AT"
"""Environment variable naming the commit point at which the process SIGKILLs itself (tests only)."""
COMMIT_ATTEMPTS = 8
FIRST_BACKOFF_SECONDS = 0.05
T = TypeVar("T")


def kill_point(name: str) -> None:
    """A commit point: the process kills itself here when `SHELFGUARD_KILL_AT` names it.

    The fault-injection suite uses it to prove that a crash between any two commits loses and
    doubles nothing; it costs one environment lookup otherwise.
    """
    if os.environ.get(KILL_AT) == name:
        os.kill(os.getpid(), signal.SIGKILL)


def retry_commit(write: Callable[[], T], *, attempts: int = COMMIT_ATTEMPTS) -> T:
    """`write()`, tried again when its Delta commit conflicted with a concurrent one.

    A conflicting commit writes nothing (its data files stay unreferenced until `guarded` cleans
    them), so calling `write` again is safe; `write` must re-read the table it changes.
    """
    for attempt in range(attempts):
        try:
            return write()
        except CommitFailedError:
            if attempt == attempts - 1:
                raise
            time.sleep(FIRST_BACKOFF_SECONDS * 2**attempt * (1 + random.random()))
    raise AssertionError("unreachable")


def lock_path(home: DataHome, scope: str) -> Path:
    folder = home.root / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{scope}.lock"


@contextmanager
def exclusive(home: DataHome, scope: str) -> Iterator[None]:
    """Hold the data home's lock of `scope` (blocks while another process holds it)."""
    with lock_path(home, scope).open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@dataclass
class Guard:
    """An open guarded write: `recovered` is what a dead predecessor left pending (else None)."""

    marker: Path
    recovered: dict | None = None
    removed_files: list[Path] = field(default_factory=list)

    def pending(self, record: dict) -> None:
        """Record, before committing data, what to roll back should the process die mid-write."""
        write_atomically(self.marker, json.dumps({"pending": record}))

    def settled(self) -> None:
        """Everything pending is committed; only the under-way mark stays until the scope ends."""
        self.pending({})


@contextmanager
def guarded(home: DataHome, scope: str, tables: Sequence[Path]) -> Iterator[Guard]:
    """One writer of `scope` at a time; after a crash, its orphan files removed first.

    The marker stays when the body raises, so the next writer cleans what a failed commit left.
    """
    with exclusive(home, scope):
        marker = lock_path(home, scope).with_suffix(".pending.json")
        guard = Guard(marker)
        if marker.exists():
            guard.recovered = json.loads(marker.read_text() or "{}").get("pending") or {}
            for table in tables:
                guard.removed_files += remove_orphan_files(table)
        guard.settled()
        yield guard
        marker.unlink()


def referenced_files(table: Path) -> set[str]:
    """Data files (relative paths) that any commit in the table's Delta log adds or removes."""
    referenced: set[str] = set()
    log = table / "_delta_log"
    for commit in log.glob("*.json"):
        for line in commit.read_text().splitlines():
            action = json.loads(line) if line.strip() else {}
            for kind in ("add", "remove", "cdc"):
                if kind in action:
                    referenced.add(unquote(action[kind]["path"]))
    if any(log.glob("*.checkpoint*.parquet")):
        referenced.update(unquote(p) for p in DeltaTable(str(table)).files())
    return referenced


def orphan_files(table: Path) -> list[Path]:
    """Data files in the table's folder that no Delta commit references (left by a dead writer).

    Files older than the oldest commit still in the log are left alone: their commits may have
    been cleaned up after a checkpoint.
    """
    log = table / "_delta_log"
    commits = list(log.glob("*.json"))
    if not commits:
        return []
    complete = (log / f"{0:020d}.json").exists()
    oldest = 0.0 if complete else min(c.stat().st_mtime for c in commits)
    referenced = referenced_files(table)
    found = []
    for path in table.rglob("*.parquet"):
        relative = path.relative_to(table)
        if relative.parts[0].startswith("_") and relative.parts[0] != "_change_data":
            continue
        if str(relative) not in referenced and path.stat().st_mtime >= oldest:
            found.append(path)
    return sorted(found)


def remove_orphan_files(table: Path) -> list[Path]:
    found = orphan_files(table)
    for path in found:
        path.unlink(missing_ok=True)
    return found


def write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with temporary.open("w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def copy_atomically(source: Path, target: Path) -> None:
    """Copy a file so that the target is either absent or complete, whenever the process dies."""
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    shutil.copy2(source, temporary, follow_symlinks=False)
    os.replace(temporary, target)
