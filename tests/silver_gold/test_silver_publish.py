"""Silver write–audit–publish on real bronze: promotable rows only, idempotent, quarantine and block."""

from __future__ import annotations

import copy
import dataclasses
from datetime import UTC, date, datetime
from decimal import Decimal

import polars as pl
from deltalake import DeltaTable

from assets.bronze.ingest import ingest
from assets.intake.landing import landing_delivery
from assets.silver.mapping import canonical_schema
from assets.silver.publish import (
    MasterData,
    ledger_states,
    publish_silver,
    references_for,
    rolled_up_version,
    silver_dims,
    silver_path,
    silver_quarantine_path,
)
from assets.silver.transform import changes, natural_key, weekly_rollup
from assets.storage import tables
from checks.gate import run_gate
from tests.silver_gold.conftest import deliver, deliver_alp, deliver_nwg, nwg_line, retailer

OBJECTS = ("prod_dim", "site_dim", "daily_store_fact", "weekly_store_fact")


def run_all(home, canonical, master, code: str = "nwg_us", contract=None, master_data=None) -> dict:
    contract = contract or retailer(code)
    return {
        obj: publish_silver(home, contract, canonical, master, obj, master_data=master_data or MasterData())
        for obj in OBJECTS
    }


def versions(home, code: str = "nwg_us") -> dict[str, int | None]:
    return {obj: tables.version(silver_path(home, code, obj)) for obj in OBJECTS}


def test_one_big_table_is_split_keyed_and_rolled_up(home, canonical, master):
    deliver_nwg(
        home,
        "nwg_pos_20260105.csv",
        [nwg_line(item="1"), nwg_line(item="2", desc="Chips", upc="012345678912")],
        day=6,
    )
    deliver_nwg(
        home,
        "nwg_pos_20260106.csv",
        [nwg_line(day="01/06/2026", item="1", desc="Cola Zero", modified="2026-01-06 23:00:00")],
        day=7,
    )
    outcomes = run_all(home, canonical, master)
    assert {obj: o.action for obj, o in outcomes.items()} == dict.fromkeys(OBJECTS, "published")
    products = tables.read(silver_path(home, "nwg_us", "prod_dim"))
    facts = tables.read(silver_path(home, "nwg_us", "daily_store_fact"))
    assert products.height == 3 and facts.height == 3
    assert set(facts["product_sk"]) <= set(products["product_sk"])
    cola_zero = products.filter(pl.col("description") == "Cola Zero")["product_sk"].item()
    assert facts.filter(pl.col("sale_date") == date(2026, 1, 6))["product_sk"].to_list() == [cola_zero]
    weekly = tables.read(silver_path(home, "nwg_us", "weekly_store_fact"))
    assert weekly["week_end_date"].unique().to_list() == [date(2026, 1, 11)]
    assert weekly.height == 2
    assert outcomes["prod_dim"].unmatched[0]["unmatched"] == 2


def test_rerunning_with_the_same_bronze_changes_nothing(home, canonical, master):
    deliver_nwg(home, "nwg_pos_20260105.csv", [nwg_line(item="1"), nwg_line(item="2")], day=6)
    run_all(home, canonical, master)
    before = versions(home)
    again = run_all(home, canonical, master)
    assert versions(home) == before
    assert {o.action for o in again.values()} <= {"unchanged", "nothing_new"}


def test_quarantined_and_blocked_bronze_rows_never_reach_silver(home, canonical, master):
    good = [nwg_line(item=str(100 + i)) for i in range(40)]
    deliver_nwg(home, "nwg_pos_20260105.csv", [*good, nwg_line(item="bad", upc="12AB")], day=6)
    deliver_nwg(home, "nwg_pos_20260106.csv", [], day=7)  # empty: blocked by nwg_pos_daily_not_empty
    outcomes = run_all(home, canonical, master)
    facts = tables.read(silver_path(home, "nwg_us", "daily_store_fact"))
    assert facts.height == 40 and "nwg_us:bad" not in set(facts["product_id"])
    assert len(outcomes["daily_store_fact"].deliveries) == 1


