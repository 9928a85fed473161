"""Dataset names follow the OpenLineage naming conventions; facets say what the contracts say."""

from __future__ import annotations

from pathlib import Path

import pytest

from assets.lineage.datasets import LineageError, silver_lineage, source_id
from assets.lineage.facets import (
    DATA_CONTRACT_FACET,
    FRESHNESS_FACET,
    assertions_facet,
    contract_facets,
    table_metrics,
)
from assets.lineage.naming import DatasetId, api_dataset, database_dataset, file_dataset
from assets.plan import build_plan
from checks.contract import load_contract
from checks.result import ContractRef, GateResult, RuleResult
from shelfguard.settings import DataHome

REPO_ROOT = Path(__file__).resolve().parents[2]
RETAILERS = REPO_ROOT / "contracts" / "retailers"


def test_local_files_are_namespace_file_with_the_absolute_path(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    assert file_dataset("landing/x.csv") == DatasetId("file", str(tmp_path.resolve() / "landing" / "x.csv"))
    assert file_dataset("file:///data/x.csv") == DatasetId("file", "/data/x.csv")
    assert file_dataset("s3://bucket/gold/prod_dim") == DatasetId("s3://bucket", "gold/prod_dim")
    assert DatasetId("file", "/a").node_id == "dataset:file:/a"


def test_database_names_never_carry_credentials(tmp_path: Path):
    sqlite = database_dataset(f"sqlite:///{tmp_path}/crl_au.sqlite", "sales")
    assert sqlite == DatasetId(f"sqlite://{tmp_path.resolve()}/crl_au.sqlite", "sales")
    postgres = database_dataset("postgresql+psycopg://etl:s3cr3t-pw@db.example:6543/pos?ssl=1", "sales")
    assert postgres == DatasetId("postgres://db.example:6543", "pos.public.sales")
    assert "s3cr3t" not in postgres.namespace + postgres.name
    mysql = database_dataset("mysql://u:p@db.example/pos", "sales")
    assert mysql == DatasetId("mysql://db.example:3306", "pos.sales")


def test_api_names_are_host_and_path_without_query_or_user():
    local = api_dataset("http://127.0.0.1:8765/v1", "/produkter")
    assert local == DatasetId("http://127.0.0.1:8765", "/v1/produkter")
    remote = api_dataset("https://u:tok@api.example/v1/", "/v1/sales?token=abc")
    assert remote == DatasetId("https://api.example", "/v1/sales")


def test_sources_are_named_from_the_contract_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    database = load_contract(RETAILERS / "crl_au" / "crl_au.odcs.yaml")
    monkeypatch.setenv("CRL_AU_DATABASE_URL", f"sqlite:///{tmp_path}/crl_au.sqlite")
    assert source_id(database, "sales") == DatasetId(f"sqlite://{tmp_path}/crl_au.sqlite", "sales")
    api = load_contract(RETAILERS / "fjd_no" / "fjd_no.odcs.yaml")
    monkeypatch.setenv("FJD_NO_API_URL", "http://127.0.0.1:9999/v1")
    assert source_id(api, "produkter") == DatasetId("http://127.0.0.1:9999", "/v1/produkter")
    landing = load_contract(RETAILERS / "nwg_us" / "nwg_us.odcs.yaml")
    with pytest.raises(LineageError, match="delivered file"):
        source_id(landing, "pos_daily")


def test_contract_facets_carry_schema_owners_docs_contract_and_sla():
    contract = load_contract(RETAILERS / "nwg_us" / "nwg_us.odcs.yaml")
    facets = contract_facets(contract, "pos_daily", extra_fields=[("_delivery_id", "VARCHAR")])
    fields = facets["schema"].fields
    assert [f.name for f in fields][:2] == ["business_date", "store_nbr"]
    assert fields[-1].name == "_delivery_id" and fields[-1].ordinal_position == len(fields)
    assert fields[0].type == "VARCHAR"
    owners = {(o.name, o.type) for o in facets["ownership"].owners}
    assert ("user:retail-americas@shelfguard.example", "OWNER") in owners
    assert ("team:nwg-us-onboarding", "TEAM") in owners
    assert "Northwind Grocers" in facets["documentation"].description
    contract_facet = facets[DATA_CONTRACT_FACET]
    assert contract_facet.id == "urn:shelfguard:retailer:nwg_us"
    assert contract_facet.path == "contracts/retailers/nwg_us/nwg_us.odcs.yaml"
    assert (contract_facet.status, contract_facet.object) == ("active", "pos_daily")
    freshness = facets[FRESHNESS_FACET]
    assert freshness.timezone == "America/New_York"
    assert freshness.sla[0]["schedule"] == "0 6 * * *"


def test_every_gate_rule_becomes_an_assertion_from_the_model_or_its_json():
    gate = GateResult(
        contract=ContractRef(id="urn:x", version="1.0.0", path="contracts/x.odcs.yaml"), object="pos_daily",
        engine="pandera", rows=200, rows_published=190, rows_quarantined=10, verdict="quarantine",
        rules=[
            RuleResult(id="nwg_upc_format", property="upc", metric="invalidValues", on_violation="quarantine",
                       unit="percent", value=5.0, threshold={"mustBeLessThan": 5}, violating_rows=10,
                       passed=False, outcome="fail", message="10 rows with an invalid UPC"),
            RuleResult(id="upc_nullValues", property="upc", metric="nullValues", on_violation="block",
                       value=0, threshold={"mustBe": 0}, passed=True, outcome="pass"),
            RuleResult(id="notes", metric="text", on_violation="warn", outcome="not_evaluated"),
            RuleResult(id="qty_pattern", property="qty", metric="invalidValues", on_violation="quarantine",
                       unit="percent", value=1.0, threshold={"mustBeLessThan": 5}, violating_rows=2,
                       passed=True, outcome="pass", message="2 rows quarantined"),
        ],
    )
    facet = assertions_facet(gate)
    assert facet == assertions_facet(gate.model_dump(mode="json"))
    upc, nulls, text, quarantined = facet.assertions
    assert not quarantined.success and quarantined.params["outcome"] == "pass"
    assert (upc.assertion, upc.column, upc.success) == ("valid_values", "upc", False)
    assert (upc.expected, upc.actual) == ("mustBeLessThan 5 percent", "5.0 percent")
    assert upc.severity == "quarantine"
    assert upc.params["violatingRows"] == 10
    assert (nulls.assertion, nulls.success, nulls.severity) == ("not_null", True, "error")
    assert text.success and text.params["outcome"] == "not_evaluated" and text.column is None


def test_table_metrics_count_rows_and_nulls():
    import polars as pl

    facet = table_metrics(pl.DataFrame({"a": [1, None, 3], "b": ["x", None, None]}))
    assert facet.rowCount == 3
    assert {k: v.nullCount for k, v in facet.columnMetrics.items()} == {"a": 1, "b": 2}


def test_silver_column_lineage_follows_the_canonical_mapping(contracts_dir: Path, tmp_path: Path):
    home = DataHome(tmp_path / "home")
    plan = build_plan(contracts_dir)
    inputs, (output,) = silver_lineage(plan, ("silver", "nwg_us__daily_store_fact"), home)
    bronze = str(home.table("bronze", "nwg_us__pos_daily"))
    assert {i.name for i in inputs} == {bronze, str(home.table("silver", "nwg_us__prod_dim")),
                                        str(home.table("silver", "nwg_us__site_dim"))}
    fields = output.facets["columnLineage"].fields
    (net_sales,) = fields["net_sales"].inputFields
    assert (net_sales.name, net_sales.field) == (bronze, "sales_cents")
    (transformation,) = net_sales.transformations
    assert (transformation.type, transformation.subtype) == ("DIRECT", "TRANSFORMATION")
    assert "cents_to_units" in transformation.description
    (product_id,) = fields["product_id"].inputFields
    assert product_id.field == "item_nbr" and "prefixed" in product_id.transformations[0].description
    (site_sk,) = fields["site_sk"].inputFields
    assert (site_sk.name, site_sk.field) == (str(home.table("silver", "nwg_us__site_dim")), "site_sk")
    assert fields["units_sold"].inputFields[0].transformations[0].subtype == "IDENTITY"
    (delivery_id,) = fields["delivery_id"].inputFields
    assert (delivery_id.name, delivery_id.field) == (bronze, "_delivery_id")


def test_silver_dimensions_read_the_corporate_master(contracts_dir: Path, tmp_path: Path):
    home = DataHome(tmp_path / "home")
    plan = build_plan(contracts_dir)
    master_file = home.landing / "corporate" / "product_master_2024.csv"
    inputs, (output,) = silver_lineage(plan, ("silver", "nwg_us__prod_dim"), home,
                                       master_files={"product_master": master_file})
    master = next(i for i in inputs if i.name == str(master_file))
    assert master.facets["shelfguard_dataContract"].id == plan.master.id
    fields = output.facets["columnLineage"].fields
    (corp_id,) = fields["corp_product_id"].inputFields
    assert (corp_id.name, corp_id.field) == (str(master_file), "corp_product_id")
    assert "matched by gtin" in corp_id.transformations[0].description
    bronze = str(home.table("bronze", "nwg_us__pos_daily"))
    assert {(f.name, f.field) for f in fields["product_sk"].inputFields} == {(bronze, "item_nbr"),
                                                                            (bronze, "last_modified")}
