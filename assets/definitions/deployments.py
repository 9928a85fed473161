"""The resources of each deployment, chosen by `SHELFGUARD_ENV` (`local`, the default, or
`production`), as in Dagster's own examples: the same assets, checks and sensors everywhere, only
where data lives and whom alerts reach differ.

- `local`: the data home is `SHELFGUARD_HOME`, default `.shelfguard/` in the project; alerts go
  where `SHELFGUARD_NOTIFIER` says, default the log; lineage to the data home's NDJSON file (and a
  catalog when `OPENLINEAGE_URL` is set).
- `production`: nothing defaults. `SHELFGUARD_HOME` (the mounted storage the pipeline writes),
  `SHELFGUARD_NOTIFIER` (the alert channels) and `OPENLINEAGE_NAMESPACE` must be set, read through
  `dg.EnvVar` when a run or a sensor tick starts, so a missing one fails loudly instead of writing to
  a developer's folder or alerting nobody. Secrets (`SLACK_BOT_TOKEN`, `SHELFGUARD_WEBHOOK_TOKEN`,
  `SHELFGUARD_SMTP_PASSWORD`, `OPENLINEAGE_API_KEY`, the retailers' database URLs and API tokens)
  stay in the environment and are read when used, never stored in a resource's configuration.
"""

from __future__ import annotations

import os

import dagster as dg

from assets.definitions.freshness import NOTIFIER_RESOURCE_KEY
from assets.definitions.resources.home import DataHomeResource
from assets.definitions.resources.notifiers import NotifierResource
from assets.definitions.resources.openlineage import OpenLineageResource
from assets.definitions.resources.spark import SPARK_RESOURCE_KEY, spark_resource_from_env
from assets.definitions.spark_jobs import SPARK_JOB_RESOURCE_KEY, spark_job_from_env

ENVIRONMENT_VARIABLE = "SHELFGUARD_ENV"
LOCAL, PRODUCTION = "local", "production"
DEPLOYMENTS = (LOCAL, PRODUCTION)


class UnknownDeploymentError(ValueError):
    """`SHELFGUARD_ENV` names no deployment."""


def deployment(name: str | None = None) -> str:
    """`name`, else `SHELFGUARD_ENV`, else `local`; anything else is refused with the known names."""
    chosen = (name if name is not None else os.environ.get(ENVIRONMENT_VARIABLE, "")).strip().lower() or LOCAL
    if chosen not in DEPLOYMENTS:
        raise UnknownDeploymentError(
            f"{ENVIRONMENT_VARIABLE}={chosen!r} is not a deployment; expected one of "
            f"{', '.join(DEPLOYMENTS)}")
    return chosen


def deployment_resources(name: str | None = None) -> dict[str, dg.ConfigurableResource]:
    """The data home, OpenLineage and notifier resources of the deployment (`deployment(name)`),
    and the Spark session and job launcher, which `SHELFGUARD_SPARK` chooses in either (ADR 0022)."""
    spark = {SPARK_RESOURCE_KEY: spark_resource_from_env(), SPARK_JOB_RESOURCE_KEY: spark_job_from_env()}
    if deployment(name) == PRODUCTION:
        return {
            "home": DataHomeResource(root=dg.EnvVar("SHELFGUARD_HOME")),
            "openlineage": OpenLineageResource(namespace=dg.EnvVar("OPENLINEAGE_NAMESPACE")),
            NOTIFIER_RESOURCE_KEY: NotifierResource(channels=dg.EnvVar("SHELFGUARD_NOTIFIER")),
            **spark,
        }
    return {
        "home": DataHomeResource(),
        "openlineage": OpenLineageResource(),
        NOTIFIER_RESOURCE_KEY: NotifierResource(),
        **spark,
    }