def test_a_restatement_supersedes_the_earlier_delivery_of_its_period(home, canonical, master):
    deliver_nwg(
        home, "nwg_pos_20260105.csv", [nwg_line(item="1", qty="3"), nwg_line(item="2", qty="4")], day=6
    )
    run_all(home, canonical, master)
    deliver_nwg(home, "nwg_pos_20260105_v2.csv", [nwg_line(item="1", qty="5")], day=7)
    outcome = run_all(home, canonical, master)["daily_store_fact"]
    facts = tables.read(silver_path(home, "nwg_us", "daily_store_fact"))
    assert facts.select("product_id", "units_sold").rows() == [("nwg_us:1", 5)]
    assert len(outcome.retired_deliveries) == 1 and outcome.rows_deleted == 1
    states = ledger_states(home, "nwg_us", "daily_store_fact")
    assert sorted(states.values()) == ["promoted", "retired"]
    weekly = tables.read(silver_path(home, "nwg_us", "weekly_store_fact"))
    assert weekly.select("product_id", "units_sold").rows() == [("nwg_us:1", 5)]


def _rollup_is_complete(home, canonical) -> None:
    """Silver's weekly table equals the roll-up of every daily row, recomputed from scratch."""
    fact = "weekly_store_fact"
    daily = tables.read(silver_path(home, "nwg_us", "daily_store_fact"))
    full = weekly_rollup(daily, canonical_schema(canonical, fact))
    published = tables.read(silver_path(home, "nwg_us", fact))
    upserts, deletes = changes(full, published, natural_key(canonical, fact))
    assert upserts.is_empty() and deletes.is_empty()


def _week_files(path, week_end_date: str) -> set[str]:
    actions = pl.DataFrame(DeltaTable(str(path)).get_add_actions(flatten=True))
    return set(actions.filter(pl.col("partition.week_end_date").cast(pl.String) == week_end_date)["path"])


def test_the_weekly_roll_up_recomputes_only_the_weeks_whose_days_changed(home, canonical, master):
    week_one, week_two = "01/05/2026", "01/12/2026"
    deliver_nwg(home, "nwg_pos_20260105.csv", [nwg_line(item="1"), nwg_line(item="2", qty="4")], day=6)
    next_week = nwg_line(day=week_two, item="1", modified="2026-01-12 23:00:00")
    deliver_nwg(home, "nwg_pos_20260112.csv", [next_week], day=13)
    run_all(home, canonical, master)
    _rollup_is_complete(home, canonical)
    weekly = silver_path(home, "nwg_us", "weekly_store_fact")
    assert rolled_up_version(weekly) == tables.version(silver_path(home, "nwg_us", "daily_store_fact"))

    assert DeltaTable(str(weekly)).metadata().partition_columns == ["week_end_date"]
    second_week_files = _week_files(weekly, "2026-01-18")

    # a late row for the old week: only that week's product is recomputed, only its files rewritten
    late = nwg_line(day="01/06/2026", item="1", qty="7", modified="2026-01-06 23:00:00")
    deliver_nwg(home, "nwg_pos_20260106.csv", [late], day=14)
    outcome = run_all(home, canonical, master)["weekly_store_fact"]
    assert outcome.action == "published" and outcome.rows_written == 1
    _rollup_is_complete(home, canonical)
    assert _week_files(weekly, "2026-01-18") == second_week_files

    # a restatement of the old week's first day drops product 2: its weekly row goes too
    deliver_nwg(home, "nwg_pos_20260105_v2.csv", [nwg_line(day=week_one, item="1", qty="5")], day=15)
    outcome = run_all(home, canonical, master)["weekly_store_fact"]
    assert outcome.rows_deleted == 1
    _rollup_is_complete(home, canonical)
    rows = tables.read(weekly).sort("week_end_date").select("week_end_date", "product_id", "units_sold")
    assert rows.rows() == [(date(2026, 1, 11), "nwg_us:1", 12), (date(2026, 1, 18), "nwg_us:1", 3)]

    # nothing new: the roll-up reads nothing and writes nothing
    again = run_all(home, canonical, master)["weekly_store_fact"]
    assert again.action == "unchanged" and again.rows_written == 0


