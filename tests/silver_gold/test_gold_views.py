"""Gold views: row-level security by the reader's groups, antitrust masking by age, Databricks SQL."""

from __future__ import annotations

import copy
import dataclasses
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import polars as pl
import pytest

from assets.gold.views import GoldViews, databricks_policy_sql
from assets.silver.mapping import canonical_schema
from assets.storage import tables
from checks.access import access_grants
from shelfguard.settings import DataHome
from tests.silver_gold.conftest import retailer

TODAY = date(2026, 6, 30)
RECENT, OLD = TODAY - timedelta(days=10), TODAY - timedelta(days=200)
DIRECTORY = {
    "ana@americas": ["pos_analysts_americas"],
    "eve@emea": ["pos_analysts_emea"],
    "carl@central": ["pos_analysts_all"],
    "mia@watchers": ["market_watchers"],
    "bob@both": ["pos_analysts_americas", "market_watchers"],
}


def fact(code: str, key: str, day: date, units: str) -> dict:
    return {
        "retailer_code": code,
        "sale_date": day,
        "site_id": f"{code}:1",
        "product_id": f"{code}:p",
        "site_sk": "s",
        "product_sk": "p",
        "units_sold": Decimal(units),
        "net_sales": Decimal(units) * 2,
        "currency": "EUR",
        "on_hand_units": None,
        "updated_at": datetime(2026, 1, 1, tzinfo=UTC),
        "secure_group_key": key,
        "data_provider_code": "DP",
        "ingested_at": datetime(2026, 1, 1, tzinfo=UTC),
        "delivery_id": "d",
        "extra_attributes": None,
    }


@pytest.fixture
def with_watchers(canonical):
    """The canonical contract plus a group that may see the US retailer as competition data."""
    document = copy.deepcopy(canonical.document)
    document["roles"].append(
        {
            "role": "market_watchers",
            "access": "read",
            "customProperties": [
                {"property": "secureGroupKeys", "value": ["SG_NWG_US", "SG_ALP_DE"]},
                {"property": "readsAs", "value": "competition"},
            ],
        }
    )
    return dataclasses.replace(canonical, document=document)


@pytest.fixture
def views(shelfguard_home, with_watchers):
    home = DataHome(shelfguard_home)
    schema = canonical_schema(with_watchers, "daily_store_fact")
    rows = pl.DataFrame(
        [
            fact("nwg_us", "SG_NWG_US", RECENT, "1"),
            fact("nwg_us", "SG_NWG_US", OLD, "2"),
            fact("alp_de", "SG_ALP_DE", RECENT, "3"),
            fact("alp_de", "SG_ALP_DE", OLD, "4"),
        ],
        schema=schema,
    )
    tables.publish_changes(
        home.table("gold", "daily_store_fact"),
        rows,
        rows.select("retailer_code").clear(),
        ["retailer_code"],
        partition_by=["retailer_code"],
    )
    return GoldViews(home, with_watchers, [retailer("nwg_us"), retailer("alp_de")], DIRECTORY)


def read(views: GoldViews, user: str) -> list[tuple]:
    con = views.connect(user, today=TODAY)
    return con.execute(
        "SELECT retailer_code, sale_date, units_sold, net_sales FROM daily_store_fact "
        "ORDER BY retailer_code, sale_date"
    ).fetchall()


def test_grants_come_from_the_contracts_roles(canonical):
    grants = access_grants(canonical, [retailer("nwg_us"), retailer("alp_de")])
    assert ("pos_analysts_americas", "SG_NWG_US", False) in {
        (g.group, g.secure_group_key, g.masked) for g in grants
    }
    assert all(g.masked for g in grants if g.group == "pos_analysts_all")


def test_readers_see_only_the_retailers_of_their_groups(views):
    assert {r[0] for r in read(views, "ana@americas")} == {"nwg_us"}
    assert {r[0] for r in read(views, "eve@emea")} == {"alp_de", "nwg_us"}, "nwg_us as competition"
    assert {r[0] for r in read(views, "carl@central")} == {"alp_de", "nwg_us"}
    assert [r[2] for r in read(views, "carl@central")] == [Decimal("4"), None, Decimal("2"), None]


def test_unknown_users_see_nothing(views):
    assert read(views, "mallory@nowhere") == []
    assert views.connect("mallory@nowhere", today=TODAY).execute(
        "SELECT count(*) FROM prod_dim"
    ).fetchone() == (0,)


def test_competition_measures_are_masked_while_younger_than_the_horizon(views):
    rows = read(views, "mia@watchers")
    assert rows == [
        ("alp_de", OLD, Decimal("4.000"), Decimal("8.00")),
        ("alp_de", RECENT, None, None),
        ("nwg_us", OLD, Decimal("2.000"), Decimal("4.00")),
        ("nwg_us", RECENT, None, None),
    ]


def test_a_group_that_owns_the_retailer_unmasks_it(views):
    rows = read(views, "bob@both")
    assert ("nwg_us", RECENT, Decimal("1.000"), Decimal("2.00")) in rows, (
        "owned through pos_analysts_americas"
    )
    assert ("alp_de", RECENT, None, None) in rows, "still competition for bob"


def test_databricks_dynamic_views_use_the_same_rules(with_watchers):
    sql = databricks_policy_sql(
        with_watchers, [retailer("nwg_us"), retailer("alp_de")], catalog="pos", schema="gold"
    )
    assert sql.count("CREATE OR REPLACE VIEW") == 4
    assert "GRANT SELECT ON TABLE `pos`.`gold`.`daily_store_fact_v` TO `market_watchers`;" in sql
    assert "GRANT SELECT ON TABLE `pos`.`gold`.`daily_store_fact` " not in sql, "never the table"
    assert "CREATE OR REPLACE VIEW `pos`.`gold`.`daily_store_fact_v` AS" in sql
    assert "FROM `pos`.`gold`.`daily_store_fact` AS r" in sql
    assert (
        "(is_account_group_member('pos_analysts_americas') AND r.`secure_group_key` IN ('SG_NWG_US'))" in sql
    )
    assert (
        "r.`sale_date` > current_date() - INTERVAL 90 DAYS THEN NULL ELSE r.`units_sold` END AS `units_sold`"
        in sql
    )
    assert "getvariable" not in sql and "sg_today" not in sql
