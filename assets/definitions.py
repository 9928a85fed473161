"""The Dagster code location, generated from the contracts.

`uv run dg dev` loads `defs` from here; the demo and the tests build the same definitions with
`build_definitions`.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from assets.bronze_assets import build_bronze_asset, build_ingest_job, build_retailer_sensor
from assets.freshness import freshness_policy_for
from assets.plan import PipelinePlan, build_plan, retailer_code
from assets.resources.home import DataHomeResource
from shelfguard.settings import CONTRACTS_DIR


def bronze_definitions(plan: PipelinePlan) -> tuple[list, list, list]:
    assets, jobs, sensors = [], [], []
    for contract in plan.retailers:
        nodes = plan.retailer_nodes(retailer_code(contract), "bronze")
        policy = freshness_policy_for(contract)
        assets.extend(build_bronze_asset(node, policy) for node in nodes)
        job = build_ingest_job(contract, nodes)
        jobs.append(job)
        sensors.append(build_retailer_sensor(contract, nodes, job))
    return assets, jobs, sensors


def build_definitions(contracts_dir: Path = CONTRACTS_DIR) -> dg.Definitions:
    plan = build_plan(contracts_dir)
    assets, jobs, sensors = bronze_definitions(plan)
    return dg.Definitions(
        assets=assets,
        jobs=jobs,
        sensors=sensors,
        resources={"home": DataHomeResource()},
    )


defs = build_definitions()
