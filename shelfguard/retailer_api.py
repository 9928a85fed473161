"""A local stand-in for a retailer's HTTP API, serving the pages `shelfguard demo-data` wrote.

Real HTTP on 127.0.0.1 (stdlib server in a thread) so the API channel is tested against the real
thing: bearer-token auth, pagination, incremental pulls by date, and injected failures (HTTP 500
for the next K requests, slow responses, the next K requests slow) for retry and timeout tests.

    GET  <base>/<endpoint>?page=1&page_size=500&date_from=YYYY-MM-DD
         -> {"data": [...], "page": 1, "page_size": 500, "total": 1400, "next_page": 2 | null}
    POST <base>/_faults  {"fail_next": 3, "delay_seconds": 0.5, "slow_next": 1, "slow_seconds": 5}
                         (replace the injected failures; every field defaults to 0)

`date_from` keeps records whose watermark column (the object's `watermark` customProperty) falls on
or after that date; without a watermark column, the records of page files dated on or after it.
Objects with `refresh: full` serve only their latest page file.
"""

from __future__ import annotations

import argparse
import hmac
import json
import os
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from shelfguard.settings import DataHome

MAX_PAGE_SIZE = 10_000
FAULTS_PATH = "/_faults"
FAULT_FIELDS = {"fail_next": int, "delay_seconds": float, "slow_next": int, "slow_seconds": float}
"""What `POST <base>/_faults` sets (the injected failures), with their types."""


@dataclass
class _Endpoint:
    path: str
    watermark: str | None
    watermark_format: str | None
    pages: list[tuple[date, list[dict[str, Any]]]]
    """(page file date, records) in date order."""
    full_refresh: bool
    _selected: tuple[date | None, list[dict[str, Any]]] | None = field(default=None, repr=False)
    """The records of the last `date_from` asked for: a client pages through one selection."""

    def records(self, date_from: date | None) -> list[dict[str, Any]]:
        selected = self._selected
        if selected is None or selected[0] != date_from:
            selected = self._selected = (date_from, self._select(date_from))
        return selected[1]

    def _select(self, date_from: date | None) -> list[dict[str, Any]]:
        pages = self.pages[-1:] if self.full_refresh else self.pages
        records = []
        for page_date, rows in pages:
            if date_from is None or self.watermark is not None:
                records.extend(row for row in rows if date_from is None or self._date(row) >= date_from)
            elif page_date >= date_from:
                records.extend(rows)
        return records

    def _date(self, row: dict[str, Any]) -> date:
        value = str(row.get(self.watermark) or "")
        if self.watermark_format:
            return datetime.strptime(value, self.watermark_format).date()
        return date.fromisoformat(value[:10])


@dataclass
class _State:
    token: str
    base_path: str
    page_size: int
    endpoints: dict[str, _Endpoint]
    fail_next: int = 0
    delay_seconds: float = 0.0
    slow_next: int = 0
    slow_seconds: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take_fault(self) -> tuple[bool, float]:
        """Whether this request fails (consuming one of `fail_next`), and how long to delay it
        (`delay_seconds`, plus `slow_seconds` while `slow_next` lasts: a client timeout, once)."""
        with self.lock:
            failing = self.fail_next > 0
            self.fail_next -= failing
            slow = self.slow_next > 0
            self.slow_next -= slow
            return failing, self.delay_seconds + (self.slow_seconds if slow else 0.0)


def api_folder(home: DataHome, retailer: str | None = None) -> Path:
    """The page folder of a retailer API (`sources/<code>_api/`); the only one when not named."""
    if retailer is not None:
        folder = home.sources / f"{retailer}_api"
        if not (folder / "api.json").is_file():
            raise FileNotFoundError(f"{folder}/api.json not found; run `shelfguard demo-data` first")
        return folder
    folders = sorted(path.parent for path in home.sources.glob("*_api/api.json"))
    if len(folders) != 1:
        raise FileNotFoundError(
            f"expected one retailer API under {home.sources}, found {len(folders)}; "
            "run `shelfguard demo-data` first or name the retailer"
        )
    return folders[0]


