"""The Spark steps as a Pipes job: run here under a subprocess Pipes client (what runs on Databricks
runs the same entry point), and the Databricks job spec the Databricks client submits."""

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
from databricks.sdk.service import jobs

from assets.definitions.gating import CheckedBatch, check_results, check_specs
from assets.definitions.spark_jobs import (
    DatabricksSparkJob,
    SparkJobLauncher,
    SubprocessSparkJob,
    databricks_task_spec,
    run_spark_job,
    spark_job_from_env,
)
from assets.spark_job import ENTRY_POINT
from checks.contract import load_contract
from checks.rules import compile_rules

REPO = Path(__file__).resolve().parents[2]
FIXTURE = REPO / "tests" / "fixtures" / "odcs" / "string_options"
CONTRACT = FIXTURE / "contract.odcs.yaml"
KEY = dg.AssetKey(["bronze", "fixture__customers"])


def gated_asset(extras: dict) -> dg.AssetsDefinition:
    contract = load_contract(CONTRACT)
    rules = compile_rules(contract, "customers")

    @dg.asset(key=KEY, check_specs=check_specs(rules, KEY))
    def customers(context: dg.AssetExecutionContext, spark_job: SparkJobLauncher):
        yield from run_spark_job(context, spark_job, extras, rules=rules, contract=contract)

    return customers


def local_check_results() -> dict[str, dg.AssetCheckResult]:
    """The same delivery gated in this process, turned into check results as bronze does."""
    from assets.bronze.ingest import gate_delivery, read_delivery
    from checks.samples import violating_sample

    contract = load_contract(CONTRACT)
    frame = read_delivery(contract, "customers", FIXTURE / "data.csv")
    gate = gate_delivery(contract, "customers", frame, engine="pandera")
    batch = CheckedBatch(label="data.csv", result=gate.result, violating_sample=violating_sample(frame, gate),
                         source=str(FIXTURE / "data.csv"))
    return {r.check_name: r for r in check_results(compile_rules(contract, "customers"), [batch], contract,
                                                    "pandera")}


