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
from assets.plan import build_plan
from checks.engines import warm_up
from checks.gate import engines_for
from shelfguard.dagster_home import open_instance
from shelfguard.settings import CONTRACTS_DIR, DataHome

BLOCKED_BY_CHECKS = "DagsterAssetCheckFailedError"


@dataclass
class PipelineRun:
    bronze: dg.ExecuteInProcessResult
    downstream: dg.ExecuteInProcessResult | None

    def errors(self) -> list[str]:
        """Steps that failed for another reason than a blocking check (a blocked batch is expected)."""
        errors = []
        for result in (self.bronze, self.downstream):
            for event in result.all_events if result else []:
                if event.event_type_value != "STEP_FAILURE":
                    continue
                error = event.step_failure_data.error
                if error is None or error.cls_name != BLOCKED_BY_CHECKS:
                    errors.append(f"{event.step_key}: {error.message.strip() if error else 'failed'}")
        return errors

    def blocked_steps(self) -> list[str]:
        """Steps stopped by a failed blocking check: their downstream waits for a fixed batch."""
        return [
            event.step_key
            for result in (self.bronze, self.downstream)
            for event in (result.all_events if result else [])
            if event.event_type_value == "STEP_FAILURE"
            and event.step_failure_data.error is not None
            and event.step_failure_data.error.cls_name == BLOCKED_BY_CHECKS
        ]


def run_pipeline(
    home: DataHome,
    *,
    engine: str = "pandera",
    layers: tuple[str, ...] = ("bronze", "silver", "gold"),
    retailers: list[str] | None = None,
    instance: dg.DagsterInstance | None = None,
    log_level: str = "WARNING",
) -> PipelineRun:
    """Bronze, then silver and gold (the `layers` after bronze) for `retailers` (default all)."""
    defs = build_definitions(CONTRACTS_DIR)
    instance = instance or open_instance(home)
    job = defs.resolve_implicit_global_asset_job_def()
    keys = [
        key
        for key in defs.get_repository_def().asset_graph.get_all_asset_keys()
        if retailers is None or key.path[0] == "gold" or key.path[1] in retailers
    ]
    bronze_keys = sorted((k for k in keys if k.path[0] == "bronze"), key=lambda k: k.path)
    later = [k for k in keys if k.path[0] in layers and k.path[0] != "bronze"]
    # GX loads in its worker while bronze runs (ADR 0013)
    selected = {tuple(k.path) for k in [*bronze_keys, *later]}
    warm_up(name for node in build_plan(CONTRACTS_DIR).nodes if node.key in selected
            for name in engines_for(node.contract, node.object, engine))
    os.environ["SHELFGUARD_HOME"] = str(home.root)
    bronze = job.execute_in_process(
        run_config=_run_config(bronze_keys, engine, log_level),
        instance=instance,
        asset_selection=bronze_keys,
        raise_on_error=False,
        tags={"shelfguard/run": "pipeline-bronze"},
    )
    downstream = None
    if later:
        downstream = job.execute_in_process(
            run_config=_run_config(later, engine, log_level),
            instance=instance,
            asset_selection=later,
            raise_on_error=False,
            tags={"shelfguard/run": "pipeline-downstream"},
        )
    return PipelineRun(bronze, downstream)


def _run_config(keys: list[dg.AssetKey], engine: str, log_level: str) -> dict:
    return {
        "ops": {op_name(k): {"config": {"engine": engine}} for k in keys},
        "loggers": {"console": {"config": {"log_level": log_level}}},
    }
