"""Pull channels: a retailer's database and a retailer's HTTP API, incremental by watermark, or
whole for an object whose contract says `refresh: full` (ADR 0017).

Each pull is one delivery (a batch id = its content hash), so a pull that returns what was
already taken in is ingested once, like a re-delivered file.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import date, datetime, timedelta

import polars as pl

from assets.bronze.ingest import Delivery, frame_sha256, object_option
from assets.plan import retailer_code
from checks.contract import Contract, custom_properties, properties_of
from checks.errors import one_line, safe_message
from checks.formats import jdk_to_strptime
from checks.redaction import redact_url


class ChannelError(Exception):
    """A pull that could not be made (configuration missing, source down after retries)."""


def server_options(contract: Contract) -> dict:
    server = contract.server()
    return {**server, **custom_properties(server.get("customProperties"))}


def _env(contract: Contract, option: str) -> str:
    name = server_options(contract).get(option)
    if not name:
        raise ChannelError(f"{contract.path}: server customProperty {option!r} is not set")
    value = os.environ.get(str(name))
    if not value:
        raise ChannelError(f"environment variable {name} is not set (contract {contract.path}, {option})")
    return value


def pull_watermark(contract: Contract, object_name: str, watermark: str | None) -> str | None:
    """Where a pull starts: after the last watermark, or from the start for a `refresh: full`
    object, whose every delivery is the retailer's whole state (unchanged content is then one
    delivery: bronze takes the same content in once)."""
    return None if object_option(contract, object_name, "refresh") == "full" else watermark


def database_delivery(
    contract: Contract, object_name: str, watermark: str | None, now: datetime
) -> Delivery | None:
    """Rows changed after `watermark` in the object's table (the whole table for `refresh: full`);
    None when nothing changed."""
    from sqlalchemy import create_engine, text

    watermark = pull_watermark(contract, object_name, watermark)

    url = _env(contract, "urlEnv")
    obj = contract.object(object_name)
    table = obj.get("physicalName") or object_name
    column = object_option(contract, object_name, "watermark", "updated_at")
    try:
        engine = create_engine(url)
    except Exception as exc:  # an unknown dialect or a malformed URL
        raise ChannelError(f"{redact_url(url)}: cannot connect: {one_line(exc)}") from None
    try:
        quote = engine.dialect.identifier_preparer.quote
        query = f"SELECT * FROM {quote(table)}"
        parameters = {}
        if watermark is not None:
            query += f" WHERE {quote(column)} > :watermark"
            parameters["watermark"] = watermark
        query += f" ORDER BY {quote(column)}"
        with engine.connect() as connection:
            frame = pl.read_database(
                text(query), connection, execute_options={"parameters": parameters}, infer_schema_length=None
            )
    except Exception as exc:
        raise ChannelError(f"{redact_url(url)}: cannot read table {table!r}: {one_line(exc)}") from None
    finally:
        engine.dispose()
    if frame.is_empty():
        return None
    new_watermark = str(frame[column].cast(pl.String).max())
    return Delivery(
        retailer_code=retailer_code(contract),
        object_name=object_name,
        channel="database",
        source=f"{redact_url(url)}#{table}",
        content_sha256=frame_sha256(frame),
        period=f"{watermark or 'start'}..{new_watermark}",
        delivered_at=now,
        frame=frame,
        watermark=new_watermark,
    )


def api_delivery(
    contract: Contract,
    object_name: str,
    watermark: str | None,
    now: datetime,
    *,
    timeout: float = 10.0,
    retries: int = 4,
    backoff: float = 0.5,
) -> Delivery | None:
    """All pages of the object's endpoint dated on or after `watermark` (the day after the last pull;
    every page for `refresh: full`)."""
    watermark = pull_watermark(contract, object_name, watermark)
    options = server_options(contract)
    base = os.environ.get(str(options.get("locationEnv") or ""), "") or options["location"]
    token = _env(contract, "tokenEnv")
    endpoint = object_option(contract, object_name, "endpoint", f"/{object_name}")
    column = object_option(contract, object_name, "watermark", "date")
    params: dict[str, str | int] = {"page_size": int(options.get("pageSize") or 500)}
    if watermark is not None:
        params["date_from"] = watermark
    rows: list[dict] = []
    page: int | None = 1
    while page is not None:
        body = _get_json(
            f"{base.rstrip('/')}{endpoint}?{urllib.parse.urlencode({**params, 'page': page})}",
            token,
            timeout=timeout,
            retries=retries,
            backoff=backoff,
        )
        rows.extend(body.get("data") or [])
        page = body.get("next_page")
    if not rows:
        return None
    frame = pl.DataFrame(rows, infer_schema_length=None)
    new_watermark = (_latest_day(contract, object_name, frame, column) + timedelta(days=1)).isoformat()
    return Delivery(
        retailer_code=retailer_code(contract),
        object_name=object_name,
        channel="api",
        source=redact_url(f"{base.rstrip('/')}{endpoint}"),
        content_sha256=frame_sha256(frame),
        period=f"{watermark or 'start'}..{new_watermark}",
        delivered_at=now,
        frame=frame,
        watermark=new_watermark,
    )


def _latest_day(contract: Contract, object_name: str, frame: pl.DataFrame, column: str) -> date:
    """The latest date in the watermark column, parsed with the property's contract format."""
    prop = next((p for p in properties_of(contract.object(object_name)) if p["name"] == column), None)
    if prop is None or column not in frame.columns:
        raise ChannelError(f"{contract.path}: watermark column {column!r} of {object_name} is not delivered")
    pattern = (prop.get("logicalTypeOptions") or {}).get("format") or "yyyy-MM-dd"
    days = frame[column].cast(pl.String).str.strptime(pl.Datetime, jdk_to_strptime(pattern), strict=False)
    latest = days.max()
    if latest is None:
        raise ChannelError(f"{contract.path}: no parsable {column!r} value in the pull of {object_name}")
    return latest.date()


def _get_json(url: str, token: str, *, timeout: float, retries: int, backoff: float) -> dict:
    """GET with bounded retries and exponential backoff on 5xx, connection errors and timeouts."""
    request = urllib.request.Request(
        url, headers={"Authorization": f"Bearer {token}", "Accept": "application/json"}
    )
    last_error = ""
    for attempt in range(retries + 1):
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            if exc.code < 500:
                raise ChannelError(f"{redact_url(url)}: HTTP {exc.code} {exc.reason}") from None
            last_error = f"HTTP {exc.code}"
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            last_error = str(getattr(exc, "reason", exc))
        except ValueError as exc:  # a body that is not JSON, or a URL urllib cannot use
            raise ChannelError(f"{redact_url(url)}: {one_line(exc)}") from None
        if attempt < retries:
            time.sleep(backoff * 2**attempt)
    raise ChannelError(f"{redact_url(url)}: no answer after {retries + 1} tries ({safe_message(last_error)})")
