"""Lineage of the real generated assets, run through Dagster on demo data of two retailers.

One module-wide run: bronze, then a silver asset that fails (an unknown gate engine), then silver
and gold. What the Dagster UI shows (column lineage, contract links, the source assets) and what
the OpenLineage events say (gate jobs, their assertions and metrics, datasets at START and FAIL).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import dagster as dg
import pytest

from assets.definitions import build_definitions
from assets.definitions.bronze import op_name
from assets.plan import build_plan
from shelfguard.demo_data import generate
from shelfguard.settings import DataHome
from tests.lineage.conftest import RETAILERS, copy_contracts
from tests.lineage.validation import EventValidator

FAILING = dg.AssetKey(["silver", "nwg_us__prod_dim"])


class Run:
    """What the module's pipeline run left: the definitions, the materialisations and the events."""

    def __init__(self, contracts: Path, defs: dg.Definitions, results: list[dg.ExecuteInProcessResult],
                 home: DataHome) -> None:
        self.plan = build_plan(contracts)
        self.defs = defs
        self.results = results
        self.home = home
        self.events = [json.loads(line) for line in home.lineage_file.read_text("utf-8").splitlines()]

    def materializations(self) -> dict[dg.AssetKey, dg.AssetMaterialization]:
        return {event.asset_key: event.materialization
                for result in self.results for event in result.get_asset_materialization_events()}

    def runs(self, job_name: str) -> list[list[dict]]:
        """The events of each OpenLineage run of the job, in order."""
        by_run: dict[str, list[dict]] = {}
        for event in self.events:
            if event["job"]["name"] == job_name:
                by_run.setdefault(event["run"]["runId"], []).append(event)
        return list(by_run.values())


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Run:
    with pytest.MonkeyPatch.context() as patch:
        root = tmp_path_factory.mktemp("lineage_assets")
        patch.setenv("SHELFGUARD_HOME", str(root / "home"))
        for name in [n for n in os.environ if n.startswith("OPENLINEAGE")]:
            patch.delenv(name)
        home = DataHome.from_env().ensure()
        generate(home, days=2, stores=1, products=2, retailers=list(RETAILERS))
        contracts = copy_contracts(root / "contracts")
        defs = build_definitions(contracts)
        job = defs.resolve_implicit_global_asset_job_def()
        instance = dg.DagsterInstance.ephemeral()
        keys = defs.get_repository_def().asset_graph.get_all_asset_keys()
        bronze = [k for k in keys if k.path[0] == "bronze"]
        downstream = [k for k in keys if k.path[0] in ("silver", "gold")]
        results = [job.execute_in_process(instance=instance, asset_selection=bronze)]
        failing = job.execute_in_process(
            instance=instance, asset_selection=[FAILING], raise_on_error=False,
            run_config={"ops": {op_name(FAILING): {"config": {"engine": "no-such-engine"}}}})
        assert not failing.success
        results.append(job.execute_in_process(instance=instance, asset_selection=downstream))
        assert all(result.success for result in results)
        yield Run(contracts, defs, results, home)


def test_every_source_is_an_external_asset_upstream_of_its_bronze_asset(pipeline: Run):
    specs = {spec.key: spec for spec in pipeline.defs.resolve_all_asset_specs()}
    graph = pipeline.defs.get_repository_def().asset_graph
    bronze = [key for key in specs if key.path[0] == "bronze"]
    assert bronze
    for key in bronze:
        source = dg.AssetKey(["source", *key.path[1:]])
        assert {dep.asset_key for dep in specs[key].deps} == {source}
        spec = specs[source]
        assert spec.group_name == specs[key].group_name and not graph.get(source).is_materializable
        assert spec.kinds == {"csv"} and spec.owners == specs[key].owners and spec.description
        assert spec.metadata["contract"] == specs[key].metadata["contract"]
    nwg = specs[dg.AssetKey(["source", "nwg_us__pos_daily"])]
    assert "Web upload portal" in nwg.description


def test_every_asset_materialisation_carries_column_lineage_and_its_contract(pipeline: Run):
    materialized = pipeline.materializations()
    specs = {spec.key: spec for spec in pipeline.defs.resolve_all_asset_specs()}
    layers = {key.path[0] for key in materialized}
    assert layers == {"bronze", "silver", "gold"}
    assert set(materialized) == {k for k in specs if k.path[0] != "source"}, "every asset ran"
    for key, materialization in materialized.items():
        lineage = materialization.metadata["dagster/column_lineage"].value
        assert lineage.deps_by_column, f"{key.to_user_string()} has no column lineage"
        assert {dep.asset_key for deps in lineage.deps_by_column.values() for dep in deps} <= set(specs)
        assert materialization.metadata["contract"] == specs[key].metadata["contract"]
        assert Path(materialization.metadata["contract"].value).is_file()
    pos_daily = materialized[dg.AssetKey(["bronze", "nwg_us__pos_daily"])].metadata
    source = dg.AssetKey(["source", "nwg_us__pos_daily"])
    assert pos_daily["dagster/column_lineage"].value.deps_by_column["sales_cents"] == [
        dg.TableColumnDep(asset_key=source, column_name="sales_cents")]