def _without_bronze_gtin_rule(contract):
    """nwg_us as if its contract did not check UPCs, so a bad one reaches the silver gate."""
    document = copy.deepcopy(contract.document)
    for prop in document["schema"][0]["properties"]:
        if prop["name"] == "upc":
            prop.pop("quality")
    return dataclasses.replace(contract, document=document)


def _tolerant_gtin_rule(canonical):
    """The canonical contract with its GTIN rule quarantining up to half the rows instead of none."""
    document = copy.deepcopy(canonical.document)
    gtin = next(p for p in document["schema"][0]["properties"] if p["name"] == "gtin")
    rule = gtin["quality"][0]
    rule.pop("mustBe")
    rule.update({"mustBeLessThan": 50, "unit": "percent"})
    return dataclasses.replace(canonical, document=document)


def test_silver_gate_blocks_a_batch_and_nothing_is_written(home, canonical, master):
    contract = _without_bronze_gtin_rule(retailer("nwg_us"))
    deliver_nwg(
        home,
        "nwg_pos_20260105.csv",
        [nwg_line(item="1"), nwg_line(item="2", upc="12AB")],
        day=6,
        contract=contract,
    )
    outcomes = run_all(home, canonical, master, contract=contract)
    product = outcomes["prod_dim"]
    assert (product.action, product.gate.verdict, product.rows_quarantined) == ("blocked", "block", 2)
    assert product.gate.blocking_rule_ids == ["prod_dim_gtin_format"]
    assert tables.read(silver_path(home, "nwg_us", "prod_dim")) is None, "a blocked batch is not written"
    blocked = tables.read(silver_quarantine_path(home, "nwg_us", "prod_dim"))
    reasons = dict(blocked.select("product_id", "quarantine_reasons").rows())
    assert reasons == {"nwg_us:1": ["blocked"], "nwg_us:2": ["blocked", "prod_dim_gtin_format"]}
    assert blocked["blocked_by"].to_list() == [["prod_dim_gtin_format"]] * 2
    fact = outcomes["daily_store_fact"]
    assert fact.action == "blocked", "facts without their product versions fail the relationship rules"
    assert "product_sk_nullValues" in fact.gate.blocking_rule_ids
    assert set(ledger_states(home, "nwg_us", "daily_store_fact").values()) == {"blocked"}
    run_all(home, canonical, master, contract=contract)
    assert tables.read(silver_quarantine_path(home, "nwg_us", "prod_dim")).height == 2, "quarantined once"


def test_silver_gate_quarantines_violating_rows_and_publishes_the_rest(home, canonical, master):
    contract = _without_bronze_gtin_rule(retailer("nwg_us"))
    tolerant = _tolerant_gtin_rule(canonical)
    lines = [nwg_line(item="1"), nwg_line(item="2", upc="012345678912"), nwg_line(item="3", upc="12AB")]
    deliver_nwg(home, "nwg_pos_20260105.csv", lines, day=6, contract=contract)
    product = publish_silver(home, contract, tolerant, master, "prod_dim", master_data=MasterData())
    assert (product.action, product.gate.verdict, product.rows_quarantined) == ("published", "quarantine", 1)
    assert sorted(tables.read(silver_path(home, "nwg_us", "prod_dim"))["product_id"]) == [
        "nwg_us:1",
        "nwg_us:2",
    ]
    quarantined = tables.read(silver_quarantine_path(home, "nwg_us", "prod_dim"))
    assert quarantined.select("product_id", "quarantine_reasons").rows() == [
        ("nwg_us:3", ["prod_dim_gtin_format"])
    ]


