"""The Spark steps as a job of their own through Dagster Pipes: in a subprocess here, or on Databricks.

An asset of a Spark retailer either runs its step in the Dagster process on the `spark` resource
(`assets.definitions.resources.spark`), or hands it to the `spark_job` resource, which launches
`shelfguard-spark-job` (`assets.spark_job`) and reads back what it reported:

```python
@dg.asset(check_specs=check_specs(rules, key))
def bronze_x(context: dg.AssetExecutionContext, spark_job: SparkJobLauncher):
    yield from run_spark_job(context, spark_job, {"step": "gate", "contract": ..., "data": ...},
                             rules=rules, contract=contract)
```

`run_spark_job` yields the materialisation the job reported and one asset check result per rule,
made by `gating.check_results` from the gate results the job sent, as for every other engine.

Variants, chosen by environment (`spark_job_from_env`); with `runs_spark_steps` the silver assets of
Spark retailers run their step through it (`silver_outcome_from_job`), else on the `spark` resource:
- `SubprocessSparkJob` (default; runs the steps with `SHELFGUARD_SPARK=local-job`): a child process
  of the run, on its own Sail (or `SPARK_REMOTE`);
- `DatabricksSparkJob` (`SHELFGUARD_SPARK=databricks-job`): a one-time Databricks job run
  (`PipesDatabricksClient`, context and messages through DBFS) of our wheel's entry point on a new
  job cluster or an existing one; see docs/spark-jobs.md.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import dagster as dg
from pydantic import Field

from assets.definitions.gating import CheckedBatch, check_results
from assets.definitions.resources.spark import spark_deployment
from assets.spark_job import ENTRY_POINT, GATED_BATCH, STEP_OUTCOME, GatedBatch, frame_of
from checks.contract import Contract
from checks.rules import Rule

if TYPE_CHECKING:
    from databricks.sdk.service.jobs import SubmitTask

    from assets.silver.publish import SilverOutcome

SPARK_JOB_RESOURCE_KEY = "spark_job"
PACKAGE_NAME = "shelfguard"
ExecutionContext = dg.AssetExecutionContext | dg.OpExecutionContext


class SparkJobLauncher(dg.ConfigurableResource):
    """Runs one Spark step as a Pipes job and returns what it reported."""

    runs_spark_steps: bool = Field(
        default=False, description="The silver assets of Spark retailers run their step through this "
        "launcher (a job) instead of in the run's process on the `spark` resource.")

    def run(self, context: ExecutionContext, extras: Mapping[str, Any]) -> dg.PipesClientCompletedInvocation:
        raise NotImplementedError


class SubprocessSparkJob(SparkJobLauncher):
    """`shelfguard-spark-job` in a child process of the run (`dg.PipesSubprocessClient`): its own Sail
    on a free loopback port, or the `SPARK_REMOTE` it inherits; its memory is its own."""

    env: dict[str, str] = Field(default_factory=dict, description="Variables added to the job's environment.")

    def run(self, context: ExecutionContext, extras: Mapping[str, Any]) -> dg.PipesClientCompletedInvocation:
        client = dg.PipesSubprocessClient(env={**os.environ, **self.env})
        return client.run(command=[sys.executable, "-m", "assets.spark_job"], context=context,
                          extras=dict(extras))


class DatabricksSparkJob(SparkJobLauncher):
    """A one-time Databricks job run of our wheel's `shelfguard-spark-job` (`PipesDatabricksClient`).

    The cluster needs our wheel and `dagster-pipes` (installed as the task's libraries) and access to
    the data home and contracts named in the extras (a Unity Catalog volume or DBFS path).
    """

    host: str = Field(description="Workspace URL; give it as dg.EnvVar('DATABRICKS_HOST').")
    token: str = Field(description="Personal access token; give it as dg.EnvVar('DATABRICKS_TOKEN').")
    wheel: str = Field(description="Where the shelfguard wheel is on the workspace, e.g. "
                                   "dbfs:/shelfguard/shelfguard-0.1.0-py3-none-any.whl.")
    existing_cluster_id: str = Field(
        default="", description="Run on this cluster (Pipes parameters then go on the command line); "
        "empty: a new job cluster.")
    new_cluster: dict[str, Any] = Field(
        default_factory=dict,
        description="The job cluster, as the Jobs API's `new_cluster` (spark_version, node_type_id, "
        "num_workers, ...); used when existing_cluster_id is empty.",
    )
    poll_interval_seconds: float = Field(default=10.0, description="How often the run's state is polled.")
    runs_spark_steps: bool = True

    def task(self, extras: Mapping[str, Any]) -> SubmitTask:
        """The Jobs API task that runs the step: our wheel's entry point, with `dagster-pipes` of this
        Dagster's version beside it (Pipes adds its bootstrap parameters when it submits)."""
        from databricks.sdk.service import jobs

        return jobs.SubmitTask.from_dict(databricks_task_spec(
            step=str(extras.get("step", "")), wheel=self.wheel,
            existing_cluster_id=self.existing_cluster_id, new_cluster=self.new_cluster))

    def run(self, context: ExecutionContext, extras: Mapping[str, Any]) -> dg.PipesClientCompletedInvocation:
        from dagster_databricks import PipesDatabricksClient
        from databricks.sdk import WorkspaceClient

        client = PipesDatabricksClient(client=WorkspaceClient(host=self.host, token=self.token),
                                       poll_interval_seconds=self.poll_interval_seconds)
        return client.run(context=context, extras=dict(extras), task=self.task(extras))


def databricks_task_spec(*, step: str, wheel: str, existing_cluster_id: str = "",
                         new_cluster: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The task as the Jobs API's JSON (`jobs.SubmitTask.from_dict` reads it): a `python_wheel_task`
    of `shelfguard-spark-job`, on an existing cluster or a new job cluster."""
    if not wheel:
        raise ValueError("the Databricks job needs the shelfguard wheel's workspace path "
                         "(SHELFGUARD_DATABRICKS_WHEEL)")
    if not existing_cluster_id and not new_cluster:
        raise ValueError("the Databricks job needs a cluster: DATABRICKS_CLUSTER_ID (existing) or "
                         "SHELFGUARD_DATABRICKS_NEW_CLUSTER (a new_cluster JSON object)")
    spec: dict[str, Any] = {
        "task_key": f"shelfguard_{step or 'step'}",
        "python_wheel_task": {"package_name": PACKAGE_NAME, "entry_point": ENTRY_POINT},
        "libraries": [{"whl": wheel}, {"pypi": {"package": f"dagster-pipes=={_pipes_version()}"}}],
    }
    if existing_cluster_id:
        spec["existing_cluster_id"] = existing_cluster_id
    else:
        spec["new_cluster"] = dict(new_cluster or {})
    return spec


def _pipes_version() -> str:
    from importlib.metadata import version

    return version("dagster-pipes")


def spark_job_from_env(environ: Mapping[str, str] = os.environ) -> SparkJobLauncher:
    """`DatabricksSparkJob` when `SHELFGUARD_SPARK=databricks-job` (host and token through
    `dg.EnvVar`; wheel and cluster from `SHELFGUARD_DATABRICKS_WHEEL`, `DATABRICKS_CLUSTER_ID` or
    `SHELFGUARD_DATABRICKS_NEW_CLUSTER`), else `SubprocessSparkJob`, which runs the Spark steps only
    with `SHELFGUARD_SPARK=local-job`."""
    chosen = spark_deployment(environ)
    if chosen != "databricks-job":
        return SubprocessSparkJob(runs_spark_steps=chosen == "local-job")
    new_cluster = environ.get("SHELFGUARD_DATABRICKS_NEW_CLUSTER", "")
    try:
        cluster = json.loads(new_cluster) if new_cluster else {}
    except json.JSONDecodeError as exc:
        raise ValueError(f"SHELFGUARD_DATABRICKS_NEW_CLUSTER is not JSON: {exc}") from None
    launcher = DatabricksSparkJob(
        host=dg.EnvVar("DATABRICKS_HOST"), token=dg.EnvVar("DATABRICKS_TOKEN"),
        wheel=environ.get("SHELFGUARD_DATABRICKS_WHEEL", ""),
        existing_cluster_id=environ.get("DATABRICKS_CLUSTER_ID", ""), new_cluster=cluster)
    databricks_task_spec(step="check", wheel=launcher.wheel, existing_cluster_id=launcher.existing_cluster_id,
                         new_cluster=launcher.new_cluster)  # refuse an incomplete setup when loading
    return launcher


def gated_batches(invocation: dg.PipesClientCompletedInvocation) -> list[CheckedBatch]:
    """The batches the job gated, from its custom messages, as the check results read them."""
    batches = []
    for message in invocation.get_custom_messages():
        if isinstance(message, Mapping) and message.get("kind") == GATED_BATCH:
            batch = GatedBatch.from_message(message)
            batches.append(CheckedBatch(label=batch.label, result=batch.result,
                                        violating_sample=batch.violating_sample,
                                        quarantine_path=batch.quarantine_path, source=batch.source))
    return batches


def run_spark_job(
    context: ExecutionContext, launcher: SparkJobLauncher, extras: Mapping[str, Any], *,
    rules: Sequence[Rule], contract: Contract,
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """Launch the step and yield its materialisation and one check result per rule (the gate results
    it reported, judged by `gating.check_results` exactly as an in-process asset's: a step that had
    nothing to gate, like a silver run with no new bronze, reports no batch there either)."""
    invocation = launcher.run(context, extras)
    batches = gated_batches(invocation)
    engine = batches[0].result.engine if batches else str(extras.get("engine", ""))
    yield from invocation.get_results()
    yield from check_results(rules, batches, contract, engine)


def silver_outcome_from_job(context: ExecutionContext, launcher: SparkJobLauncher,
                            extras: Mapping[str, Any]) -> SilverOutcome:
    """The `silver` step run as a job, its `SilverOutcome` back as if it had run here (the asset then
    reports it with the code an in-process run uses: metadata, lineage, alerts, checks)."""
    from assets.silver.publish import SilverOutcome

    invocation = launcher.run(context, {**extras, "step": "silver", "materialize": False})
    for message in invocation.get_custom_messages():
        if isinstance(message, Mapping) and message.get("kind") == STEP_OUTCOME:
            outcome = SilverOutcome.model_validate(message["outcome"])
            if message.get("violating_sample") is not None:
                outcome.violating_sample = frame_of(message["violating_sample"])
            return outcome
    raise dg.Failure("the spark job's silver step reported no outcome")
