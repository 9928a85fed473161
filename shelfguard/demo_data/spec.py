"""What the generator needs to know about a retailer, read from its contract and nothing else.

Every retailer-specific choice of the demo data (column names, formats, file names, cadence, how
rows are split into files) comes from here, so a new retailer contract gets demo data without Python.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from checks.contract import Contract, custom_properties, properties_of
from checks.formats import jdk_to_strftime
from checks.lint import CADENCES, LANDING_FORMATS, SHAPES, TRANSFORMS
from checks.sla import Sla, sla_of

TEMPORAL_TYPES = ("date", "timestamp")
# canonical object -> the grain of the rows a retailer object mapped to it holds
GRAINS = {
    "daily_store_fact": "daily",
    "weekly_store_fact": "weekly",
    "prod_dim": "product",
    "site_dim": "site",
}
GRAIN_OBJECT = {grain: canonical for canonical, grain in GRAINS.items()}


@dataclass(frozen=True)
class ColumnSpec:
    """One delivered column and how to fill it."""

    name: str
    logical_type: str
    physical_type: str
    required: bool
    canonical: tuple[str, ...]
    transform: str | None
    strftime: str | None
    """Only for date/timestamp columns delivered as text; None means a native date/time value."""
    pattern: str | None
    valid_values: tuple[Any, ...] | None

    def maps_to(self, *columns: str) -> bool:
        """Whether the column feeds any of the canonical `<column>` names (of any canonical object)."""
        return any(target.split(".", 1)[1] in columns for target in self.canonical)

    def targets_for(self, grain: str) -> list[str]:
        """Canonical targets, those of the object's own grain first (a one-big-table timestamp feeds
        the product, the site and the fact; in a fact row it is the fact's)."""
        own = GRAIN_OBJECT[grain]
        return sorted(self.canonical, key=lambda target: target.split(".", 1)[0] != own)


@dataclass(frozen=True)
class ObjectSpec:
    """One delivered dataset: a file family, a database table or an API endpoint."""

    name: str
    index: int
    physical_name: str
    columns: tuple[ColumnSpec, ...]
    grain: str
    refresh: str
    file_pattern: str | None
    period_pattern: re.Pattern[str] | None
    endpoint: str | None
    watermark: str | None
    duplicate_key: tuple[str, ...]
    """Columns whose repetition is a duplicate (the duplicateValues rule, else the primary key)."""

    def column(self, name: str) -> ColumnSpec:
        return next(column for column in self.columns if column.name == name)

    def columns_mapped_to(self, *canonical_columns: str) -> list[ColumnSpec]:
        return [column for column in self.columns if column.maps_to(*canonical_columns)]

    @property
    def is_fact(self) -> bool:
        return self.grain in ("daily", "weekly")


@dataclass(frozen=True)
class RetailerSpec:
    """A retailer contract as the generator reads it."""

    code: str
    contract: Contract
    country: str
    currency: str
    timezone: str
    cadence: str
    shape: str
    channel: str
    """landing, database or api."""
    format: str
    delimiter: str
    encoding: str
    decimal_separator: str
    sheet: str | None
    header: bool
    sla: Sla | None
    api_base_path: str
    token_env: str | None
    page_size: int
    objects: tuple[ObjectSpec, ...]

    def column_pattern(self, *canonical_columns: str) -> tuple[str | None, str]:
        """The first format pattern and physical type of any column feeding the canonical columns."""
        for obj in self.objects:
            for column in obj.columns_mapped_to(*canonical_columns):
                if column.pattern:
                    return column.pattern, column.physical_type
        for obj in self.objects:
            for column in obj.columns_mapped_to(*canonical_columns):
                return None, column.physical_type
        return None, ""

    def valid_values(self, *canonical_columns: str) -> tuple[Any, ...] | None:
        for obj in self.objects:
            for column in obj.columns_mapped_to(*canonical_columns):
                if column.valid_values:
                    return column.valid_values
        return None

    def requires(self, canonical_column: str) -> bool:
        return any(
            column.required for obj in self.objects for column in obj.columns_mapped_to(canonical_column)
        )

    @property
    def product_id_is_gtin(self) -> bool:
        """A column feeding both the product id and the GTIN: the retailer identifies products by GTIN."""
        return any(
            column.maps_to("product_id") and column.maps_to("gtin")
            for obj in self.objects
            for column in obj.columns
        )


def retailer_spec(contract: Contract) -> RetailerSpec:
    """Read a retailer contract; raise `ContractError` at the line of anything the generator cannot use."""
    custom = contract.custom
    for name, allowed in (("cadence", CADENCES), ("shape", SHAPES)):
        if custom.get(name) not in allowed:
            raise contract.error(
                f"customProperty {name} must be one of {', '.join(allowed)}", "customProperties"
            )
    if not contract.servers:
        raise contract.error("a retailer contract has a server", "customProperties")
    server = contract.server()
    hints = custom_properties(server.get("customProperties"))
    channel, file_format = _channel(contract, server)
    location = urlsplit(str(server.get("location") or ""))
    try:
        page_size = int(hints.get("pageSize") or 500)
    except (TypeError, ValueError):
        raise contract.error("server customProperty pageSize must be an integer", "servers", 0) from None
    return RetailerSpec(
        code=str(custom.get("retailerCode") or contract.name),
        contract=contract,
        country=str(custom.get("country") or ""),
        currency=str(custom.get("currency") or ""),
        timezone=str(custom.get("timezone") or "UTC"),
        cadence=custom["cadence"],
        shape=custom["shape"],
        channel=channel,
        format=file_format,
        delimiter=str(hints.get("delimiter") or ","),
        encoding=str(hints.get("encoding") or "utf-8"),
        decimal_separator=str(hints.get("decimalSeparator") or "."),
        sheet=hints.get("sheet"),
        header=str(hints.get("header", True)).lower() != "false",
        sla=sla_of(contract),
        api_base_path=location.path.rstrip("/"),
        token_env=hints.get("tokenEnv"),
        page_size=page_size,
        objects=tuple(
            _object_spec(contract, index, obj, channel) for index, obj in enumerate(contract.objects)
        ),
    )


