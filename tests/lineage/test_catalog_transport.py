"""A local HTTP server stands in for the catalog (Marquez's `POST /api/v1/lineage`)."""

import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import dagster as dg
import pytest

from assets.definitions.resources.openlineage import OpenLineageResource
from shelfguard.settings import DataHome

API_KEY = "catalog-key-0123456789"


class Catalog(ThreadingHTTPServer):
    received: list[tuple[str, str | None, dict]]


class CatalogHandler(BaseHTTPRequestHandler):
    server: Catalog

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.received.append((self.path, self.headers.get("Authorization"), json.loads(body)))
        self.send_response(201)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        return


@pytest.fixture
def catalog() -> Iterator[Catalog]:
    server = Catalog(("127.0.0.1", 0), CatalogHandler)
    server.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def free_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dg.asset(key=["gold", "prod_dim"])
def prod_dim(context: dg.AssetExecutionContext, openlineage: OpenLineageResource) -> None:
    with openlineage.run(context):
        pass


@dg.asset(key=["gold", "site_dim"])
def site_dim(context: dg.AssetExecutionContext, openlineage: OpenLineageResource) -> None:
    with openlineage.run(context):
        pass


def materialize_both() -> dg.ExecuteInProcessResult:
    return dg.materialize([prod_dim, site_dim], resources={"openlineage": OpenLineageResource()})


def file_events() -> list[dict]:
    return [json.loads(line) for line in DataHome.from_env().lineage_file.read_text("utf-8").splitlines()]


def test_events_reach_the_catalog_with_the_api_key_and_the_file(shelfguard_home: Path, catalog: Catalog,
                                                                monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("OPENLINEAGE_URL", f"http://127.0.0.1:{catalog.server_address[1]}")
    monkeypatch.setenv("OPENLINEAGE_API_KEY", API_KEY)
    assert materialize_both().success
    events = file_events()
    assert len(events) == 4
    assert {path for path, _, _ in catalog.received} == {"/api/v1/lineage"}
    assert {auth for _, auth, _ in catalog.received} == {f"Bearer {API_KEY}"}
    assert sorted((e["run"]["runId"], e["eventType"]) for _, _, e in catalog.received) == sorted(
        (e["run"]["runId"], e["eventType"]) for e in events)
    assert API_KEY not in DataHome.from_env().lineage_file.read_text("utf-8")


def test_a_catalog_that_is_down_fails_nothing_and_the_file_gets_every_event(
        shelfguard_home: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture):
    monkeypatch.setenv("OPENLINEAGE_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("OPENLINEAGE_API_KEY", API_KEY)
    caplog.set_level(logging.WARNING, logger="openlineage")
    started = time.monotonic()
    assert materialize_both().success
    elapsed = time.monotonic() - started
    events = file_events()
    assert [(e["job"]["name"], e["eventType"]) for e in events].count(("gold.prod_dim", "START")) == 1
    assert sorted(e["eventType"] for e in events) == ["COMPLETE", "COMPLETE", "START", "START"]
    failures = [r for r in caplog.records if "failed to emit" in r.getMessage()]
    assert len(failures) == 4 and all(API_KEY not in r.getMessage() for r in failures)
    assert elapsed < 30, f"a down catalog slowed four events to {elapsed:.1f}s"
