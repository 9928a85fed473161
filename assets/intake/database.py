"""The database channel: rows of a retailer's table changed after the watermark, or the whole table
for an object whose contract says `refresh: full` (ADR 0017). Each pull is one delivery (its batch id
the content hash), so a pull that returns what was already taken in is ingested once."""

from __future__ import annotations

from datetime import datetime

import polars as pl

from assets.intake.base import (
    ChannelError,
    Delivery,
    PullChannel,
    environment_setting,
    pull_watermark,
    pulled_delivery,
)
from assets.plan import object_option
from checks.contract import Contract
from checks.errors import one_line
from checks.redaction import redact_url


def database_delivery(
    contract: Contract, object_name: str, watermark: str | None, now: datetime
) -> Delivery | None:
    """Rows changed after `watermark` in the object's table (the whole table for `refresh: full`);
    None when nothing changed."""
    from sqlalchemy import create_engine, text

    watermark = pull_watermark(contract, object_name, watermark)

    url = environment_setting(contract, "urlEnv")
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
    source = f"{redact_url(url)}#{table}"
    return pulled_delivery(contract, object_name, "database", source, frame, watermark, new_watermark, now)


class DatabaseChannel(PullChannel):
    pull = staticmethod(database_delivery)
