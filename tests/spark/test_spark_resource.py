"""The Spark resource: local Sail or a remote Spark chosen by environment, and in the definitions."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import dagster as dg
import pytest

from assets.definitions.resources.spark import (
    LocalSparkResource,
    RemoteSparkResource,
    SparkResource,
    spark_deployment,
    spark_resource_from_env,
)
from checks import spark_session

REPO = Path(__file__).resolve().parents[2]


def test_deployment_and_resource_chosen_by_environment() -> None:
    assert spark_deployment({}) == "local"
    assert isinstance(spark_resource_from_env({}), LocalSparkResource)
    remote = spark_resource_from_env({"SPARK_REMOTE": "sc://spark.example:15002/;token=secret"})
    assert isinstance(remote, RemoteSparkResource)
    assert isinstance(remote.remote, dg.EnvVar) and remote.remote.env_var_name == "SPARK_REMOTE"
    databricks = spark_resource_from_env({"DATABRICKS_CLUSTER_ID": "0123-456789-abc"})
    assert isinstance(databricks, RemoteSparkResource) and databricks.remote == ""
    assert spark_deployment({"SHELFGUARD_SPARK": "local", "SPARK_REMOTE": "sc://x:1"}) == "local"
    assert spark_deployment({"SHELFGUARD_SPARK": "databricks-job"}) == "databricks-job"
    with pytest.raises(ValueError, match="SHELFGUARD_SPARK='cluster'"):
        spark_deployment({"SHELFGUARD_SPARK": "cluster"})


def test_remote_resource_without_a_spark_fails_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SPARK_REMOTE", *spark_session.DATABRICKS_COMPUTE_VARIABLES):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(dg.Failure, match="set SPARK_REMOTE"):
        RemoteSparkResource().session()


@pytest.mark.spark
def test_local_resource_is_the_shared_sail_session(spark) -> None:
    target = spark_session.current_target()
    if target is None or target.kind != "sail":
        pytest.skip("the test session runs on a remote Spark")
    resource = LocalSparkResource()
    assert resource.session() is spark
    assert resource.target() == target


@pytest.mark.spark
def test_asset_gets_remote_spark_from_spark_remote(spark, tmp_path: Path) -> None:
    """A run in another process, with SPARK_REMOTE pointing at this session's Sail, gets a remote
    resource that connects there (and starts no server of its own); the URL is not in the run config."""
    target = spark_session.current_target()
    if target is None or target.kind != "sail":
        pytest.skip("the test session runs on a remote Spark")
    script = tmp_path / "run.py"
    script.write_text(textwrap.dedent("""
        import dagster as dg
        from assets.definitions.resources.spark import SparkResource, spark_resource_from_env
        from checks import spark_session

        @dg.asset
        def counted(spark: SparkResource) -> dg.MaterializeResult:
            rows = spark.session().range(7).count()
            return dg.MaterializeResult(metadata={"rows": rows, "spark": spark.target().kind})

        result = dg.materialize([counted], resources={"spark": spark_resource_from_env()})
        event = result.asset_materializations_for_node("counted")[0]
        print(type(spark_resource_from_env()).__name__, event.metadata["rows"].value,
              event.metadata["spark"].value, "sc://" in str(result.dagster_run.run_config))
    """), "utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATABRICKS_")}
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=REPO,
                          env={**env, "SPARK_REMOTE": target.address}, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split()[-4:] == ["RemoteSparkResource", "7", "spark-connect", "False"]


def test_definitions_carry_the_spark_resources() -> None:
    from assets.definitions import build_definitions
    from assets.definitions.spark_jobs import SparkJobLauncher

    resources = build_definitions().resources
    assert isinstance(resources["spark"], SparkResource)
    assert isinstance(resources["spark_job"], SparkJobLauncher)
