"""The HTTP API channel: every page of a retailer's endpoint dated on or after the watermark, or
every page for an object whose contract says `refresh: full` (ADR 0017), with bounded retries. Each
pull is one delivery (its batch id the content hash)."""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import date, datetime, timedelta

import polars as pl

from assets.intake.base import (
    ChannelError,
    Delivery,
    PullChannel,
    environment_setting,
    pull_watermark,
    pulled_delivery,
)
from assets.plan import object_option, server_options
from checks.contract import Contract, properties_of
from checks.errors import one_line, safe_message
from checks.formats import jdk_to_strptime
from checks.redaction import redact_url


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
    token = environment_setting(contract, "tokenEnv")
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
    source = redact_url(f"{base.rstrip('/')}{endpoint}")
    return pulled_delivery(contract, object_name, "api", source, frame, watermark, new_watermark, now)


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


class ApiChannel(PullChannel):
    pull = staticmethod(api_delivery)
