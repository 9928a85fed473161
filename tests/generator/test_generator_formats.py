"""A clean run: every retailer's deliveries exist in its contract's format, shape and file names,
read back with the contract's columns, and satisfy every format rule of the contract."""

from __future__ import annotations

import re
from datetime import date, datetime
from fnmatch import fnmatchcase
from pathlib import Path

import polars as pl
import pytest

from shelfguard.demo_data import GenerationReport, retailer_specs
from shelfguard.demo_data.spec import ColumnSpec, ObjectSpec, RetailerSpec
from tests.generator.readers import read_delivery, read_table

SPECS = retailer_specs()


def frames(home: Path, report: GenerationReport, spec: RetailerSpec, obj: ObjectSpec) -> list[pl.DataFrame]:
    if spec.channel == "database":
        return [read_table(home, spec.code, obj.physical_name)]
    return [read_delivery(home, spec, d) for d in report.deliveries_of(spec.code, obj.name)]


def as_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def assert_column_holds(column: ColumnSpec, series: pl.Series, decimal_separator: str) -> None:
    """The column's values are what its contract says: required, pattern, validValues, castable type."""
    if column.required:
        assert series.null_count() == 0, f"{column.name} has nulls"
    values = [value for value in series.to_list() if value is not None]
    for value in values:
        text = as_text(value)
        if column.pattern:
            assert re.fullmatch(column.pattern, text), f"{column.name}={text!r} breaks {column.pattern}"
        if column.valid_values:
            assert value in column.valid_values, f"{column.name}={value!r} not in {column.valid_values}"
        if column.strftime:
            datetime.strptime(text, column.strftime)
        elif column.logical_type == "integer":
            int(text)
        elif column.logical_type == "number":
            float(text.replace(decimal_separator, "."))
        elif column.logical_type == "date":
            assert isinstance(value, date) or date.fromisoformat(text)
        elif column.logical_type == "timestamp":
            assert isinstance(value, datetime) or datetime.fromisoformat(text)


@pytest.mark.parametrize("code", list(SPECS))
def test_every_object_is_delivered_with_its_contract_columns_and_rules(clean_run, code):
    home, report = clean_run
    spec = SPECS[code]
    for obj in spec.objects:
        delivered = report.deliveries_of(code, obj.name)
        assert delivered, f"{code}.{obj.name} has no delivery"
        for frame in frames(home, report, spec, obj):
            expected = [column.name for column in obj.columns]
            if spec.channel == "database" and obj.watermark and obj.watermark not in expected:
                expected.append(obj.watermark)
            assert frame.columns == expected
            for column in obj.columns:
                assert_column_holds(column, frame[column.name], spec.decimal_separator)
            duplicates = frame.height - frame.select(list(obj.duplicate_key)).unique().height
            assert duplicates == 0, f"{code}.{obj.name}: duplicates over {obj.duplicate_key}"
        if spec.channel == "database":
            assert frames(home, report, spec, obj)[0].height == sum(d.rows for d in delivered)
        else:
            assert [frame.height for frame in frames(home, report, spec, obj)] == [d.rows for d in delivered]


@pytest.mark.parametrize("code", [code for code, spec in SPECS.items() if spec.channel == "landing"])
def test_file_names_match_the_file_and_period_patterns_and_mtime_is_the_arrival(clean_run, code):
    home, report = clean_run
    spec = SPECS[code]
    for obj in spec.objects:
        periods = set()
        for delivery in report.deliveries_of(code, obj.name):
            path = home / delivery.location
            assert path.parent == home / "landing" / code
            assert fnmatchcase(path.name, obj.file_pattern)
            if obj.period_pattern:
                periods.add(obj.period_pattern.fullmatch(path.name).group("period"))
            assert path.stat().st_mtime == delivery.delivered_at.timestamp()
            assert delivery.delivered_at < delivery.due_by
        if obj.period_pattern:
            assert len(periods) == len(report.deliveries_of(code, obj.name)), "a period appears twice"


def single_value_column(spec: RetailerSpec, obj: ObjectSpec, *canonical: str) -> str:
    return obj.columns_mapped_to(*canonical)[0].name