def test_fact_keys_missing_from_the_silver_dimensions_break_the_relationship_rules(home, canonical, master):
    """Facts take their keys from the silver dimensions, so an orphan key would be a bug: the fact
    gates of silver and gold check every key against those dimensions, and block on one."""
    deliver_nwg(home, "nwg_pos_20260105.csv", [nwg_line(item="1"), nwg_line(item="2")], day=6)
    run_all(home, canonical, master)
    facts = tables.read(silver_path(home, "nwg_us", "daily_store_fact"))
    orphan = pl.when(pl.col("product_id") == "nwg_us:2").then(pl.lit("0" * 32)).otherwise("product_sk")
    batch = facts.with_columns(orphan.alias("product_sk"))
    references = references_for(silver_dims(home, "nwg_us"), canonical)
    result = run_gate(canonical, "daily_store_fact", batch, references=references).result
    rules = {r.id: r for r in result.rules}
    product, site = rules["product_sk_relationship"], rules["site_sk_relationship"]
    assert (product.violating_rows, product.passed, site.passed) == (1, False, True)
    assert (result.verdict, result.blocking_rule_ids) == ("block", ["product_sk_relationship"])


def test_separate_dimension_and_fact_files_flow_point_in_time(home, canonical, master):
    deliver_alp(home, "products", "20260105", ["4006381333931;Tee;M;W;05.01.2026 08:00:00"], day=5)
    deliver_alp(
        home, "stores", "20260105", ["7;4012345000009;Markt 7;Ulm;BW;City;01.01.2026 08:00:00"], day=5
    )
    deliver_alp(home, "sales", "20260105", ["05.01.2026;7;4006381333931;2;3,98;;05.01.2026 21:00:00"], day=6)
    deliver_alp(home, "products", "20260106", ["4006381333931;Tee grün;M;W;06.01.2026 08:00:00"], day=6)
    deliver_alp(home, "sales", "20260106", ["06.01.2026;7;4006381333931;1;1,99;4;06.01.2026 21:00:00"], day=7)
    master_data = MasterData(
        rows={
            "site_master": pl.DataFrame(
                {"gln": ["4012345000009"], "corp_site_id": ["CS-7"], "corp_channel": ["supermarket"]}
            )
        }
    )
    outcomes = run_all(home, canonical, master, code="alp_de", master_data=master_data)
    assert outcomes["daily_store_fact"].action == "published"
    products = tables.read(silver_path(home, "alp_de", "prod_dim")).sort("valid_from")
    facts = tables.read(silver_path(home, "alp_de", "daily_store_fact")).sort("sale_date")
    assert facts["product_sk"].to_list() == products["product_sk"].to_list()
    assert facts["net_sales"].cast(pl.String).to_list() == ["3.98", "1.99"]
    sites = tables.read(silver_path(home, "alp_de", "site_dim"))
    assert sites["corp_site_id"].to_list() == ["CS-7"]
    assert outcomes["site_dim"].unmatched[0]["unmatched"] == 0


def write_master(home, name: str, text: str) -> None:
    folder = home.landing / "corporate"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")


def test_master_files_are_gated_and_enrich_dimensions_with_unmatched_keys_reported(home, canonical, master):
    write_master(
        home,
        "product_master_20260101.csv",
        "gtin,corp_product_id,corp_brand,corp_category\n00012345678905,CP-1,Fizz Corp,beverages\n",
    )
    write_master(
        home, "site_master_20260101.csv", "gln,corp_site_id,corp_channel\n0614141000012,CS-1,hypermarket\n"
    )
    deliver_nwg(
        home, "nwg_pos_20260105.csv", [nwg_line(item="1"), nwg_line(item="2", upc="012345678912")], day=6
    )
    product = publish_silver(home, retailer("nwg_us"), canonical, master, "prod_dim")
    rows = tables.read(silver_path(home, "nwg_us", "prod_dim")).sort("product_id")
    assert rows["corp_product_id"].to_list() == ["CP-1", None]
    assert product.unmatched == [
        {
            "master": "product_master",
            "key": "gtin",
            "unmatched": 1,
            "without_key": 0,
            "sample": ["012345678912"],
        }
    ]
    assert product.master_problems == []
    site = publish_silver(home, retailer("nwg_us"), canonical, master, "site_dim")
    assert tables.read(silver_path(home, "nwg_us", "site_dim"))["corp_channel"].to_list() == ["hypermarket"]
    assert site.unmatched[0]["unmatched"] == 0


