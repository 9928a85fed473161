"""Run the generated Dagster assets in-process on the data home's instance (demo, benchmarks).

Bronze runs first, every retailer object in one run; silver and gold follow in a second run that
reads only what the delivery ledger accepted, so a blocked delivery stops nothing but itself.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import dagster as dg

from assets.bronze_assets import op_name
from assets.definitions import build_definitions
from shelfguard.dagster_home import open_instance
from shelfguard.settings import CONTRACTS_DIR, DataHome


@dataclass
class PipelineRun:
    bronze: dg.ExecuteInProcessResult
    downstream: dg.ExecuteInProcessResult | None


def run_pipeline(
    home: DataHome,
    *,
    engine: str = "pandera",
    layers: tuple[str, ...] = ("bronze", "silver", "gold"),
    instance: dg.DagsterInstance | None = None,
) -> PipelineRun:
    defs = build_definitions(CONTRACTS_DIR)
    instance = instance or open_instance(home)
    job = defs.resolve_implicit_global_asset_job_def()
    keys = list(defs.get_repository_def().asset_graph.get_all_asset_keys())
    bronze_keys = sorted((k for k in keys if k.path[0] == "bronze"), key=lambda k: k.path)
    os.environ["SHELFGUARD_HOME"] = str(home.root)
    bronze = job.execute_in_process(
        run_config={"ops": {op_name(k): {"config": {"engine": engine}} for k in bronze_keys}},
        instance=instance,
        asset_selection=bronze_keys,
        raise_on_error=False,
        tags={"shelfguard/run": "pipeline-bronze"},
    )
    later = [k for k in keys if k.path[0] in layers and k.path[0] != "bronze"]
    downstream = None
    if later:
        downstream = job.execute_in_process(
            instance=instance,
            asset_selection=later,
            raise_on_error=False,
            tags={"shelfguard/run": "pipeline-downstream"},
        )
    return PipelineRun(bronze, downstream)
