"""Silver transformations on small frames: SCD2, deduplication, point-in-time keys, roll-up, enrichment."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import polars as pl

from assets.keys import surrogate_key
from assets.silver.mapping import canonical_schema, map_to_canonical
from assets.silver.transform import (
    build_dimension,
    enrichments,
    latest_per_key,
    point_in_time_keys,
    weekly_rollup,
)
from tests.silver_gold.conftest import bronze, retailer


def alp_products(rows: list[tuple[str, str, str]], delivery: str, day: int) -> pl.DataFrame:
    """(EAN, Bezeichnung, Änderungsdatum) rows of one article snapshot."""
    return bronze(
        "alp_de",
        [
            {"EAN": ean, "Bezeichnung": name, "Marke": "M", "Warengruppe": "W", "Änderungsdatum": changed}
            for ean, name, changed in rows
        ],
        delivery=delivery,
        ingested_at=datetime(2026, 1, day, 6, tzinfo=UTC),
    )


def products(canonical, master, *snapshots: pl.DataFrame, master_rows=None) -> tuple[pl.DataFrame, list]:
    mapped = pl.concat(
        [map_to_canonical(s, retailer("alp_de"), "products", canonical, "prod_dim") for s in snapshots]
    )
    return build_dimension(
        mapped,
        "prod_dim",
        canonical_schema(canonical, "prod_dim"),
        enrichments(master, canonical, "prod_dim"),
        master_rows or {},
    )


EAN = "4006381333931"


def test_a_change_that_reverts_is_three_versions_and_repeats_are_one(canonical, master):
    versions, _ = products(
        canonical,
        master,
        alp_products([(EAN, "Tee", "01.01.2026 08:00:00")], "a1", 1),
        alp_products([(EAN, "Tee", "01.01.2026 08:00:00")], "a2", 2),  # full snapshot repeats it
        alp_products([(EAN, "Tee grün", "02.01.2026 08:00:00")], "a3", 3),
        alp_products([(EAN, "Tee", "03.01.2026 08:00:00")], "a4", 4),
        alp_products([(EAN, "Tee", "04.01.2026 08:00:00")], "a5", 5),  # touched, not changed
    )
    assert versions["description"].to_list() == ["Tee", "Tee grün", "Tee"]
    assert versions["delivery_id"].to_list() == ["alp_de:a1", "alp_de:a3", "alp_de:a4"]
    starts = [datetime(2026, 1, d, 7, tzinfo=UTC) for d in (1, 2, 3)]
    assert versions["valid_from"].to_list() == starts
    assert versions["valid_to"].to_list() == [starts[1], starts[2], None]
    assert versions["is_current"].to_list() == [False, False, True]
    assert versions["product_sk"].to_list() == [surrogate_key([f"alp_de:{EAN}", "alp_de", s]) for s in starts]


def test_a_correction_with_the_same_updated_at_wins_by_delivery_order(canonical, master):
    versions, _ = products(
        canonical,
        master,
        alp_products([(EAN, "Tea", "01.01.2026 08:00:00")], "a1", 1),
        alp_products([(EAN, "Tee", "01.01.2026 08:00:00")], "a2", 2),
    )
    assert versions["description"].to_list() == ["Tee"]
    assert versions["delivery_id"].to_list() == ["alp_de:a2"]


def test_versions_and_keys_do_not_depend_on_input_order(canonical, master):
    snapshots = [
        alp_products(
            [(EAN, name, f"0{d}.01.2026 08:00:00"), ("4006381333948", "Kaffee", "01.01.2026 09:00:00")],
            f"a{d}",
            d,
        )
        for d, name in ((1, "A"), (2, "B"), (3, "A"))
    ]
    forward, _ = products(canonical, master, *snapshots)
    backward, _ = products(canonical, master, *reversed(snapshots))
    assert forward.equals(backward)


def test_enrichment_by_gtin_and_unmatched_keys_are_reported_not_dropped(canonical, master):
    master_rows = {
        "product_master": pl.DataFrame(
            {
                "gtin": ["04006381333931"],
                "corp_product_id": ["CP-1"],
                "corp_brand": ["Corp"],
                "corp_category": ["beverages"],
            }
        )
    }
    versions, reports = products(
        canonical,
        master,
        alp_products(
            [
                (EAN, "Tee", "01.01.2026 08:00:00"),
                ("4006381333948", "Kaffee", "01.01.2026 08:00:00"),
                ("12345670", "Kekse", "01.01.2026 08:00:00"),
            ],
            "a1",
            1,
        ),
        master_rows=master_rows,
    )
    assert versions.height == 3
    matched = versions.filter(pl.col("gtin") == EAN).row(0, named=True)
    assert (matched["corp_product_id"], matched["corp_brand"], matched["corp_category"]) == (
        "CP-1",
        "Corp",
        "beverages",
    )
    (report,) = reports
    assert report.count == 2 and report.sample == ["12345670", "4006381333948"]
    assert report.as_metadata()["unmatched"] == 2


def nwg(day: str, item: str, desc: str, qty: str, modified: str, store_type: str = "MARKET") -> dict:
    return {
        "business_date": day,
        "store_nbr": "101",
        "store_gln": "0614141000012",
        "store_name": "S",
        "city": "C",
        "state": "IL",
        "store_type": store_type,
        "upc": "012345678905",
        "item_nbr": item,
        "item_desc": desc,
        "brand_name": "B",
        "dept": "D",
        "qty_sold": qty,
        "sales_cents": "100",
        "on_hand_qty": "5",
        "last_modified": modified,
    }


def test_one_big_table_writes_the_same_key_into_dimension_and_fact(canonical, master):
    contract = retailer("nwg_us")
    rows = pl.concat(
        [
            bronze("nwg_us", [nwg("01/05/2026", "1", "Cola", "2", "2026-01-05 20:00:00")], delivery="n1"),
            bronze(
                "nwg_us", [nwg("01/06/2026", "1", "Cola Zero", "3", "2026-01-06 20:00:00")], delivery="n2"
            ),
            bronze(
                "nwg_us", [nwg("01/07/2026", "1", "Cola Zero", "4", "2026-01-07 20:00:00")], delivery="n3"
            ),
        ]
    )
    dims = {}
    for dim in ("prod_dim", "site_dim"):
        mapped = map_to_canonical(rows, contract, "pos_daily", canonical, dim, extra_columns=False)
        dims[dim], _ = build_dimension(
            mapped, dim, canonical_schema(canonical, dim), enrichments(master, canonical, dim), {}
        )
    assert dims["prod_dim"].height == 2 and dims["site_dim"].height == 1
    facts = map_to_canonical(rows, contract, "pos_daily", canonical, "daily_store_fact")
    facts = point_in_time_keys(facts, dims, as_of="updated_at", timezone="America/New_York").sort("sale_date")
    product_keys = dims["prod_dim"]["product_sk"].to_list()
    assert facts["product_sk"].to_list() == [product_keys[0], product_keys[1], product_keys[1]]
    assert set(facts["site_sk"]) == set(dims["site_dim"]["site_sk"])


def test_separate_dimension_and_fact_look_up_the_version_valid_on_the_fact_date(canonical, master):
    versions, _ = products(
        canonical,
        master,
        alp_products([(EAN, "A", "10.01.2026 08:00:00")], "a1", 10),
        alp_products([(EAN, "B", "12.01.2026 23:30:00")], "a2", 13),
    )
    sales = bronze(
        "alp_de",
        [
            {
                "Datum": day,
                "Filiale": "7",
                "EAN": EAN,
                "Menge": "1",
                "Umsatz": "1,00",
                "Bestand": None,
                "Änderungsdatum": "13.01.2026 05:00:00",
            }
            for day in ("09.01.2026", "10.01.2026", "12.01.2026", "13.01.2026")
        ],
    )
    facts = map_to_canonical(sales, retailer("alp_de"), "sales", canonical, "daily_store_fact")
    facts = point_in_time_keys(facts, {"prod_dim": versions}, as_of="sale_date", timezone="Europe/Berlin")
    by_date = dict(zip(facts["sale_date"], facts["product_sk"], strict=True))
    first, second = versions["product_sk"].to_list()
    # before the first version: the first; a version starting late on the 12th (Berlin) is valid on the 12th
    assert [by_date[date(2026, 1, d)] for d in (9, 10, 12, 13)] == [first, first, second, second]


def test_a_fact_without_any_dimension_version_keeps_a_null_key(canonical, master):
    versions, _ = products(canonical, master, alp_products([(EAN, "A", "10.01.2026 08:00:00")], "a1", 10))
    sales = bronze(
        "alp_de",
        [
            {
                "Datum": "10.01.2026",
                "Filiale": "7",
                "EAN": "99999999",
                "Menge": "1",
                "Umsatz": "1,00",
                "Bestand": None,
                "Änderungsdatum": "13.01.2026 05:00:00",
            }
        ],
    )
    facts = map_to_canonical(sales, retailer("alp_de"), "sales", canonical, "daily_store_fact")
    facts = point_in_time_keys(facts, {"prod_dim": versions}, as_of="sale_date", timezone="Europe/Berlin")
    assert facts["product_sk"].to_list() == [None]


def test_deduplication_keeps_the_latest_updated_at_then_the_later_delivery(canonical):
    contract = retailer("nwg_us")
    rows = pl.concat(
        [
            bronze(
                "nwg_us",
                [
                    nwg("01/05/2026", "1", "C", "2", "2026-01-05 20:00:00"),
                    nwg("01/05/2026", "2", "C", "7", "2026-01-05 20:00:00"),
                ],
                delivery="n1",
            ),
            bronze(
                "nwg_us",
                [
                    nwg("01/05/2026", "1", "C", "9", "2026-01-05 19:00:00"),  # older update: loses
                    nwg("01/05/2026", "2", "C", "8", "2026-01-05 20:00:00"),
                ],  # same update, later: wins
                delivery="n2",
                ingested_at=datetime(2026, 1, 11, tzinfo=UTC),
            ),
        ]
    )
    facts = map_to_canonical(rows, contract, "pos_daily", canonical, "daily_store_fact")
    kept, superseded = latest_per_key(facts, ["retailer_code", "sale_date", "site_id", "product_id"])
    assert superseded == 2
    assert dict(zip(kept["product_id"], kept["units_sold"], strict=True)) == {
        "nwg_us:1": Decimal("2.000"),
        "nwg_us:2": Decimal("8.000"),
    }


def test_daily_facts_roll_up_to_weeks_ending_on_sunday(canonical):
    contract = retailer("nwg_us")
    days = ["01/04/2026", "01/05/2026", "01/10/2026", "01/11/2026", "01/12/2026"]  # Sun, Mon, Sat, Sun, Mon
    rows = bronze(
        "nwg_us",
        [
            {**nwg(d, "1", "C", str(i + 1), "2026-01-12 20:00:00"), "on_hand_qty": oh}
            for i, (d, oh) in enumerate(zip(days, ["9", "8", "7", None, "5"], strict=True))
        ],
    )
    daily = map_to_canonical(rows, contract, "pos_daily", canonical, "daily_store_fact")
    weekly = weekly_rollup(daily, canonical_schema(canonical, "weekly_store_fact"))
    assert weekly["week_end_date"].to_list() == [date(2026, 1, 4), date(2026, 1, 11), date(2026, 1, 18)]
    assert weekly["units_sold"].to_list() == [Decimal("1.000"), Decimal("9.000"), Decimal("5.000")]
    assert weekly["net_sales"].to_list() == [Decimal("1.00"), Decimal("3.00"), Decimal("1.00")]
    assert weekly["on_hand_units"].to_list() == [Decimal("9.000"), Decimal("7.000"), Decimal("5.000")]
    assert weekly.schema == canonical_schema(canonical, "weekly_store_fact")