def _load_state(folder: Path, token: str, fail_next: int, delay_seconds: float) -> _State:
    index = json.loads((folder / "api.json").read_text("utf-8"))
    endpoints = {}
    for entry in index["endpoints"]:
        pages = [
            (date.fromisoformat(path.stem), json.loads(path.read_text("utf-8")))
            for path in sorted((folder / entry["object"]).glob("*.json"))
        ]
        endpoints[entry["path"]] = _Endpoint(
            entry["path"],
            entry.get("watermark"),
            entry.get("watermark_format"),
            pages,
            entry.get("refresh") == "full",
        )
    return _State(
        token=token,
        base_path=index["base_path"],
        page_size=int(index["page_size"]),
        endpoints=endpoints,
        fail_next=fail_next,
        delay_seconds=delay_seconds,
    )


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests and the demo read responses, not access logs."""

    def do_GET(self) -> None:
        state = self.server.state
        if not self._authorised(state):
            return
        failing, delay = state.take_fault()
        if delay:
            time.sleep(delay)
        if failing:
            self._send(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": "injected failure"})
            return
        url = urlsplit(self.path)
        endpoint = (
            state.endpoints.get(url.path.removeprefix(state.base_path))
            if url.path.startswith(state.base_path)
            else None
        )
        if endpoint is None:
            self._send(
                HTTPStatus.NOT_FOUND,
                {
                    "error": f"no endpoint {url.path}",
                    "endpoints": [state.base_path + path for path in state.endpoints],
                },
            )
            return
        query = {key: values[-1] for key, values in parse_qs(url.query).items()}
        try:
            page = int(query.get("page", 1))
            page_size = int(query.get("page_size", state.page_size))
            date_from = date.fromisoformat(query["date_from"]) if "date_from" in query else None
            if page < 1 or not 1 <= page_size <= MAX_PAGE_SIZE:
                raise ValueError
        except ValueError:
            self._send(
                HTTPStatus.BAD_REQUEST,
                {"error": "page >= 1, 1 <= page_size <= 10000 and date_from=YYYY-MM-DD expected"},
            )
            return
        records = endpoint.records(date_from)
        first = (page - 1) * page_size
        more = first + page_size < len(records)
        self._send(
            HTTPStatus.OK,
            {
                "data": records[first : first + page_size],
                "page": page,
                "page_size": page_size,
                "total": len(records),
                "next_page": page + 1 if more else None,
            },
        )

    def do_POST(self) -> None:
        state = self.server.state
        if not self._authorised(state):
            return
        if urlsplit(self.path).path != state.base_path + FAULTS_PATH:
            self._send(HTTPStatus.NOT_FOUND, {"error": f"no endpoint {self.path}"})
            return
        try:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
            faults = {name: kind(body.get(name, 0)) for name, kind in FAULT_FIELDS.items()}
        except (ValueError, TypeError, AttributeError):
            expected = ", ".join(FAULT_FIELDS)
            self._send(HTTPStatus.BAD_REQUEST, {"error": f"expected a JSON object of {expected}"})
            return
        with state.lock:
            for name, value in faults.items():
                setattr(state, name, value)
        self._send(HTTPStatus.OK, faults)

    def _authorised(self, state: _State) -> bool:
        given = self.headers.get("Authorization") or ""
        if hmac.compare_digest(given.encode(), f"Bearer {state.token}".encode()):
            return True
        self._send(
            HTTPStatus.UNAUTHORIZED,
            {"error": "missing or wrong bearer token"},
            {"WWW-Authenticate": 'Bearer realm="retailer-api"'},
        )
        return False

    def _send(self, status: HTTPStatus, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, state: _State):
        super().__init__(("127.0.0.1", port), _Handler)
        self.state = state


@contextmanager
def serve_retailer_api(
    home: DataHome,
    token: str,
    fail_next: int = 0,
    *,
    retailer: str | None = None,
    delay_seconds: float = 0.0,
    port: int = 0,
) -> Iterator[str]:
    """Serve a retailer API's pages on 127.0.0.1 (port 0: a free port) and yield its base URL
    (e.g. `http://127.0.0.1:41234/v1`, the contract's `location` path on the local port).

    `fail_next`: the next K authorised requests get HTTP 500. `delay_seconds`: every request waits
    that long first. Both can be changed while serving with `set_api_faults`.
    """
    state = _load_state(api_folder(home, retailer), token, fail_next, delay_seconds)
    server = _Server(port, state)
    thread = threading.Thread(target=server.serve_forever, name="retailer-api", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}{state.base_path}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def set_api_faults(
    base_url: str,
    token: str,
    *,
    fail_next: int = 0,
    delay_seconds: float = 0.0,
    slow_next: int = 0,
    slow_seconds: float = 0.0,
) -> None:
    """Change the injected failures of a running API (from a test, or another process)."""
    faults = {"fail_next": fail_next, "delay_seconds": delay_seconds, "slow_next": slow_next,
              "slow_seconds": slow_seconds}
    request = urllib.request.Request(
        base_url.rstrip("/") + FAULTS_PATH,
        method="POST",
        data=json.dumps(faults).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m shelfguard.retailer_api`: serve the demo API until interrupted (for the demo)."""
    parser = argparse.ArgumentParser(
        prog="python -m shelfguard.retailer_api", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--retailer", help="retailer code (default: the only API retailer generated)")
    parser.add_argument(
        "--port", type=int, default=8765, help="port on 127.0.0.1 (default 8765, the contracts')"
    )
    args = parser.parse_args(argv)
    home = DataHome.from_env()
    try:
        folder = api_folder(home, args.retailer)
    except FileNotFoundError as exc:
        print(f"retailer_api: {exc}", file=sys.stderr)
        return 2
    token_env = json.loads((folder / "api.json").read_text("utf-8"))["token_env"]
    token = os.environ.get(token_env or "")
    if not token:
        print(f"retailer_api: set {token_env} to the bearer token clients must send", file=sys.stderr)
        return 2
    with serve_retailer_api(
        home, token, retailer=folder.name.removesuffix("_api"), port=args.port
    ) as base_url:
        print(f"serving {folder} at {base_url}", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