def _assertion_columns(dataset: dict) -> set[str]:
    assertions = (dataset.get("inputFacets") or {}).get("dataQualityAssertions", {}).get("assertions", [])
    return {a["column"] for a in assertions if a.get("column")}


def _schema_columns(dataset: dict) -> set[str]:
    return {field["name"] for field in dataset["facets"]["schema"]["fields"]}


def test_every_assertion_sits_on_a_dataset_that_has_its_column(pipeline: Run):
    checked = [d for e in pipeline.events for d in e.get("inputs", []) if _assertion_columns(d)]
    assert {d["facets"]["shelfguard_dataContract"]["id"] for d in checked} >= {
        "urn:shelfguard:canonical:pos", "urn:shelfguard:retailer:nwg_us"}
    for dataset in checked:
        assert _assertion_columns(dataset) <= _schema_columns(dataset), dataset["name"]


def test_silver_and_gold_gates_are_jobs_whose_input_is_the_gated_batch(pipeline: Run):
    asset_jobs = [".".join(node.key) for node in pipeline.plan.nodes if node.layer in ("silver", "gold")]
    dagster_run = pipeline.results[-1].run_id
    for job in asset_jobs:
        (asset_run,) = [events for events in pipeline.runs(job) if events[0]["run"]["facets"]["parent"]
                        ["run"]["runId"] == dagster_run]
        complete = asset_run[-1]
        assert complete["eventType"] == "COMPLETE"
        assert not any("dataQualityAssertions" in (i.get("inputFacets") or {}) for i in complete["inputs"]), (
            "the gate's results are on the gate job, not on the asset's inputs")
        gate_runs = [events for events in pipeline.runs(f"{job}.gate")
                     if events[0]["run"]["facets"]["parent"]["run"]["runId"] == complete["run"]["runId"]]
        assert gate_runs, f"{job} has no gate run"
        for start, gate_complete in gate_runs:
            assert (start["eventType"], gate_complete["eventType"]) == ("START", "COMPLETE")
            assert gate_complete["job"]["facets"]["jobType"]["jobType"] == "ASSET_CHECK"
            parent = gate_complete["run"]["facets"]["parent"]
            assert parent["job"]["name"] == job and parent["root"]["run"]["runId"] == dagster_run
            (batch,) = gate_complete["inputs"]
            (output,) = complete["outputs"]
            assert (batch["namespace"], batch["name"]) == (output["namespace"], output["name"])
            assert [(d["name"], d.get("inputFacets") or {}) for d in start["inputs"]] == [(batch["name"], {})]
            assertions = batch["inputFacets"]["dataQualityAssertions"]["assertions"]
            assert assertions and _assertion_columns(batch) <= _schema_columns(batch)
            metrics = batch["inputFacets"]["dataQualityMetrics"]
            assert metrics["rowCount"] > 0
            not_null = {a["column"] for a in assertions
                        if a["assertion"] == "not_null" and a["params"]["outcome"] != "not_evaluated"}
            assert not_null and set(metrics["columnMetrics"]) == not_null
            assert gate_complete.get("outputs", []) == []


def test_silver_and_gold_name_their_datasets_at_start_so_a_failure_carries_them(pipeline: Run):
    for node in pipeline.plan.nodes:
        if node.layer not in ("silver", "gold"):
            continue
        for events in pipeline.runs(".".join(node.key)):
            assert events[0]["eventType"] == "START"
            assert events[0]["inputs"] and events[0]["outputs"], f"{node.key} START names no datasets"
    (start, fail) = pipeline.runs(".".join(FAILING.path))[0]
    assert fail["eventType"] == "FAIL"
    assert "no-such-engine" in fail["run"]["facets"]["errorMessage"]["message"]
    assert [d["name"] for d in fail["outputs"]] == [str(pipeline.home.table("silver", "nwg_us__prod_dim"))]
    assert str(pipeline.home.table("bronze", "nwg_us__pos_daily")) in {d["name"] for d in fail["inputs"]}


def test_every_event_of_the_run_validates(pipeline: Run):
    validator = EventValidator()
    problems = [f"{e['job']['name']} {e['eventType']}: {p}"
                for e in pipeline.events for p in validator.errors(e)]
    assert problems == []