@pytest.mark.parametrize("code", list(SPECS))
def test_deliveries_follow_the_shape_and_cadence(clean_run, code):
    home, report = clean_run
    spec = SPECS[code]
    days = (report.end - report.start).days + 1
    for obj in spec.objects:
        delivered = report.deliveries_of(code, obj.name)
        periods = {d.period for d in delivered}
        if not obj.is_fact:
            expected_periods = {"daily": days, "weekly": 2, "monthly": 2}[spec.cadence]
            assert len(delivered) == (
                1 if spec.channel != "landing" and obj.refresh != "full" else expected_periods
            )
            continue
        assert {d.first_date for d in delivered} >= {report.start} and max(
            d.last_date for d in delivered
        ) == report.end
        frames_by_delivery = (
            [read_delivery(home, spec, d) for d in delivered] if spec.channel != "database" else []
        )
        date_column = single_value_column(spec, obj, "sale_date", "week_end_date")
        if spec.shape == "split_by_region":
            assert len(delivered) > len(periods), "several files per date"
            region = single_value_column(spec, obj, "region")
            for delivery, frame in zip(delivered, frames_by_delivery, strict=True):
                assert frame[region].unique().to_list() == [delivery.key]
        if spec.shape == "per_store":
            site = single_value_column(spec, obj, "site_id")
            assert len(delivered) == len(periods) * report.stores
            for delivery, frame in zip(delivered, frames_by_delivery, strict=True):
                assert frame[site].unique().to_list() == [delivery.key]
                assert frame[date_column].n_unique() == 7
        if spec.shape == "weekly_single_date":
            for frame in frames_by_delivery:
                (week_end,) = frame[date_column].unique().to_list()
                assert datetime.strptime(week_end, obj.column(date_column).strftime).weekday() == 6
        if spec.shape == "weekly_all_days":
            assert all(frame[date_column].n_unique() == 7 for frame in frames_by_delivery)
        if spec.shape == "many_dates":
            assert all(frame[date_column].n_unique() > 1 for frame in frames_by_delivery)
        if spec.shape == "one_big_table":
            assert len(delivered) == days
            assert obj.columns_mapped_to("gtin", "description") and obj.columns_mapped_to("name", "city")


def test_corporate_master_has_most_but_not_all_retailer_codes(clean_run):
    home, report = clean_run
    products = pl.read_csv(home / report.master.product_master, infer_schema=False)
    sites = pl.read_csv(home / report.master.site_master, infer_schema=False)
    assert products.columns == ["gtin", "corp_product_id", "corp_brand", "corp_category"]
    assert sites.columns == ["gln", "corp_site_id", "corp_channel"]
    assert products.height == report.master.products and sites.height == report.master.sites
    assert products["gtin"].is_unique().all() and products["corp_product_id"].is_unique().all()
    master_gtins = {gtin.zfill(14) for gtin in products["gtin"]}
    for code, unmatched in report.master.unmatched_gtins.items():
        assert unmatched and all(gtin.zfill(14) not in master_gtins for gtin in unmatched), code
    nwg = read_delivery(home, SPECS["nwg_us"], report.deliveries_of("nwg_us")[0])
    sent = {upc.zfill(14) for upc in nwg["upc"]}
    assert 0 < len(sent - master_gtins) < len(sent), "some but not all UPCs are in the master"
    assert set(report.master.unmatched_glns) >= {"nwg_us", "alp_de"}


def unit_prices(frame: pl.DataFrame, product: str, units: str, amount: pl.Expr) -> pl.DataFrame:
    sold = frame.with_columns(pl.col(units).cast(pl.Int64), amount.alias("amount")).filter(pl.col(units) > 0)
    return sold.group_by(product).agg((pl.col("amount") / pl.col(units)).round(6).n_unique().alias("prices"))


def test_amounts_are_written_as_each_contract_says(clean_run):
    """nwg_us sends integer cents, alp_de decimal-comma euros; either way one unit price per product."""
    home, report = clean_run
    nwg = read_delivery(home, SPECS["nwg_us"], report.deliveries_of("nwg_us", "pos_daily")[0])
    assert nwg["sales_cents"].str.contains(r"^\d+$").all()
    assert (nwg["business_date"] == "03/24/2025").all()
    cents = pl.col("sales_cents").cast(pl.Int64)
    assert (unit_prices(nwg, "item_nbr", "qty_sold", cents)["prices"] == 1).all()
    alp = read_delivery(home, SPECS["alp_de"], report.deliveries_of("alp_de", "sales")[0])
    assert alp["Umsatz"].str.contains(r"^\d+,\d{2}$").all()
    euros = pl.col("Umsatz").str.replace(",", ".").cast(pl.Float64)
    assert (unit_prices(alp, "EAN", "Menge", euros)["prices"] == 1).all()
    stores = read_delivery(home, SPECS["alp_de"], report.deliveries_of("alp_de", "stores")[0])
    assert "München" in stores["Ort"].to_list(), "Latin-1 text round-trips"


def test_a_retailer_alone_gets_the_same_files_as_in_a_full_run(clean_run, tmp_path):
    from shelfguard.demo_data import generate
    from shelfguard.settings import DataHome

    home, report = clean_run
    alone = generate(DataHome(tmp_path), retailers=["nwg_us"])
    assert [d.sha256 for d in alone.deliveries_of("nwg_us")] == [
        d.sha256 for d in report.deliveries_of("nwg_us")
    ]
    assert [d.sha256 for d in alone.deliveries_of("corporate")] == [
        d.sha256 for d in report.deliveries_of("corporate")
    ]
