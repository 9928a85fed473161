"""Spark as a Dagster resource: local Sail, or a remote Spark Connect / Databricks Connect cluster.

The Spark pipeline steps take a `SparkSession`; the assets of a retailer whose contract chooses
Spark ask this resource for it. Which variant the definitions get is chosen by environment, the way
Dagster's own examples pick local and production resources (`spark_resource_from_env`):

- `SHELFGUARD_SPARK=remote`, or `SPARK_REMOTE` / `DATABRICKS_CLUSTER_ID` /
  `DATABRICKS_SERVERLESS_COMPUTE_ID` set: `RemoteSparkResource`, that Spark Connect server or
  Databricks Connect;
- `SHELFGUARD_SPARK=local`, or none of them: `LocalSparkResource`, Sail in this process on a free
  loopback port.

Both wrap `checks.spark_session`, so every caller of a process (the spark gate engine, the pipeline
steps, this resource) shares one session and, locally, one Sail server, stopped when the process
exits. The Databricks job variant (Dagster Pipes) is `assets.definitions.spark_jobs`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

import dagster as dg
from pydantic import Field

from checks import spark_session
from checks.spark_session import DATABRICKS_COMPUTE_VARIABLES, SparkTarget

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

SPARK_RESOURCE_KEY = "spark"
SPARK_DEPLOYMENT_VARIABLE = "SHELFGUARD_SPARK"
"""`local` (Sail here), `remote` (Spark Connect / Databricks Connect from the environment),
`local-job` (the Spark steps as Dagster Pipes jobs in child processes of the run, each on its own
Sail) or `databricks-job` (as Databricks jobs through Dagster Pipes); unset: from the other
variables."""
SPARK_DEPLOYMENTS = ("local", "remote", "local-job", "databricks-job")


class SparkResource(dg.ConfigurableResource):
    """The Spark session of the Spark pipeline steps (one per process, started on first use)."""

    def session(self) -> SparkSession:
        raise NotImplementedError

    def target(self) -> SparkTarget | None:
        """What the session talks to (no credential in it), for logs and run metadata."""
        return spark_session.current_target()


class LocalSparkResource(SparkResource):
    """Sail (a Spark Connect server in Rust, no JVM) in this process on a free loopback port,
    started on first use and stopped when the process exits (ADR 0022)."""

    def session(self) -> SparkSession:
        return spark_session.spark_session("sail")


class RemoteSparkResource(SparkResource):
    """A Spark Connect server (`sc://host:port`, e.g. a Spark 4 cluster or Sail in cluster mode), or
    Databricks Connect when `remote` is empty and a Databricks compute variable is set."""

    remote: str = Field(
        default="",
        description="Spark Connect URL; it may carry `;token=...`, so give it as dg.EnvVar('SPARK_REMOTE'). "
        "Empty: Databricks Connect from DATABRICKS_HOST/DATABRICKS_TOKEN and DATABRICKS_CLUSTER_ID "
        "(or DATABRICKS_SERVERLESS_COMPUTE_ID).",
    )

    def session(self) -> SparkSession:
        if not self.remote and spark_session.spark_target() != "databricks":
            raise dg.Failure(
                "RemoteSparkResource has no Spark to connect to: set SPARK_REMOTE to a sc:// URL, or "
                f"{' or '.join(DATABRICKS_COMPUTE_VARIABLES)} for Databricks Connect"
            )
        return spark_session.spark_session(self.remote or None)


def spark_deployment(environ: Mapping[str, str] = os.environ) -> str:
    """`local`, `remote` or `databricks-job`: `SHELFGUARD_SPARK` when set (an unknown value is refused
    loudly, never read as local), else remote when a Spark Connect or Databricks variable is set."""
    chosen = environ.get(SPARK_DEPLOYMENT_VARIABLE, "").strip()
    if chosen:
        if chosen not in SPARK_DEPLOYMENTS:
            raise ValueError(
                f"{SPARK_DEPLOYMENT_VARIABLE}={chosen!r}: expected one of {', '.join(SPARK_DEPLOYMENTS)}")
        return chosen
    if environ.get("SPARK_REMOTE") or any(environ.get(name) for name in DATABRICKS_COMPUTE_VARIABLES):
        return "remote"
    return "local"


def spark_resource_from_env(environ: Mapping[str, str] = os.environ) -> SparkResource:
    """The Spark resource for this deployment (see the module's docstring). The URL is read through
    `dg.EnvVar`, so it never appears in the definitions' configuration or the UI."""
    if spark_deployment(environ) == "remote":
        return RemoteSparkResource(remote=dg.EnvVar("SPARK_REMOTE")) if environ.get("SPARK_REMOTE") \
            else RemoteSparkResource()
    return LocalSparkResource()
