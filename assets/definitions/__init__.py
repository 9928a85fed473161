"""The Dagster layer: the code location generated from the contracts, and (in the modules of this
package) the assets, checks, sensors and resources that wire the Dagster-free pipeline steps.

`uv run dg dev`, `shelfguard ui` and the daemon load `defs` from here (a `@dg.definitions` function,
so importing this package builds nothing); the demo and the tests build the same definitions with
`build_definitions`.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from assets.definitions.bronze import build_bronze_asset
from assets.definitions.deliveries import (
    build_delivery_processed_checks,
    build_ingest_job,
    build_retailer_sensor,
)
from assets.definitions.freshness import (
    NOTIFIER_RESOURCE_KEY,
    build_delivery_on_time_checks,
    build_freshness_sensor,
    freshness_policy_for,
)
from assets.definitions.gold_views import build_gold_views_asset
from assets.definitions.resources.home import DataHomeResource
from assets.definitions.resources.notifiers import NotifierResource
from assets.definitions.resources.openlineage import OpenLineageResource
from assets.definitions.resources.spark import SPARK_RESOURCE_KEY, spark_resource_from_env
from assets.definitions.silver_gold import silver_gold_assets
from assets.definitions.sources import source_spec
from assets.definitions.spark_jobs import SPARK_JOB_RESOURCE_KEY, spark_job_from_env
from assets.plan import PipelinePlan, build_plan, contracts_fingerprint, retailer_code
from shelfguard.settings import CONTRACTS_DIR


def bronze_definitions(plan: PipelinePlan) -> tuple[list, list, list]:
    assets, jobs, sensors = [], [], []
    for contract in plan.retailers:
        nodes = plan.retailer_nodes(retailer_code(contract), "bronze")
        assets.extend(build_bronze_asset(node, freshness_policy_for(contract, node.object)) for node in nodes)
        job = build_ingest_job(contract, nodes)
        jobs.append(job)
        sensors.append(build_retailer_sensor(contract, nodes, job))
    return assets, jobs, sensors


_LATEST: dict[tuple, dg.Definitions] = {}
"""The last definitions built, by contracts folder and content (one entry: tests build many folders)."""


def build_definitions(contracts_dir: Path = CONTRACTS_DIR) -> dg.Definitions:
    """The definitions of the contracts under `contracts_dir`, built once per version of them (like
    a code server, which loads them once): every run in this process reuses the same graph and job."""
    key = (contracts_dir.resolve(), contracts_fingerprint(contracts_dir))
    if key not in _LATEST:
        _LATEST.clear()
        _LATEST[key] = _build(contracts_dir)
    return _LATEST[key]


def _build(contracts_dir: Path) -> dg.Definitions:
    plan = build_plan(contracts_dir)
    assets, jobs, sensors = bronze_definitions(plan)
    sources = [source_spec(node.contract, node.object) for node in plan.nodes if node.layer == "bronze"]
    return dg.Definitions(
        assets=[*sources, *assets, *silver_gold_assets(plan), build_gold_views_asset(plan)],
        asset_checks=[
            *build_delivery_on_time_checks(plan.retailers),
            *build_delivery_processed_checks(
                plan.retailers, lambda contract: plan.retailer_nodes(retailer_code(contract), "bronze")),
        ],
        jobs=jobs,
        sensors=[
            *sensors,
            build_freshness_sensor(plan.retailers),
            dg.AutomationConditionSensorDefinition(
                "pipeline_automation",
                target=dg.AssetSelection.all(),
                default_status=dg.DefaultSensorStatus.RUNNING,
                description="Moves accepted deliveries to silver and gold without anyone clicking.",
            ),
        ],
        resources={
            "home": DataHomeResource(),
            "openlineage": OpenLineageResource(),
            NOTIFIER_RESOURCE_KEY: NotifierResource(),
            # Spark retailers' steps: a session here (local Sail / remote), or a Pipes job (ADR 0022)
            SPARK_RESOURCE_KEY: spark_resource_from_env(),
            SPARK_JOB_RESOURCE_KEY: spark_job_from_env(),
        },
    )


@dg.definitions
def defs() -> dg.Definitions:
    """The definitions of the project's contracts folder, built when Dagster loads the location."""
    return build_definitions()
