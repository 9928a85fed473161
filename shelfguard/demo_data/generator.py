"""Write the demo deliveries of every retailer, and the corporate master data, into a data home."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import sqlite3
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from checks.contract import Contract, ContractError, contract_files, load_contract, properties_of
from shelfguard.demo_data import faults as fault_forms
from shelfguard.demo_data.calendar import fixed_start, reference_moment, retailer_days
from shelfguard.demo_data.faults import FAULTS, Applied, apply_row_fault, assign_faults, restate, truncate
from shelfguard.demo_data.models import Delivery, FaultInjection, GenerationReport, MasterData
from shelfguard.demo_data.naming import alternate_name
from shelfguard.demo_data.render import (
    TextOptions,
    retailer_rows,
    sqlite_value,
    write_json_page,
    write_jsonl,
    write_parquet,
    write_text,
    write_xlsx,
)
from shelfguard.demo_data.schedule import Planned, plan_retailer
from shelfguard.demo_data.spec import RetailerSpec, retailer_spec
from shelfguard.demo_data.truth import (
    UNMATCHED_PRODUCT_EVERY,
    UNMATCHED_SITE_EVERY,
    RetailerTruth,
    build_truth,
    catalog,
)
from shelfguard.settings import CONTRACTS_DIR, DataHome

DEFAULT_DAYS = 14
DEFAULT_STORES = 5
DEFAULT_PRODUCTS = 20
DEFAULT_SEED = 42
REPORT_FILE = "demo_data_report.json"
CORPORATE = "corporate"


def retailer_specs(
    contracts_dir: Path = CONTRACTS_DIR, skipped: dict[str, str] | None = None
) -> dict[str, RetailerSpec]:
    """Every retailer contract under `contracts_dir/retailers`, by retailer code. With `skipped`, a
    contract the generator cannot follow is recorded there (folder name → reason) instead of raising."""
    specs = {}
    for path in contract_files([contracts_dir / "retailers"]):
        try:
            spec = retailer_spec(_contract(path))
        except ContractError as exc:
            if skipped is None:
                raise
            skipped[path.parent.name] = exc.location_message()
            continue
        specs[spec.code] = spec
    return dict(sorted(specs.items()))


def _contract(path: Path) -> Contract:
    """A contract, parsed once per content version (YAML parsing dominates a small generation)."""
    try:
        stat = path.stat()
    except OSError:
        return load_contract(path)
    return _parsed_contract(path.resolve(), stat.st_mtime_ns, stat.st_size)


@cache
def _parsed_contract(path: Path, mtime_ns: int, size: int) -> Contract:
    return load_contract(path)


def generate(
    home: DataHome,
    *,
    days: int = DEFAULT_DAYS,
    stores: int = DEFAULT_STORES,
    products: int = DEFAULT_PRODUCTS,
    seed: int = DEFAULT_SEED,
    faults: Iterable[str] = (),
    start: date | None = None,
    as_of: datetime | None = None,
    retailers: Iterable[str] | None = None,
    contracts_dir: Path = CONTRACTS_DIR,
) -> GenerationReport:
    """Write deterministic deliveries for the retailers (default: every active retailer contract).

    The calendar (`shelfguard.demo_data.calendar`) ends on the reference date `as_of` (default
    `SHELFGUARD_DEMO_AS_OF`, else now) unless `start` (default `SHELFGUARD_DEMO_START`) fixes its
    first day; nothing that would arrive after `as_of` is written.

    Replaces what an earlier run wrote for them: `landing/<code>/`, `landing/corporate/`,
    `sources/<code>.sqlite`, `sources/<code>_api/`. A retailer whose contract the generator cannot
    follow (e.g. file names it cannot produce) is skipped, its reason in the report's `skipped`, and
    its folders left alone; the others are written. Raises ValueError for bad arguments, or when
    every retailer asked for is skipped.
    """
    faults = _checked_faults(faults)
    if min(days, stores, products) < 1:
        raise ValueError("days, stores and products must be at least 1")
    skipped: dict[str, str] = {}
    specs = retailer_specs(contracts_dir, skipped)
    codes = _checked_retailers(specs, retailers, skipped)
    moment = reference_moment(as_of)
    first_day = fixed_start(start)
    calendars = {code: retailer_days(spec, days, moment, first_day) for code, spec in specs.items()}
    dates = sorted({day for code in codes for day in calendars[code]})
    items = catalog(seed, products)
    truths = {
        code: build_truth(spec, items, seed=seed, stores=stores, days=calendars[code])
        for code, spec in specs.items()
    }
    planned = []
    for code in list(codes):
        try:
            planned.extend(plan_retailer(specs[code], truths[code], calendars[code], moment))
        except ContractError as exc:
            skipped[code] = exc.location_message()
            codes.remove(code)
    if not codes:
        raise ValueError("; ".join(f"cannot generate {code}: {reason}" for code, reason in skipped.items()))
    not_injected = assign_faults(set(faults), planned)

    home.ensure()
    _clear(home, codes)
    writer = _Writer(home, truths, moment)
    master = writer.master_data(
        _contract(contracts_dir / "canonical" / "corporate_master.odcs.yaml"),
        [truths[code] for code in specs if specs[code].contract.status == "active"],
        dates[0],
        {code: truths[code] for code in codes},
    )
    writer.deliveries(sorted(planned, key=lambda d: (d.spec.code, d.period.start, d.obj.index, d.key or "")))
    report = GenerationReport(
        seed=seed,
        start=dates[0],
        end=dates[-1],
        as_of=moment,
        days=days,
        stores=stores,
        products=products,
        faults_requested=faults,
        retailers=codes,
        deliveries=writer.written,
        injections=writer.injections,
        not_injected=not_injected,
        skipped=skipped,
        master=master,
    )
    (home.root / REPORT_FILE).write_text(report.model_dump_json(indent=2) + "\n", "utf-8")
    return report


def _checked_faults(faults: Iterable[str]) -> list[str]:
    names = list(dict.fromkeys(faults))
    if "all" in names:
        return list(FAULTS)
    unknown = [name for name in names if name not in FAULTS]
    if unknown:
        raise ValueError(f"unknown fault {', '.join(unknown)}; known: all, {', '.join(FAULTS)}")
    return [name for name in FAULTS if name in names]


def _checked_retailers(
    specs: dict[str, RetailerSpec], retailers: Iterable[str] | None, skipped: dict[str, str]
) -> list[str]:
    if retailers is None:
        return [code for code, spec in specs.items() if spec.contract.status == "active"]
    codes = list(dict.fromkeys(retailers))
    for code in [code for code in codes if code in skipped]:
        codes.remove(code)
    unknown = [code for code in codes if code not in specs]
    if unknown:
        raise ValueError(f"unknown retailer {', '.join(unknown)}; known: {', '.join(specs)}")
    return sorted(codes)


def _clear(home: DataHome, codes: list[str]) -> None:
    for folder in [
        home.landing_for(CORPORATE),
        *(home.landing_for(code) for code in codes),
        *(home.sources / f"{code}_api" for code in codes),
    ]:
        shutil.rmtree(folder, ignore_errors=True)
    for code in codes:
        (home.sources / f"{code}.sqlite").unlink(missing_ok=True)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class _Writer:
    """Writes deliveries and remembers what it wrote."""

    def __init__(self, home: DataHome, truths: dict[str, RetailerTruth], as_of: datetime):
        self.home = home
        self.truths = truths
        self.as_of = as_of
        self.written: list[Delivery] = []
        self.injections: list[FaultInjection] = []
        self._databases: dict[str, sqlite3.Connection] = {}

    # corporate master data -------------------------------------------------------------------
    def master_data(
        self,
        contract: Contract,
        all_truths: list[RetailerTruth],
        first: date,
        generated: dict[str, RetailerTruth],
    ) -> MasterData:
        """Product and site master from every active retailer's products and stores, less unmatched ones."""
        products: dict[str, dict[str, Any]] = {}
        sites: dict[str, dict[str, Any]] = {}
        for truth in all_truths:
            for product in truth.products:
                if product.index % UNMATCHED_PRODUCT_EVERY != UNMATCHED_PRODUCT_EVERY - 1:
                    local = "" if product.master_gtin.startswith("0") else f"-{truth.spec.country}"
                    products.setdefault(
                        product.master_gtin,
                        {
                            "gtin": product.master_gtin,
                            "corp_product_id": f"CP-{product.index + 1:05d}{local}",
                            "corp_brand": product.brand.upper(),
                            "corp_category": product.corp_category,
                        },
                    )
            for store in truth.stores:
                if store.index % UNMATCHED_SITE_EVERY != UNMATCHED_SITE_EVERY - 1:
                    sites[store.gln] = {
                        "gln": store.gln,
                        "corp_site_id": f"CS-{truth.spec.code.upper()}-{store.index + 1:03d}",
                        "corp_channel": store.corp_channel,
                    }
        arrival = datetime.combine(first - timedelta(days=1), time(), UTC)
        paths = {}
        for obj, rows in (("product_master", products), ("site_master", sites)):
            schema = contract.object(obj)
            pattern = next(
                p["value"] for p in schema.get("customProperties", []) if p["property"] == "filePattern"
            )
            location = f"landing/{CORPORATE}/{pattern.replace('*', '')}"
            columns = [prop["name"] for prop in properties_of(schema)]
            data = write_text(columns, [rows[key] for key in sorted(rows)], TextOptions())
            self._write_file(location, data, arrival)
            paths[obj] = location
            self.written.append(
                Delivery(
                    retailer=CORPORATE,
                    object=obj,
                    channel="reference",
                    location=location,
                    period=first.isoformat(),
                    rows=len(rows),
                    bytes=len(data),
                    sha256=_sha256(data),
                    delivered_at=arrival,
                )
            )
        unmatched_gtins = {
            code: sorted(
                p.gtin for p in truth.products if p.master_gtin not in products and _sends(truth.spec, "gtin")
            )
            for code, truth in generated.items()
        }
        unmatched_glns = {
            code: sorted(
                s.gln
                for s in truth.stores
                if s.sends_gln and s.gln not in sites and _sends(truth.spec, "gln")
            )
            for code, truth in generated.items()
        }
        return MasterData(
            product_master=paths["product_master"],
            site_master=paths["site_master"],
            products=len(products),
            sites=len(sites),
            unmatched_gtins={k: v for k, v in unmatched_gtins.items() if v},
            unmatched_glns={k: v for k, v in unmatched_glns.items() if v},
        )

    # retailer deliveries ---------------------------------------------------------------------
    def deliveries(self, planned: list[Planned]) -> None:
        try:
            for delivery in planned:
                self._delivery(delivery)
        finally:
            for connection in self._databases.values():
                connection.commit()
                connection.close()
        last_arrival = {d.spec.code: d.arrival_utc for d in planned}
        for code in self._databases:
            self._stamp(self.home.sources / f"{code}.sqlite", last_arrival[code])
        self._write_api_indexes(planned, last_arrival)

    def _delivery(self, delivery: Planned) -> None:
        spec, obj = delivery.spec, delivery.obj
        canonical = self._canonical_rows(delivery)
        columns = [column.name for column in obj.columns]
        rows = retailer_rows(obj, canonical)
        applied: list[Applied] = []
        for variant in delivery.variants:
            if variant.fault in fault_forms.ROW_FAULTS:
                columns, rows, result = apply_row_fault(variant.fault, obj, columns, rows)
                applied.append(result)
        if spec.channel == "database":
            self._insert(delivery, columns, rows, applied)
            return
        if spec.channel == "api":
            data = write_json_page(columns, rows)
            self._write_file(delivery.location, data, delivery.arrival_utc)
            self._record(delivery, rows, data, delivery.arrival_utc, applied)
            return
        data = self._serialize(delivery, columns, rows, applied)
        arrival = delivery.arrival_utc
        if (variant := delivery.has("late_delivery")) is not None:
            if variant.name == "withheld":
                effect = (
                    f"not delivered: the {delivery.period.label} delivery is missing and {spec.code} "
                    f"is late after {delivery.due.astimezone(UTC).isoformat()}"
                )
                self._inject(
                    delivery,
                    delivery.location,
                    Applied(variant.fault, effect, variant.name, rows_affected=len(rows)),
                )
                return
            arrival = delivery.due.astimezone(UTC) + timedelta(hours=fault_forms.LATE_BY_HOURS)
            if arrival > self.as_of:
                effect = (
                    f"not delivered yet: due {delivery.due.astimezone(UTC).isoformat()}, it arrives "
                    f"{fault_forms.LATE_BY_HOURS} h late, after the reference moment {self.as_of.isoformat()}"
                )
                self._inject(delivery, delivery.location, Applied(variant.fault, effect, variant.name))
                return
            effect = (
                f"arrived {fault_forms.LATE_BY_HOURS} h after its deadline "
                f"{delivery.due.astimezone(UTC).isoformat()}"
            )
            applied.append(Applied(variant.fault, effect, variant.name))
        self._write_file(delivery.location, data, arrival)
        self._record(delivery, rows, data, arrival, applied)
        if delivery.has("redelivered_file"):
            self._second_file(
                delivery,
                data,
                rows,
                delivery.arrival_utc + timedelta(hours=fault_forms.REDELIVERED_AFTER_HOURS),
                "redelivered_file",
                0,
            )
        if delivery.has("restated_file"):
            later = timedelta(days=fault_forms.RESTATED_AFTER_DAYS)
            corrected, changed = restate(canonical, obj, delivery.extracted_at + later)
            restated_rows = retailer_rows(obj, corrected)
            self._second_file(
                delivery,
                self._serialize(delivery, columns, restated_rows, []),
                restated_rows,
                delivery.arrival_utc + later,
                "restated_file",
                changed,
            )

    def _canonical_rows(self, delivery: Planned) -> list[dict[str, Any]]:
        truth = self.truths[delivery.spec.code]
        if delivery.obj.grain == "product":
            return truth.product_rows()
        if delivery.obj.grain == "site":
            return truth.site_rows()
        return truth.fact_rows(
            delivery.obj.grain,
            delivery.period.dates,
            delivery.stores,
            delivery.period.end,
            delivery.extracted_at,
        )

    def _serialize(
        self,
        delivery: Planned,
        columns: list[str],
        rows: list[dict[str, Any]],
        applied: list[Applied],
    ) -> bytes:
        spec = delivery.spec
        options = TextOptions(spec.delimiter, spec.encoding, spec.decimal_separator, spec.header)
        if delivery.has("wrong_delimiter"):
            options = dataclasses.replace(
                options, delimiter=fault_forms.WRONG_DELIMITERS.get(spec.delimiter, ",")
            )
            applied.append(
                Applied(
                    "wrong_delimiter",
                    f"written with delimiter {options.delimiter!r} instead of {spec.delimiter!r}: read "
                    "with the contract's delimiter every line is one column",
                )
            )
        if delivery.has("wrong_encoding"):
            options = dataclasses.replace(options, encoding=fault_forms.WRONG_ENCODING)
            applied.append(
                Applied(
                    "wrong_encoding",
                    f"encoded as {fault_forms.WRONG_ENCODING} (with BOM) instead of {spec.encoding}",
                )
            )
        if spec.format in fault_forms.TEXT_FORMATS:
            data = write_text(columns, rows, options)
        elif spec.format == "jsonl":
            data = write_jsonl(columns, rows, options.encoding)
        elif spec.format == "parquet":
            data = write_parquet(delivery.obj, columns, rows)
        else:
            data = write_xlsx(columns, rows, spec.sheet)
        if (variant := delivery.has("truncated_file")) is not None:
            header_lines = int(spec.header and spec.format in fault_forms.TEXT_FORMATS)
            data, result = truncate(data, variant.name or "text", header_lines)
            applied.append(result)
        if delivery.has("empty_file"):
            data = b""
            applied.append(Applied("empty_file", "the file is empty (0 bytes)"))
        return data

    def _second_file(
        self,
        delivery: Planned,
        data: bytes,
        rows: list[dict[str, Any]],
        arrival: datetime,
        fault: str,
        changed: int,
    ) -> None:
        name = alternate_name(delivery.obj, Path(delivery.location).name, 2)
        assert name is not None, "faults needing a second name only go to objects with a periodPattern"
        location = str(Path(delivery.location).with_name(name))
        if arrival > self.as_of:
            effect = f"second file not delivered yet: it arrives after {self.as_of:%Y-%m-%dT%H:%M}Z"
            self._inject(delivery, delivery.location, Applied(fault, effect))
            return
        self._write_file(location, data, arrival)
        effect = (
            "same bytes again under a second name: ingest once"
            if fault == "redelivered_file"
            else f"corrected file for period {delivery.period.label}: {fault_forms.rows_text(changed)} "
            "differ; it supersedes the first"
        )
        self.written.append(self._delivery_record(delivery, location, rows, data, arrival, [fault]))
        changed_rows = changed if fault == "restated_file" else None
        self._inject(
            delivery, delivery.location, Applied(fault, effect, rows_affected=changed_rows), location
        )

    def _insert(
        self,
        delivery: Planned,
        columns: list[str],
        rows: list[dict[str, Any]],
        applied: list[Applied],
    ) -> None:
        """Append a load batch to the retailer's SQLite database (tables by physicalName)."""
        spec, obj = delivery.spec, delivery.obj
        connection = self._databases.get(spec.code)
        if connection is None:
            connection = sqlite3.connect(self.home.sources / f"{spec.code}.sqlite")
            self._databases[spec.code] = connection
            for table in spec.objects:
                definitions = [f'"{c.name}" {c.physical_type or "TEXT"}' for c in table.columns]
                if table.watermark and table.watermark not in [c.name for c in table.columns]:
                    definitions.append(f'"{table.watermark}" TIMESTAMP')
                connection.execute(f'CREATE TABLE "{table.physical_name}" ({", ".join(definitions)})')
        table_columns = list(columns)
        values = [[sqlite_value(row.get(column)) for column in columns] for row in rows]
        if obj.watermark and obj.watermark not in table_columns:
            table_columns.append(obj.watermark)
            values = [[*row, sqlite_value(delivery.extracted_at)] for row in values]
        quoted = ", ".join(f'"{column}"' for column in table_columns)
        connection.executemany(
            f'INSERT INTO "{obj.physical_name}" ({quoted}) VALUES ({", ".join("?" for _ in table_columns)})',
            values,
        )
        watermark_column = obj.watermark if obj.watermark in table_columns else None
        watermark = (
            max(str(row[table_columns.index(watermark_column)]) for row in values)
            if watermark_column and values
            else None
        )
        self._record(delivery, rows, None, delivery.arrival_utc, applied, watermark)

    def _write_api_indexes(self, planned: list[Planned], last_arrival: dict[str, datetime]) -> None:
        """`sources/<code>_api/api.json`: what the local retailer API serves (see shelfguard.retailer_api)."""
        specs = {d.spec.code: d.spec for d in planned if d.spec.channel == "api"}
        for code, spec in specs.items():
            endpoints = []
            for obj in spec.objects:
                column = next((c for c in obj.columns if c.name == obj.watermark), None)
                endpoints.append(
                    {
                        "path": obj.endpoint,
                        "object": obj.name,
                        "watermark": column.name if column else None,
                        "watermark_format": column.strftime if column else None,
                        "refresh": obj.refresh,
                    }
                )
            index = {
                "retailer": code,
                "base_path": spec.api_base_path,
                "token_env": spec.token_env,
                "page_size": spec.page_size,
                "endpoints": endpoints,
            }
            data = (json.dumps(index, indent=2) + "\n").encode("utf-8")
            self._write_file(f"sources/{code}_api/api.json", data, last_arrival[code])

    # records -----------------------------------------------------------------------------------
    def _write_file(self, location: str, data: bytes, arrival: datetime) -> None:
        path = self.home.root / location
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self._stamp(path, arrival)

    @staticmethod
    def _stamp(path: Path, arrival: datetime) -> None:
        """The file's mtime is its arrival, so lateness shows in the file system as it would for real."""
        stamp = int(arrival.timestamp()) * 1_000_000_000
        os.utime(path, ns=(stamp, stamp))

    def _delivery_record(
        self,
        delivery: Planned,
        location: str,
        rows: list[dict[str, Any]],
        data: bytes | None,
        arrival: datetime,
        faults: list[str],
        watermark: str | None = None,
    ) -> Delivery:
        dates = delivery.period.dates if delivery.obj.is_fact else ()
        return Delivery(
            retailer=delivery.spec.code,
            object=delivery.obj.name,
            channel=delivery.spec.channel,
            location=location,
            period=delivery.period.label,
            key=delivery.key,
            first_date=dates[0] if dates else None,
            last_date=dates[-1] if dates else None,
            rows=len(rows),
            bytes=len(data) if data is not None else None,
            sha256=_sha256(data) if data is not None else None,
            delivered_at=arrival,
            due_by=delivery.due.astimezone(UTC),
            watermark=watermark,
            faults=faults,
        )

    def _record(
        self,
        delivery: Planned,
        rows: list[dict[str, Any]],
        data: bytes | None,
        arrival: datetime,
        applied: list[Applied],
        watermark: str | None = None,
    ) -> None:
        faults = list(dict.fromkeys(result.fault for result in applied))
        self.written.append(
            self._delivery_record(delivery, delivery.location, rows, data, arrival, faults, watermark)
        )
        for result in applied:
            self._inject(delivery, delivery.location, result)

    def _inject(
        self, delivery: Planned, location: str, result: Applied, second_location: str | None = None
    ) -> None:
        self.injections.append(
            FaultInjection(
                fault=result.fault,
                variant=result.variant,
                retailer=delivery.spec.code,
                object=delivery.obj.name,
                period=delivery.period.label,
                location=location,
                effect=result.effect,
                column=result.column,
                renamed_to=result.renamed_to,
                rows_affected=result.rows_affected,
                second_location=second_location,
            )
        )


def _sends(spec: RetailerSpec, canonical_column: str) -> bool:
    return any(obj.columns_mapped_to(canonical_column) for obj in spec.objects)