@pytest.mark.spark
@pytest.mark.parametrize("engine", ["pandera", "spark"])
def test_pipes_job_reports_materialisation_and_the_same_checks_as_a_local_gate(engine: str) -> None:
    """The job gates on `engine` (spark: on the job's own Sail); the checks equal pandera's here."""
    extras = {"step": "gate", "contract": str(CONTRACT), "object": "customers",
              "data": str(FIXTURE / "data.csv"), "engine": engine}
    result = dg.materialize([gated_asset(extras)], resources={"spark_job": SubprocessSparkJob()},
                            instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    materialization = result.asset_materializations_for_node("bronze__fixture__customers")[0]
    assert materialization.metadata["verdict"].value == "quarantine"
    assert materialization.metadata["rows_quarantined"].value == 3
    assert materialization.metadata["rows"].value == 5
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    expected = local_check_results()
    assert set(evaluations) == set(expected)
    for name, local in expected.items():
        remote = evaluations[name]
        assert remote.passed == local.passed, name
        assert remote.severity == local.severity, name
        for field in ("value", "violating_rows", "rows_checked", "delivery_id", "violating_sample"):
            assert (remote.metadata.get(field) is None) == (field not in local.metadata), (name, field)
            if field in local.metadata:
                assert remote.metadata[field] == dg.MetadataValue.normalize(local.metadata[field]) \
                    if not isinstance(local.metadata[field], dg.MetadataValue) \
                    else remote.metadata[field] == local.metadata[field], (name, field)
    assert {e.metadata["engine"].value for e in evaluations.values()} == {engine}
    assert evaluations["code_pattern"].metadata["violating_rows"].value == 1
    assert "ab12" in evaluations["code_pattern"].metadata["violating_sample"].value


@pytest.mark.spark
def test_failing_job_fails_the_run_with_its_reason() -> None:
    extras = {"step": "no_such_step"}
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize([gated_asset(extras)], resources={"spark_job": SubprocessSparkJob()},
                            instance=instance, raise_on_error=False)
    assert not result.success
    assert any(e.event_type_value == "STEP_FAILURE" for e in result.all_events)
    # the job's own exception, reported through Pipes, is in the run's events
    closed = next(entry.dagster_event for entry in instance.all_logs(result.run_id)
                  if "pipes closed with exception" in entry.user_message)
    assert "unknown spark job step 'no_such_step'; known steps: gate" in \
        closed.event_specific_data.error.to_string()


def test_entry_point_outside_pipes_says_so_in_one_line() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DAGSTER_PIPES")}
    done = subprocess.run([str(Path(sys.executable).with_name(ENTRY_POINT))], capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"{ENTRY_POINT}: not launched by Dagster Pipes (no DAGSTER_PIPES_CONTEXT); see docs/spark-jobs.md"]


NEW_CLUSTER = {"spark_version": "15.4.x-scala2.12", "node_type_id": "i3.xlarge", "num_workers": 2}


def test_databricks_task_is_a_valid_submit_task_of_our_wheel() -> None:
    from importlib.metadata import version

    spec = databricks_task_spec(step="gate", wheel="dbfs:/shelfguard/shelfguard-0.1.0-py3-none-any.whl",
                                new_cluster=NEW_CLUSTER)
    task = jobs.SubmitTask.from_dict(spec)
    assert task.as_dict() == spec  # every field is one the Jobs API knows
    assert task.python_wheel_task.package_name == "shelfguard"
    assert task.python_wheel_task.entry_point == ENTRY_POINT
    assert task.new_cluster.spark_version == "15.4.x-scala2.12" and task.existing_cluster_id is None
    assert [lib.as_dict() for lib in task.libraries] == [
        {"whl": "dbfs:/shelfguard/shelfguard-0.1.0-py3-none-any.whl"},
        {"pypi": {"package": f"dagster-pipes=={version('dagster-pipes')}"}}]
    existing = jobs.SubmitTask.from_dict(databricks_task_spec(step="gate", wheel="dbfs:/w.whl",
                                                              existing_cluster_id="0123-456789-abc"))
    assert existing.existing_cluster_id == "0123-456789-abc" and existing.new_cluster is None
    # the console script Databricks runs is the one our wheel declares
    import tomllib

    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts[ENTRY_POINT] == "assets.spark_job:main"
    with pytest.raises(ValueError, match="needs a cluster"):
        databricks_task_spec(step="gate", wheel="dbfs:/w.whl")
    with pytest.raises(ValueError, match="wheel"):
        databricks_task_spec(step="gate", wheel="", new_cluster=NEW_CLUSTER)


def test_databricks_job_chosen_by_environment_with_secrets_as_env_vars() -> None:
    import json

    assert isinstance(spark_job_from_env({}), SubprocessSparkJob)
    launcher = spark_job_from_env({
        "SHELFGUARD_SPARK": "databricks-job", "SHELFGUARD_DATABRICKS_WHEEL": "dbfs:/w.whl",
        "SHELFGUARD_DATABRICKS_NEW_CLUSTER": json.dumps(NEW_CLUSTER), "DATABRICKS_TOKEN": "dapi-secret"})
    assert isinstance(launcher, DatabricksSparkJob)
    assert isinstance(launcher.token, dg.EnvVar) and launcher.token.env_var_name == "DATABRICKS_TOKEN"
    assert isinstance(launcher.host, dg.EnvVar) and launcher.host.env_var_name == "DATABRICKS_HOST"
    task = launcher.task({"step": "gate"})
    assert task.task_key == "shelfguard_gate" and task.new_cluster.num_workers == 2
    assert "dapi-secret" not in json.dumps(task.as_dict())
    with pytest.raises(ValueError, match="needs a cluster"):
        spark_job_from_env({"SHELFGUARD_SPARK": "databricks-job",
                            "SHELFGUARD_DATABRICKS_WHEEL": "dbfs:/w.whl"})
    with pytest.raises(ValueError, match="not JSON"):
        spark_job_from_env({"SHELFGUARD_SPARK": "databricks-job", "SHELFGUARD_DATABRICKS_NEW_CLUSTER": "{"})


@pytest.fixture(scope="module")
def bronze_homes(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two copies of one data home with nwg_us's demo deliveries in bronze."""
    import shutil

    from assets.bronze.ingest import ingest
    from assets.intake.landing import landing_delivery, landing_files
    from shelfguard.demo_data import generate
    from shelfguard.settings import DataHome

    root = tmp_path_factory.mktemp("spark_job_silver")
    home = DataHome(root / "here").ensure()
    generate(home, days=6, stores=2, products=3, seed=5, retailers=["nwg_us"])
    contract = load_contract(REPO / "contracts" / "retailers" / "nwg_us" / "nwg_us.odcs.yaml")
    for name in contract.object_names:
        for path in landing_files(home, contract, name):
            ingest(home, contract, landing_delivery(contract, name, path))
    shutil.copytree(root / "here", root / "job")
    return root / "here", root / "job"


@pytest.mark.spark
def test_silver_step_as_a_job_writes_what_the_in_process_step_writes(bronze_homes) -> None:
    import polars as pl

    from assets.plan import load_retailer_contracts, retailer_code
    from assets.silver.publish import publish_silver, silver_path
    from shelfguard.settings import DataHome

    here, there = bronze_homes
    contracts = REPO / "contracts"
    contract = next(c for c in load_retailer_contracts(contracts) if retailer_code(c) == "nwg_us")
    canonical = load_contract(contracts / "canonical" / "pos_canonical.odcs.yaml")
    master = load_contract(contracts / "canonical" / "corporate_master.odcs.yaml")
    local = publish_silver(DataHome(here), contract, canonical, master, "prod_dim")
    rules = compile_rules(canonical, "prod_dim")
    key = dg.AssetKey(["silver", "nwg_us__prod_dim"])

    @dg.asset(key=key, check_specs=check_specs(rules, key))
    def daily(context: dg.AssetExecutionContext, spark_job: SparkJobLauncher):
        yield from run_spark_job(context, spark_job, {
            "step": "silver", "canonical_object": "prod_dim", "home": str(there),
            "contract": str(contract.path), "canonical": str(canonical.path), "master": str(master.path)},
            rules=rules, contract=canonical)

    result = dg.materialize([daily], resources={"spark_job": SubprocessSparkJob()},
                            instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    metadata = result.asset_materializations_for_node("silver__nwg_us__prod_dim")[0].metadata
    assert metadata["action"].value == local.action
    assert metadata["rows_written"].value == local.rows_written > 0
    assert metadata["rows_quarantined"].value == local.rows_quarantined
    written = [pl.read_delta(str(silver_path(DataHome(home), "nwg_us", "prod_dim")))
               for home in (here, there)]
    assert written[0].drop("_published_at", strict=False).sort(written[0].columns[0]).equals(
        written[1].drop("_published_at", strict=False).sort(written[1].columns[0]))
    evaluations = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    expected = {r.check_name: r.passed for r in check_results(
        rules, [CheckedBatch("nwg_us", local.gate, local.violating_sample, local.quarantine_path)],
        canonical, "pandera")}
    assert evaluations == expected


@pytest.mark.spark
def test_spark_retailer_silver_runs_as_a_pipes_job_with_the_in_process_results(
        spark, tmp_path, shelfguard_home, monkeypatch) -> None:
    """SHELFGUARD_SPARK=local-job: the silver assets of a Spark retailer run their step as a Pipes job
    (what databricks-job does on Databricks) and report the same metadata and checks as in-process."""
    import shutil

    from assets.definitions import build_definitions
    from shelfguard.settings import DataHome
    from tests.silver_gold.conftest import deliver_nwg, nwg_line
    from tests.spark.test_spark_dagster import contracts_choosing

    home = DataHome(shelfguard_home).ensure()
    deliver_nwg(home, "nwg_pos_20260105.csv", [nwg_line(item="1"), nwg_line(item="2", upc="012345678912")],
                day=6)
    contracts = contracts_choosing(tmp_path, "spark")
    seen = {}
    for deployment in ("local", "local-job"):
        monkeypatch.setenv("SHELFGUARD_SPARK", deployment)
        run_home = tmp_path / f"home_{deployment}"
        shutil.copytree(home.root, run_home)
        monkeypatch.setenv("SHELFGUARD_HOME", str(run_home))
        defs = build_definitions(contracts)
        assert defs.resources["spark_job"].runs_spark_steps == (deployment == "local-job")
        selection = [k for k in defs.get_repository_def().asset_graph.get_all_asset_keys()
                     if k.path[0] == "silver" and k.path[1].startswith("nwg_us__")]
        instance = dg.DagsterInstance.ephemeral()
        result = defs.resolve_implicit_global_asset_job_def().execute_in_process(
            instance=instance, asset_selection=selection)
        assert result.success
        launched = [e for e in instance.all_logs(result.run_id)
                    if "external process successfully opened dagster pipes" in e.user_message]
        assert bool(launched) == (deployment == "local-job")
        fact = result.asset_materializations_for_node("silver__nwg_us__daily_store_fact")[0].metadata
        seen[deployment] = ({k: fact[k].value for k in ("action", "dagster/row_count", "rows_quarantined")},
                            {e.check_name: e.passed for e in result.get_asset_check_evaluations()})
    assert seen["local-job"] == seen["local"]
    assert seen["local"][0]["action"] == "published" and seen["local"][0]["dagster/row_count"] == 2