def test_a_blocked_master_file_is_reported_and_not_used(home, canonical, master):
    write_master(
        home,
        "product_master_20260101.csv",
        "gtin,corp_product_id,corp_brand,corp_category\n00012345678905,CP-1,Fizz Corp,toys\n",
    )
    deliver_nwg(home, "nwg_pos_20260105.csv", [nwg_line(item="1")], day=6)
    product = publish_silver(home, retailer("nwg_us"), canonical, master, "prod_dim")
    assert product.action == "published"
    assert any("product_master_category_known" in p for p in product.master_problems)
    assert tables.read(silver_path(home, "nwg_us", "prod_dim"))["corp_product_id"].to_list() == [None]


LKS_HEADER = ",".join(
    [
        "SaleDate",
        "StoreID",
        "StoreGLN",
        "StoreName",
        "City",
        "Province",
        "Banner",
        "ItemCode",
        "GTIN",
        "ItemDescription",
        "Brand",
        "Units",
        "NetSales",
    ]
)


def test_a_weekly_file_with_every_day_feeds_daily_facts_and_their_weekly_roll_up(home, canonical, master):
    days = [f"2026-01-{d:02d}" for d in range(5, 12)]  # Monday 5 to Sunday 11 January
    lines = [
        f"{day},9,,Lake,Toronto,ON,Fresh,I1,00012345678905,Milk,B,{i + 1},{i + 1}.50"
        for i, day in enumerate(days)
    ]
    outcome = deliver(
        home,
        retailer("lks_ca"),
        "weekly_sales",
        "lakeshore_week_2026-01-11.csv",
        lines,
        header=LKS_HEADER,
        at=datetime(2026, 1, 12, 7, tzinfo=UTC),
    )
    assert outcome.entry.verdict in ("pass", "warn")
    outcomes = run_all(home, canonical, master, code="lks_ca")
    assert {o.action for o in outcomes.values()} == {"published"}
    daily = tables.read(silver_path(home, "lks_ca", "daily_store_fact"))
    assert daily.height == 7 and set(daily["updated_at"]) == {datetime(2026, 1, 12, 5, tzinfo=UTC)}
    weekly = tables.read(silver_path(home, "lks_ca", "weekly_store_fact"))
    assert weekly.select("week_end_date", "units_sold", "net_sales").rows() == [
        (date(2026, 1, 11), Decimal("28.000"), Decimal("31.50"))
    ]


def test_a_weekly_retailer_with_one_week_end_date_feeds_weekly_facts_only(home, canonical, master):
    columns = [
        "fecha_fin_semana",
        "sucursal",
        "nombre_sucursal",
        "localidad",
        "provincia",
        "codigo_producto",
        "codigo_barras",
        "descripcion",
        "marca",
        "rubro",
        "unidades",
        "venta_neta",
        "actualizado",
    ]
    rows = [
        [
            "11/01/2026",
            "3",
            "Centro",
            "Rosario",
            "SF",
            f"P{i}",
            "7790001000011",
            "Yerba",
            "Y",
            "almacen",
            str(10 + i),
            "15000.5",
            "12/01/2026 10:30",
        ]
        for i in range(2)
    ]
    folder = home.landing_for("pmp_ar")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "pampa_ventas_20260111.xlsx"
    pl.DataFrame(rows, schema=columns, orient="row").write_excel(path, worksheet="Ventas")
    contract = retailer("pmp_ar")
    ingest(
        home,
        contract,
        landing_delivery(contract, "ventas_semanales", path),
        now=datetime(2026, 1, 12, tzinfo=UTC),
    )
    outcomes = {
        obj: publish_silver(home, contract, canonical, master, obj, master_data=MasterData())
        for obj in ("prod_dim", "site_dim", "weekly_store_fact")
    }
    assert {o.action for o in outcomes.values()} == {"published"}
    weekly = tables.read(silver_path(home, "pmp_ar", "weekly_store_fact")).sort("product_id")
    assert weekly["week_end_date"].to_list() == [date(2026, 1, 11)] * 2
    assert weekly["currency"].to_list() == ["ARS", "ARS"]
    assert set(weekly["product_sk"]) == set(
        tables.read(silver_path(home, "pmp_ar", "prod_dim"))["product_sk"]
    )
    assert tables.read(silver_path(home, "pmp_ar", "daily_store_fact")) is None
