"""The Dagster layer: the code location generated from the contracts, and (in the modules of this
package) the assets, checks, sensors and resources that wire the Dagster-free pipeline steps.

`uv run dg dev`, `shelfguard ui` and the daemon load `defs` from here (a `@dg.definitions` function,
so importing this package builds nothing); the demo and the tests build the same definitions with
`build_definitions`. They are merged from one `Definitions` per retailer (its source and bronze
assets, checks, ingest job and sensor), the canonical layers (silver, gold, the reader views), the
project-wide sensors and the deployment's resources (`deployments.py`, chosen by `SHELFGUARD_ENV`).
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from assets.definitions.automation import automation_sensors
from assets.definitions.bronze import build_bronze_asset
from assets.definitions.deliveries import (
    build_delivery_processed_checks,
    build_ingest_job,
    build_retailer_sensor,
)
from assets.definitions.deployments import deployment, deployment_resources
from assets.definitions.freshness import (
    build_delivery_on_time_checks,
    build_freshness_sensor,
)
from assets.definitions.gold_views import build_gold_views_asset
from assets.definitions.resources.spark import spark_deployment
from assets.definitions.silver_gold import silver_gold_assets
from assets.definitions.sources import source_spec
from assets.plan import PipelinePlan, build_plan, contracts_fingerprint, retailer_code
from checks.contract import Contract
from shelfguard.settings import CONTRACTS_DIR


def retailer_definitions(plan: PipelinePlan, contract: Contract) -> dg.Definitions:
    """One retailer's part: a source and a bronze asset per object with their checks, the ingest job
    and the sensor that starts it."""
    nodes = plan.retailer_nodes(retailer_code(contract), "bronze")
    job = build_ingest_job(contract, nodes)
    return dg.Definitions(
        assets=[
            *(source_spec(contract, node.object) for node in nodes),
            *(build_bronze_asset(node) for node in nodes),
        ],
        asset_checks=[
            *build_delivery_on_time_checks([contract]),
            *build_delivery_processed_checks([contract], lambda _: nodes),
        ],
        jobs=[job],
        sensors=[build_retailer_sensor(contract, nodes, job)],
    )


def canonical_definitions(plan: PipelinePlan) -> dg.Definitions:
    """Silver per retailer and gold per canonical object, the reader views over gold, and the sensors
    that watch every retailer: freshness, and the automation that moves accepted data on."""
    return dg.Definitions(
        assets=[*silver_gold_assets(plan), build_gold_views_asset(plan)],
        sensors=[
            build_freshness_sensor(plan.retailers),
            *automation_sensors(plan),
        ],
    )


_LATEST: dict[tuple, dg.Definitions] = {}
"""The last definitions built, by contracts folder, content, deployment and Spark deployment (one
entry: tests build many folders)."""


def build_definitions(contracts_dir: Path = CONTRACTS_DIR, environment: str | None = None) -> dg.Definitions:
    """The definitions of the contracts under `contracts_dir` with the resources of `environment`
    (default `SHELFGUARD_ENV`), built once per version of the contracts (like a code server, which
    loads them once): every run in this process reuses the same graph and job."""
    key = (contracts_dir.resolve(), contracts_fingerprint(contracts_dir), deployment(environment),
           spark_deployment())
    if key not in _LATEST:
        _LATEST.clear()
        plan = build_plan(contracts_dir)
        _LATEST[key] = dg.Definitions.merge(
            *(retailer_definitions(plan, contract) for contract in plan.retailers),
            canonical_definitions(plan),
            dg.Definitions(resources=deployment_resources(key[2])),
        )
    return _LATEST[key]


@dg.definitions
def defs() -> dg.Definitions:
    """The definitions of the project's contracts folder, built when Dagster loads the location."""
    return build_definitions()