def _channel(contract: Contract, server: dict[str, Any]) -> tuple[str, str]:
    kind, file_format = server.get("type"), str(server.get("format") or "")
    if kind == "local":
        if file_format not in LANDING_FORMATS:
            raise contract.error(
                f"landing format must be one of {', '.join(LANDING_FORMATS)}", "servers", 0, "format"
            )
        return "landing", file_format
    if kind == "custom" and file_format == "sql":
        return "database", "sql"
    if kind == "api":
        return "api", "json"
    raise contract.error(
        "server must be a landing folder (type local), a database (type custom, format sql) "
        "or an API (type api)",
        "servers",
        0,
        "type",
    )


def _object_spec(contract: Contract, index: int, obj: dict[str, Any], channel: str) -> ObjectSpec:
    custom = custom_properties(obj.get("customProperties"))
    where = ("schema", index)
    columns = tuple(_column_spec(contract, index, i, prop) for i, prop in enumerate(properties_of(obj)))
    grains = {
        GRAINS[target.split(".", 1)[0]]
        for column in columns
        for target in column.canonical
        if target.split(".", 1)[0] in GRAINS
    }
    facts = grains & {"daily", "weekly"}
    if len(facts) > 1 or (not facts and len(grains) != 1):
        raise contract.error(
            f"object {obj['name']!r} must map to one fact (daily or weekly) or to one dimension; "
            f"it maps to {', '.join(sorted(grains)) or 'nothing'}",
            *where,
        )
    grain = facts.pop() if facts else grains.pop()
    file_pattern = custom.get("filePattern")
    if channel == "landing" and not file_pattern:
        raise contract.error(f"object {obj['name']!r} needs a filePattern customProperty", *where)
    period_pattern = None
    if custom.get("periodPattern"):
        try:
            period_pattern = re.compile(str(custom["periodPattern"]))
        except re.error as exc:
            raise contract.error(
                f"periodPattern is not a regular expression: {exc}", *where, "customProperties"
            ) from None
        if "period" not in period_pattern.groupindex:
            raise contract.error(
                "periodPattern needs a named group (?P<period>...)", *where, "customProperties"
            )
    if channel == "api" and not custom.get("endpoint"):
        raise contract.error(f"object {obj['name']!r} needs an endpoint customProperty", *where)
    return ObjectSpec(
        name=obj["name"],
        index=index,
        physical_name=str(obj.get("physicalName") or obj["name"]),
        columns=columns,
        grain=grain,
        refresh=str(custom.get("refresh") or "incremental"),
        file_pattern=str(file_pattern) if file_pattern else None,
        period_pattern=period_pattern,
        endpoint=str(custom["endpoint"]) if custom.get("endpoint") else None,
        watermark=str(custom["watermark"]) if custom.get("watermark") else None,
        duplicate_key=_duplicate_key(obj, columns),
    )


def _column_spec(contract: Contract, object_index: int, index: int, prop: dict[str, Any]) -> ColumnSpec:
    custom = custom_properties(prop.get("customProperties"))
    where = ("schema", object_index, "properties", index)
    canonical = custom.get("canonical") or []
    if isinstance(canonical, str):
        canonical = [canonical]
    transform = custom.get("transform")
    if transform is not None and transform not in TRANSFORMS:
        raise contract.error(f"unknown transform {transform!r}; known: {', '.join(TRANSFORMS)}", *where)
    logical_type = str(prop.get("logicalType") or "string")
    strftime = None
    if logical_type in TEMPORAL_TYPES:
        jdk_format = (prop.get("logicalTypeOptions") or {}).get("format")
        if jdk_format:
            try:
                strftime = jdk_to_strftime(str(jdk_format))
            except ValueError as exc:
                raise contract.error(str(exc), *where, "logicalTypeOptions", "format") from None
    pattern, valid_values = None, None
    for rule in prop.get("quality") or []:
        arguments = rule.get("arguments") or {}
        pattern = pattern or arguments.get("pattern")
        valid_values = valid_values or (
            tuple(arguments["validValues"]) if arguments.get("validValues") else None
        )
    return ColumnSpec(
        name=str(prop["name"]),
        logical_type=logical_type,
        physical_type=str(prop.get("physicalType") or ""),
        required=bool(prop.get("required")) or bool(prop.get("primaryKey")),
        canonical=tuple(str(target) for target in canonical),
        transform=transform,
        strftime=strftime,
        pattern=str(pattern) if pattern else None,
        valid_values=valid_values,
    )


def _duplicate_key(obj: dict[str, Any], columns: tuple[ColumnSpec, ...]) -> tuple[str, ...]:
    for rule in obj.get("quality") or []:
        if rule.get("metric") == "duplicateValues" and (rule.get("arguments") or {}).get("properties"):
            return tuple(rule["arguments"]["properties"])
    key = sorted(
        (prop.get("primaryKeyPosition", 0), prop["name"])
        for prop in properties_of(obj)
        if prop.get("primaryKey")
    )
    if key:
        return tuple(name for _, name in key)
    unique = [prop["name"] for prop in properties_of(obj) if prop.get("unique")]
    return tuple(unique[:1]) or tuple(column.name for column in columns)
