"""Bronze text → canonical names and types, from the contracts alone: formats, units, time zones."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import polars as pl

from assets.silver.mapping import map_to_canonical
from tests.silver_gold.conftest import bronze, retailer

NWG_ROW = {
    "business_date": "07/04/2026",
    "store_nbr": "101",
    "store_gln": "0614141000012",
    "store_name": "Store 101",
    "city": "Springfield",
    "state": "IL",
    "store_type": "MARKET",
    "upc": "012345678905",
    "item_nbr": "5001",
    "item_desc": "Cola 1l",
    "brand_name": "Fizz",
    "dept": "beverages",
    "qty_sold": "3",
    "sales_cents": "1249",
    "on_hand_qty": "",
    "last_modified": "2026-07-04 23:30:00",
}


def test_one_big_table_maps_cents_us_dates_local_timestamps_and_prefixed_ids(canonical):
    rows = bronze("nwg_us", [NWG_ROW])
    fact = map_to_canonical(rows, retailer("nwg_us"), "pos_daily", canonical, "daily_store_fact").row(
        0, named=True
    )
    assert fact["sale_date"] == date(2026, 7, 4)
    assert fact["site_id"] == "nwg_us:101" and fact["product_id"] == "nwg_us:5001"
    assert fact["units_sold"] == Decimal("3.000")
    assert fact["net_sales"] == Decimal("12.49")
    assert fact["on_hand_units"] is None
    assert fact["currency"] == "USD"
    # 23:30 in New York (EDT, UTC-4) is 03:30 UTC the next day; the sale date stays the local one
    assert fact["updated_at"] == datetime(2026, 7, 5, 3, 30, tzinfo=UTC)
    assert fact["secure_group_key"] == "SG_NWG_US"
    assert fact["delivery_id"] == "nwg_us:d1"
    assert fact["ingested_at"] == datetime(2026, 1, 10, 6, tzinfo=UTC)
    assert fact["product_sk"] is None


def test_the_same_row_feeds_product_and_site_with_their_own_columns(canonical):
    rows = bronze("nwg_us", [NWG_ROW])
    product = map_to_canonical(rows, retailer("nwg_us"), "pos_daily", canonical, "prod_dim").row(
        0, named=True
    )
    site = map_to_canonical(rows, retailer("nwg_us"), "pos_daily", canonical, "site_dim").row(0, named=True)
    assert (product["product_id"], product["gtin"], product["brand"], product["category"]) == (
        "nwg_us:5001",
        "012345678905",
        "Fizz",
        "beverages",
    )
    assert (site["site_id"], site["gln"], site["region"], site["store_format"]) == (
        "nwg_us:101",
        "0614141000012",
        "IL",
        "MARKET",
    )
    assert site["country"] == "US", "country comes from the contract when the retailer does not send it"


def test_columns_the_contract_does_not_map_go_into_extra_attributes(canonical):
    rows = bronze("nwg_us", [{**NWG_ROW, "promo_flag": "Y", "aisle": None}])
    fact = map_to_canonical(rows, retailer("nwg_us"), "pos_daily", canonical, "daily_store_fact")
    assert json.loads(fact["extra_attributes"][0]) == {"aisle": None, "promo_flag": "Y"}
    assert list(json.loads(fact["extra_attributes"][0])) == ["aisle", "promo_flag"], "keys in a stable order"
    product = map_to_canonical(
        rows, retailer("nwg_us"), "pos_daily", canonical, "prod_dim", extra_columns=False
    )
    assert product["extra_attributes"][0] is None
    plain = map_to_canonical(
        bronze("nwg_us", [NWG_ROW]), retailer("nwg_us"), "pos_daily", canonical, "daily_store_fact"
    )
    assert plain["extra_attributes"][0] is None


def test_decimal_comma_german_dates_and_berlin_summer_and_winter_time(canonical):
    rows = bronze(
        "alp_de",
        [
            {
                "Datum": "28.03.2026",
                "Filiale": " 7 ",
                "EAN": "4006381333931",
                "Menge": "2",
                "Umsatz": "1.234,50",
                "Bestand": "",
                "Änderungsdatum": "28.03.2026 22:15:00",
            },
            {
                "Datum": "29.03.2026",
                "Filiale": "7",
                "EAN": "4006381333931",
                "Menge": "1",
                "Umsatz": "12,49",
                "Bestand": "4",
                "Änderungsdatum": "29.03.2026 22:15:00",
            },
        ],
    )
    fact = map_to_canonical(rows, retailer("alp_de"), "sales", canonical, "daily_store_fact")
    assert fact["net_sales"].to_list() == [Decimal("1234.50"), Decimal("12.49")]
    assert fact["sale_date"].to_list() == [date(2026, 3, 28), date(2026, 3, 29)]
    assert fact["site_id"].to_list() == ["alp_de:7", "alp_de:7"]
    assert fact["on_hand_units"].to_list() == [None, Decimal("4.000")]
    # CET (UTC+1) before the switch on 29 March 2026, CEST (UTC+2) after it
    assert fact["updated_at"].to_list() == [
        datetime(2026, 3, 28, 21, 15, tzinfo=UTC),
        datetime(2026, 3, 29, 20, 15, tzinfo=UTC),
    ]
    assert fact["currency"].to_list() == ["EUR", "EUR"]


def test_a_dimension_column_can_feed_two_canonical_columns(canonical):
    rows = bronze(
        "alp_de",
        [
            {
                "EAN": "4006381333931",
                "Bezeichnung": "Tee",
                "Marke": "M",
                "Warengruppe": "W",
                "Änderungsdatum": "01.02.2026 08:00:00",
            }
        ],
    )
    product = map_to_canonical(rows, retailer("alp_de"), "products", canonical, "prod_dim").row(0, named=True)
    assert product["product_id"] == "alp_de:4006381333931"
    assert product["gtin"] == "4006381333931"


def test_minor_units_literal_letters_in_formats_and_other_zones(canonical):
    fjd = bronze(
        "fjd_no",
        [
            {
                "dato": "2026-01-15",
                "butikknummer": "12",
                "varenummer": "A-1",
                "antall": "1.5",
                "omsetning_ore": "-12345",
                "lagerbeholdning": "7",
                "endret": "2026-01-15T18:00:00",
            }
        ],
    )
    row = map_to_canonical(fjd, retailer("fjd_no"), "salg", canonical, "daily_store_fact").row(0, named=True)
    assert row["net_sales"] == Decimal("-123.45") and row["units_sold"] == Decimal("1.500")
    assert row["updated_at"] == datetime(2026, 1, 15, 17, tzinfo=UTC)
    assert row["currency"] == "NOK"
    skr = bronze(
        "skr_jp",
        [
            {
                "TENPO_CD": "T001",
                "TENPO_MEI": "Shibuya",
                "TODOFUKEN": "Tokyo",
                "URIAGE_BI": "20260105",
                "SHOHIN_CD": "S9",
                "SHOHIN_MEI": "Tea",
                "BUNRUI": "drinks",
                "SURYO": "3",
                "KINGAKU": "450",
                "KOSHIN_NICHIJI": "2026/01/05 09:00:00",
            }
        ],
    )
    row = map_to_canonical(skr, retailer("skr_jp"), "store_sales", canonical, "daily_store_fact").row(
        0, named=True
    )
    assert row["sale_date"] == date(2026, 1, 5) and row["net_sales"] == Decimal("450.00")
    assert row["updated_at"] == datetime(2026, 1, 5, 0, tzinfo=UTC)


def test_weekly_retailers_map_to_the_week_end_date(canonical):
    pmp = bronze(
        "pmp_ar",
        [
            {
                "fecha_fin_semana": "11/01/2026",
                "sucursal": "3",
                "nombre_sucursal": "Centro",
                "localidad": "Rosario",
                "provincia": "SF",
                "codigo_producto": "P1",
                "codigo_barras": "7790001000011",
                "descripcion": "Yerba",
                "marca": "Y",
                "rubro": "almacen",
                "unidades": "10",
                "venta_neta": "15000.5",
                "actualizado": "12/01/2026 10:30",
            }
        ],
    )
    row = map_to_canonical(pmp, retailer("pmp_ar"), "ventas_semanales", canonical, "weekly_store_fact")
    row = row.row(0, named=True)
    assert row["week_end_date"] == date(2026, 1, 11)
    assert row["updated_at"] == datetime(2026, 1, 12, 13, 30, tzinfo=UTC)
    assert row["currency"] == "ARS"


def test_iso_timestamps_with_an_offset_keep_it_and_without_one_take_the_retailer_zone(canonical):
    rows = bronze(
        "crl_au",
        [
            {
                "trading_date": "2026-01-05",
                "store_code": "1",
                "product_code": "P",
                "qty": "1",
                "net_amount": "2.5",
                "soh": None,
                "updated_at": "2026-01-05T10:00:00+11:00",
            },
            {
                "trading_date": "2026-01-05",
                "store_code": "1",
                "product_code": "Q",
                "qty": "1",
                "net_amount": "2.5",
                "soh": None,
                "updated_at": "2026-01-05 10:00:00",
            },
            {
                "trading_date": "2026-01-05",
                "store_code": "1",
                "product_code": "R",
                "qty": "1",
                "net_amount": "2.5",
                "soh": None,
                "updated_at": "2026-01-04T23:00:00Z",
            },
        ],
    )
    fact = map_to_canonical(rows, retailer("crl_au"), "sales", canonical, "daily_store_fact")
    assert fact["updated_at"].to_list() == [datetime(2026, 1, 4, 23, tzinfo=UTC)] * 3


def test_a_retailer_without_an_updated_at_column_uses_the_end_of_the_deliverys_latest_day(canonical):
    def row(day: str) -> dict[str, str | None]:
        return {
            "SaleDate": day,
            "StoreID": "9",
            "StoreGLN": None,
            "StoreName": "Lake",
            "City": "Toronto",
            "Province": "ON",
            "Banner": "Fresh",
            "ItemCode": "I1",
            "GTIN": "00012345678905",
            "ItemDescription": "Milk",
            "Brand": "B",
            "Units": "2",
            "NetSales": "5.98",
        }

    rows = bronze("lks_ca", [row("2026-01-05"), row("2026-01-11")])
    contract = retailer("lks_ca")
    # midnight after Sunday 11 January in Toronto (EST, UTC-5): from the data, the same in every run
    end_of_week = datetime(2026, 1, 12, 5, tzinfo=UTC)
    for obj in ("daily_store_fact", "prod_dim", "site_dim"):
        mapped = map_to_canonical(rows, contract, "weekly_sales", canonical, obj)
        assert mapped["updated_at"].to_list() == [end_of_week, end_of_week]
    assert map_to_canonical(rows, contract, "weekly_sales", canonical, "daily_store_fact").schema[
        "updated_at"
    ] == (pl.Datetime("us", "UTC"))
