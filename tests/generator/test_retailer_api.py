"""The local retailer API: real HTTP on 127.0.0.1 over the pages demo-data wrote."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request

import pytest

from shelfguard.retailer_api import serve_retailer_api, set_api_faults
from shelfguard.settings import DataHome

TOKEN = "test-token"


def get(url: str, token: str | None = TOKEN, timeout: float = 5) -> tuple[int, dict]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with urllib.request.urlopen(
            urllib.request.Request(url, headers=headers), timeout=timeout
        ) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def all_pages(url: str) -> list[dict]:
    records, page = [], 1
    while page is not None:
        status, body = get(f"{url}&page={page}")
        assert status == 200
        records += body["data"]
        page = body["next_page"]
    return records


@pytest.fixture(scope="module")
def api(clean_run):
    home, report = clean_run
    with serve_retailer_api(DataHome(home), TOKEN) as base_url:
        yield base_url, report


def test_base_url_is_local_with_the_contract_path(api):
    base_url, _ = api
    assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/v1")


def test_token_is_required(api):
    base_url, _ = api
    assert get(f"{base_url}/salg")[0] == 200
    assert get(f"{base_url}/salg", token=None)[0] == 401
    assert get(f"{base_url}/salg", token="wrong")[0] == 401


def test_pages_cover_every_record_once(api):
    base_url, report = api
    expected = sum(d.rows for d in report.deliveries_of("fjd_no", "salg"))
    status, first = get(f"{base_url}/salg?page=1&page_size=300")
    assert (
        status == 200 and first["total"] == expected and first["next_page"] == 2 and len(first["data"]) == 300
    )
    records = all_pages(f"{base_url}/salg?page_size=300")
    assert len(records) == expected
    assert len({(r["dato"], r["butikknummer"], r["varenummer"]) for r in records}) == expected
    status, last = get(f"{base_url}/salg?page={expected // 300 + 1}&page_size=300")
    assert last["next_page"] is None and len(last["data"]) == expected % 300


def test_date_from_returns_records_on_or_after_the_date(api):
    base_url, report = api
    records = all_pages(f"{base_url}/salg?page_size=500&date_from=2025-04-05")
    assert {r["dato"] for r in records} == {"2025-04-05", "2025-04-06"}
    assert len(records) == sum(
        d.rows for d in report.deliveries_of("fjd_no", "salg") if d.period >= "2025-04-05"
    )
    products = all_pages(f"{base_url}/produkter?page_size=500")
    assert len(products) == report.products
    latest_change = max(p["endret"][:10] for p in products)
    assert all_pages(f"{base_url}/produkter?page_size=500&date_from={latest_change}")
    assert get(f"{base_url}/produkter?date_from=2025-03-24")[1]["data"] == [], "unchanged since"


def test_bad_requests(api):
    base_url, _ = api
    assert get(f"{base_url}/salg?page=0")[0] == 400
    assert get(f"{base_url}/salg?date_from=yesterday")[0] == 400
    assert get(f"{base_url}/nothing")[0] == 404


def test_fails_the_next_k_requests_when_told(clean_run):
    home, _ = clean_run
    with serve_retailer_api(DataHome(home), TOKEN, fail_next=2) as base_url:
        assert [get(f"{base_url}/butikker")[0] for _ in range(3)] == [500, 500, 200]
        set_api_faults(base_url, TOKEN, fail_next=1)
        assert [get(f"{base_url}/butikker")[0] for _ in range(2)] == [500, 200]


def test_delays_responses_when_told(clean_run):
    home, _ = clean_run
    with serve_retailer_api(DataHome(home), TOKEN, delay_seconds=0.5) as base_url:
        with pytest.raises((TimeoutError, socket.timeout, urllib.error.URLError)):
            get(f"{base_url}/butikker", timeout=0.1)
        set_api_faults(base_url, TOKEN)
        assert get(f"{base_url}/butikker", timeout=2)[0] == 200
