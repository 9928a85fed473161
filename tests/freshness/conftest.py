"""Fixtures for the freshness tests: small retailer contracts, a real Dagster instance on disk, a
controlled clock and a real local webhook server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import dagster as dg
import pytest

from checks.contract import Contract, load_contract

CONTRACT_TEMPLATE = """\
apiVersion: v3.1.0
kind: DataContract
id: urn:shelfguard:retailer:{code}
name: {code}
version: 1.0.0
status: active
customProperties:
  - property: retailerCode
    value: {code}
  - property: timezone
    value: {timezone}
{cadence}slaProperties:
{sla}
schema:
{objects}
"""


def write_contract(folder: Path, code: str, *, cadence: str | None, timezone: str, sla: str,
                   objects: tuple[str, ...] = ("sales",)) -> Path:
    """A minimal valid retailer contract; `sla` is the YAML of one slaProperties entry's fields."""
    cadence_yaml = f"  - property: cadence\n    value: {cadence}\n" if cadence else ""
    sla_yaml = "  - " + "\n    ".join(sla.strip().splitlines())
    objects_yaml = "\n".join(f"  - name: {name}\n    physicalType: file" for name in objects)
    path = folder / "retailers" / code / f"{code}.odcs.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(CONTRACT_TEMPLATE.format(code=code, timezone=timezone, cadence=cadence_yaml, sla=sla_yaml,
                                             objects=objects_yaml), encoding="utf-8")
    return path


@pytest.fixture
def make_contract(tmp_path: Path):
    def make(code: str, **kwargs) -> Contract:
        return load_contract(write_contract(tmp_path / "contracts", code, **kwargs))

    return make


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[dg.DagsterInstance]:
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    with dg.DagsterInstance.from_config(str(home)) as instance:
        yield instance


@pytest.fixture
def deliver(instance: dg.DagsterInstance):
    """Record a bronze materialization the way the ingestion assets do (the agreed metadata)."""

    def record(key: list[str], delivered_at: datetime, delivery_id: str = "d1") -> None:
        instance.report_runless_asset_event(dg.AssetMaterialization(
            asset_key=dg.AssetKey(key),
            metadata={"delivery_id": delivery_id, "delivered_at": delivered_at.timestamp()},
        ))

    return record


@dataclass
class Clock:
    """A clock the test moves by hand."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2025, 3, 3, 12, 0, tzinfo=UTC))


@dataclass
class Webhook:
    """A real HTTP server on 127.0.0.1 that records JSON alerts; answers 500 to the first `fail` requests."""

    fail: int = 0
    received: list[dict] = field(default_factory=list)
    requests: int = 0
    headers: list[dict] = field(default_factory=list)
    url: str = ""


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    state = Webhook()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            state.requests += 1
            if state.requests <= state.fail:
                self.send_response(500)
                self.end_headers()
                return
            state.received.append(json.loads(body))
            state.headers.append(dict(self.headers))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/alerts"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
