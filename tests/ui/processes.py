"""Starting `shelfguard ui` on a free loopback port and waiting for it, for the UI tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import psutil
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition: Callable[[], bool], timeout: float, what: str, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(1)
    tail = log.read_text(errors="replace")[-4000:] if log and log.exists() else ""
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}\n{tail}")


class UiProcess:
    """`shelfguard ui` as a user starts it, with its output in `log`."""

    def __init__(self, home: Path, log: Path, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        environment = {**os.environ, "SHELFGUARD_HOME": str(home), "DAGSTER_DISABLE_TELEMETRY": "1",
                       **(env or {})}
        with log.open("w") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "shelfguard.cli", "ui", "--port", str(self.port)],
                cwd=REPO_ROOT, env=environment, stdout=output, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )

    def descendants(self) -> list[psutil.Process]:
        try:
            return psutil.Process(self.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        response = httpx.post(f"{self.url}/graphql", json={"query": query, "variables": variables or {}},
                              timeout=60)
        response.raise_for_status()
        body = response.json()
        assert "errors" not in body, body
        return body["data"]

    def location_loaded(self) -> bool:
        """The webserver answers and the code location finished loading."""
        try:
            data = self.graphql("{ workspaceOrError { ... on Workspace { locationEntries { "
                                "loadStatus locationOrLoadError { __typename } } } } }")
        except (httpx.HTTPError, AssertionError):
            return False
        entries = data["workspaceOrError"].get("locationEntries") or []
        return bool(entries) and all(e["loadStatus"] == "LOADED" for e in entries)

    def wait_until_loaded(self, timeout: float = 240) -> None:
        wait_for(self.location_loaded, timeout, "the Dagster UI and its code location", self.log)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 90) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            for child in self.descendants():
                child.kill()
            self.process.kill()
            self.process.wait()
            pytest.fail(f"shelfguard ui did not stop within {timeout:.0f}s of {signal.Signals(sig).name}")
