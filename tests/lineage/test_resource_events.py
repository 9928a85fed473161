"""Events emitted through the real Dagster resource: run cycle, parent run, and valid against the schemas."""

import json
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from assets.definitions.column_lineage import dagster_column_lineage
from assets.definitions.resources.openlineage import OpenLineageResource
from assets.lineage.datasets import bronze_output, checked, gold_lineage, silver_lineage, source_dataset
from assets.lineage.emit import LineageEmitter, make_client
from assets.lineage.facets import DATA_CONTRACT_FACET, FRESHNESS_FACET, table_metrics
from assets.lineage.naming import DatasetId
from assets.plan import build_plan
from checks.contract import load_contract
from shelfguard.settings import DataHome
from tests.lineage.pipeline import emit_pipeline, gate_result
from tests.lineage.validation import EventValidator

REPO_ROOT = Path(__file__).resolve().parents[2]
NWG_US = REPO_ROOT / "contracts" / "retailers" / "nwg_us" / "nwg_us.odcs.yaml"


def read_events(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


def bronze_asset() -> dg.AssetsDefinition:
    """A bronze asset as the pipeline writes one: a delivery in, its gate and metrics on the input."""
    contract = load_contract(NWG_US)

    @dg.asset(key=["bronze", "nwg_us__pos_daily"])
    def pos_daily(context: dg.AssetExecutionContext, openlineage: OpenLineageResource) -> None:
        home = DataHome.from_env()
        delivered = home.landing_for("nwg_us") / "nwg_pos_20240102.csv"
        frame = pl.DataFrame({"business_date": ["01/02/2024", None], "sales_cents": [125, 250]})
        with openlineage.run(context, inputs=[source_dataset(contract, "pos_daily", delivered)]) as run:
            source = source_dataset(contract, "pos_daily", delivered, gate=gate_result(contract, "pos_daily"),
                                    metrics=table_metrics(frame, file_count=1))
            run.complete(inputs=[source], outputs=[bronze_output(contract, "pos_daily", home, [source])])

    return pos_daily


@dg.asset(key=["silver", "nwg_us__prod_dim"])
def failing(context: dg.AssetExecutionContext, openlineage: OpenLineageResource) -> None:
    with openlineage.run(context):
        raise RuntimeError("cannot read postgresql://etl:pw-12345@db.example/pos")


def test_materialisation_is_one_run_with_the_dagster_run_as_parent(shelfguard_home: Path):
    result = dg.materialize([bronze_asset()], resources={"openlineage": OpenLineageResource()})
    start, complete = read_events(DataHome.from_env().lineage_file)
    assert (start["eventType"], complete["eventType"]) == ("START", "COMPLETE")
    assert start["run"]["runId"] == complete["run"]["runId"] != result.run_id
    for event in (start, complete):
        assert event["job"] == {"namespace": "shelfguard", "name": "bronze.nwg_us__pos_daily",
                                "facets": {"jobType": event["job"]["facets"]["jobType"]}}
        job_type = event["job"]["facets"]["jobType"]
        assert (job_type["processingType"], job_type["integration"], job_type["jobType"]) == (
            "BATCH", "DAGSTER", "ASSET")
        parent = event["run"]["facets"]["parent"]
        assert parent["run"]["runId"] == result.run_id
        assert parent["job"]["name"] == result.dagster_run.job_name
        assert parent["job"]["namespace"] == "shelfguard"
        assert parent["root"]["run"]["runId"] == result.run_id
    (source,) = complete["inputs"]
    assert set(source["inputFacets"]) == {"dataQualityAssertions", "dataQualityMetrics"}
    assert source["inputFacets"]["dataQualityMetrics"]["columnMetrics"]["business_date"]["nullCount"] == 1
    assert "inputFacets" not in start["inputs"][0] or not start["inputs"][0]["inputFacets"]
    (output,) = complete["outputs"]
    assert output["name"] == str(DataHome.from_env().table("bronze", "nwg_us__pos_daily"))
    assert {"schema", "columnLineage", "ownership", "documentation", DATA_CONTRACT_FACET,
            FRESHNESS_FACET} <= set(output["facets"])


def test_a_failing_asset_emits_fail_with_the_error_and_no_credentials(shelfguard_home: Path):
    result = dg.materialize([failing], resources={"openlineage": OpenLineageResource(namespace="pos")},
                            raise_on_error=False)
    assert not result.success
    text = DataHome.from_env().lineage_file.read_text("utf-8")
    start, fail = (json.loads(line) for line in text.splitlines())
    assert (start["eventType"], fail["eventType"]) == ("START", "FAIL")
    assert fail["run"]["runId"] == start["run"]["runId"] and fail["job"]["namespace"] == "pos"
    error = fail["run"]["facets"]["errorMessage"]
    assert error["programmingLanguage"] == "PYTHON"
    assert error["message"] == "RuntimeError: cannot read postgresql://***@db.example/pos"
    assert "pw-12345" not in text


def test_direct_invocation_has_no_dagster_run_to_point_at(shelfguard_home: Path):
    bronze_asset()(dg.build_asset_context(), openlineage=OpenLineageResource())
    start, complete = read_events(DataHome.from_env().lineage_file)
    assert "parent" not in start["run"]["facets"] and complete["eventType"] == "COMPLETE"


def test_every_event_validates_against_the_openlineage_and_our_schemas(shelfguard_home: Path,
                                                                       contracts_dir: Path):
    home = DataHome.from_env().ensure()
    dg.materialize([bronze_asset()], resources={"openlineage": OpenLineageResource()})
    dg.materialize([failing], resources={"openlineage": OpenLineageResource()}, raise_on_error=False)
    plan = build_plan(contracts_dir)
    emitter = LineageEmitter(make_client(home.lineage_file))
    emit_pipeline(emitter, plan, home, "20240102")
    _, (gold,) = gold_lineage(plan, ("gold", "daily_store_fact"), home)
    gate = gate_result(plan.canonical, "daily_store_fact")
    gate_input = checked(DatasetId(gold.namespace, gold.name), gate,
                         table_metrics(pl.DataFrame({"net_sales": [1.0, None]})))
    with emitter.run("gold.daily_store_fact.gate", [gate_input]):
        pass
    events = read_events(home.lineage_file)
    validator = EventValidator()
    problems = {f"{e['job']['name']} {e['eventType']}: {p}" for e in events for p in validator.errors(e)}
    assert not problems
    assert {e["eventType"] for e in events} == {"START", "COMPLETE", "FAIL"}
    facet_keys = {key for e in events for d in e.get("inputs", []) + e.get("outputs", [])
                  for key in {**d.get("facets", {}), **d.get("inputFacets", {})}}
    assert {"schema", "columnLineage", "dataQualityAssertions", "dataQualityMetrics", "ownership",
            "documentation", DATA_CONTRACT_FACET, FRESHNESS_FACET} <= facet_keys


@pytest.mark.parametrize(("where", "damage", "expected"), [
    ("inputFacets", lambda f: f["dataQualityAssertions"]["assertions"][0].pop("success"),
     "'success' is a required"),
    ("facets", lambda f: f[DATA_CONTRACT_FACET].pop("id"), "'id' is a required"),
    ("facets", lambda f: f[FRESHNESS_FACET].update(sla="daily"), "is not of type 'array'"),
    ("facets", lambda f: f["schema"].update(_schemaURL="https://example.com/Unknown.json#/x"),
     "no local schema"),
    ("facets", lambda f: f["schema"].update(
        _schemaURL=f["schema"]["_schemaURL"].replace("/1-2-0/", "/1-0-0/")), "another version"),
    ("facets", lambda f: f[DATA_CONTRACT_FACET].update(
        _schemaURL=f[DATA_CONTRACT_FACET]["_schemaURL"].replace("/1-0-0/", "/2-0-0/")), "another version"),
])
def test_the_validator_finds_broken_facets(tmp_path: Path, where: str, damage, expected: str):
    contract = load_contract(NWG_US)
    events_file = tmp_path / "events.ndjson"
    source = source_dataset(contract, "pos_daily", tmp_path / "nwg_pos_20240102.csv",
                            gate=gate_result(contract, "pos_daily"))
    with LineageEmitter(make_client(events_file)).run("bronze.nwg_us__pos_daily", [source]):
        pass
    start = read_events(events_file)[0]
    assert EventValidator().errors(start) == []
    damage(start["inputs"][0][where])
    assert any(expected in problem for problem in EventValidator().errors(start))


def test_the_validator_finds_an_event_of_another_openlineage_version(tmp_path: Path):
    events_file = tmp_path / "events.ndjson"
    with LineageEmitter(make_client(events_file)).run("bronze.nwg_us__pos_daily"):
        pass
    start = read_events(events_file)[0]
    start["schemaURL"] = start["schemaURL"].replace("/2-0-2/", "/1-0-5/")
    assert EventValidator().errors(start) == [
        "event: _schemaURL https://openlineage.io/spec/1-0-5/OpenLineage.json#/$defs/RunEvent does not match "
        "the local schema https://openlineage.io/spec/2-0-2/OpenLineage.json (another version)"]


def test_dagster_column_lineage_names_the_upstream_assets_columns(contracts_dir: Path, tmp_path: Path):
    home = DataHome(tmp_path / "home")
    plan = build_plan(contracts_dir)
    _, (silver,) = silver_lineage(plan, ("silver", "nwg_us__daily_store_fact"), home)
    lineage = dagster_column_lineage(silver, plan, home)
    assert lineage.deps_by_column["net_sales"] == [
        dg.TableColumnDep(asset_key=["bronze", "nwg_us__pos_daily"], column_name="sales_cents")]
    assert lineage.deps_by_column["site_sk"] == [
        dg.TableColumnDep(asset_key=["silver", "nwg_us__site_dim"], column_name="site_sk")]
    _, (gold,) = gold_lineage(plan, ("gold", "daily_store_fact"), home)
    assert {d.asset_key for d in dagster_column_lineage(gold, plan, home).deps_by_column["units_sold"]} == {
        dg.AssetKey(["silver", f"{code}__daily_store_fact"]) for code in ("alp_de", "nwg_us")}
