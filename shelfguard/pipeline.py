"""Run the generated Dagster assets in-process on the data home's instance (demo, `shelfguard run`,
benchmarks).

`run_pipeline` (the demo): bronze first, every retailer object in one run; silver and gold follow in
the runs the automation sensors make (each retailer's silver alone, then gold, then the views), which
read only what the delivery ledger accepted, so a blocked delivery or batch stops nothing but itself.
`shelfguard run` takes the waiting deliveries through each retailer's ingest job (the job its sensor
starts, `ingest_retailer`), then silver and gold the same way (`run_downstream`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from assets.definitions import build_definitions
from assets.definitions.automation import run_groups
from assets.definitions.bronze import op_name
from assets.definitions.gold_views import GOLD_VIEWS_KEY
from assets.plan import bronze_key, build_plan
from checks.engines import DEFAULT_ENGINE, warm_up
from checks.gate import engines_for
from shelfguard.dagster_home import open_instance
from shelfguard.settings import CONTRACTS_DIR, DataHome

BLOCKED_BY_CHECKS = "DagsterAssetCheckFailedError"


def step_errors(results: Iterable[dg.ExecuteInProcessResult | None]) -> list[str]:
    """Steps that failed for another reason than a blocking check (a blocked batch is expected)."""
    errors = []
    for result in results:
        for event in result.all_events if result else []:
            if event.event_type_value != "STEP_FAILURE":
                continue
            error = event.step_failure_data.error
            if error is None or error.cls_name != BLOCKED_BY_CHECKS:
                errors.append(f"{event.step_key}: {error.message.strip() if error else 'failed'}")
    return errors


def blocked_steps(results: Iterable[dg.ExecuteInProcessResult | None]) -> list[str]:
    """Steps stopped by a failed blocking check: their downstream waits for a fixed batch."""
    return [
        event.step_key
        for result in results
        for event in (result.all_events if result else [])
        if event.event_type_value == "STEP_FAILURE"
        and event.step_failure_data.error is not None
        and event.step_failure_data.error.cls_name == BLOCKED_BY_CHECKS
    ]


@dataclass
class PipelineRun:
    bronze: dg.ExecuteInProcessResult
    downstream: list[dg.ExecuteInProcessResult]
    """The silver and gold runs, one per automation run group (each retailer's silver, gold, views)."""

    def errors(self) -> list[str]:
        return step_errors((self.bronze, *self.downstream))

    def blocked_steps(self) -> list[str]:
        return blocked_steps((self.bronze, *self.downstream))


def run_pipeline(
    home: DataHome,
    *,
    engine: str = DEFAULT_ENGINE,
    layers: tuple[str, ...] = ("bronze", "silver", "gold"),
    retailers: list[str] | None = None,
    instance: dg.DagsterInstance | None = None,
    log_level: str = "WARNING",
) -> PipelineRun:
    """Bronze, then silver and gold (the `layers` after bronze) for `retailers` (default all)."""
    defs = build_definitions(CONTRACTS_DIR)
    instance = instance or open_instance(home)
    job = defs.resolve_implicit_global_asset_job_def()
    plan = build_plan(CONTRACTS_DIR)
    keys = [
        dg.AssetKey(list(node.key))
        for node in plan.nodes
        if retailers is None or node.retailer is None or node.retailer in retailers
    ]
    bronze_keys = sorted((k for k in keys if k.path[0] == "bronze"), key=lambda k: k.path)
    later = [k for k in keys if k.path[0] in layers and k.path[0] != "bronze"]
    # GX loads in its worker while bronze runs (ADR 0013)
    warm_up_engines([*bronze_keys, *later], engine)
    os.environ["SHELFGUARD_HOME"] = str(home.root)
    bronze = job.execute_in_process(
        run_config=_run_config(bronze_keys, engine, log_level),
        instance=instance,
        asset_selection=bronze_keys,
        raise_on_error=False,
        tags={"shelfguard/run": "pipeline-bronze"},
    )
    return PipelineRun(bronze, _execute_downstream(defs, instance, later, engine, log_level))


def warm_up_engines(keys: Iterable[dg.AssetKey], engine: str) -> None:
    selected = {tuple(k.path) for k in keys}
    warm_up(name for node in build_plan(CONTRACTS_DIR).nodes if node.key in selected
            for name in engines_for(node.contract, node.object, engine))


def ingest_retailer(
    home: DataHome,
    code: str,
    files: dict[str, list[Path]],
    *,
    engine: str = DEFAULT_ENGINE,
    instance: dg.DagsterInstance,
    log_level: str = "WARNING",
) -> dg.ExecuteInProcessResult:
    """One run of the retailer's ingest job (the job its sensor starts) over `files` per object; an
    object given no files (a pull retailer's) is pulled."""
    defs = build_definitions(CONTRACTS_DIR)
    os.environ["SHELFGUARD_HOME"] = str(home.root)
    keys = {name: dg.AssetKey(list(bronze_key(code, name))) for name in files}
    config = {
        "ops": {op_name(key): {"config": {"engine": engine, "files": [str(p) for p in files[name]]}}
                for name, key in keys.items()},
        "loggers": {"console": {"config": {"log_level": log_level}}},
    }
    return defs.resolve_job_def(f"ingest_{code}").execute_in_process(
        run_config=config, instance=instance, asset_selection=list(keys.values()), raise_on_error=False,
        tags={"shelfguard/run": "run-bronze", "retailer": code},
    )


def run_downstream(
    home: DataHome,
    retailers: list[str],
    *,
    engine: str = DEFAULT_ENGINE,
    instance: dg.DagsterInstance,
    log_level: str = "WARNING",
) -> list[dg.ExecuteInProcessResult]:
    """Silver of `retailers` and gold, as the automation sensors run them (`_execute_downstream`)."""
    defs = build_definitions(CONTRACTS_DIR)
    os.environ["SHELFGUARD_HOME"] = str(home.root)
    keys = [
        dg.AssetKey(list(node.key))
        for node in build_plan(CONTRACTS_DIR).nodes
        if node.layer == "gold" or (node.layer == "silver" and node.retailer in retailers)
    ]
    return _execute_downstream(defs, instance, keys, engine, log_level)


def downstream_behind(home: DataHome, retailers: list[str]) -> list[str]:
    """Retailers whose silver or gold has not caught up (a run stopped between layers): an accepted
    fact delivery silver never recorded, or a silver table newer than the version gold last took.
    Dimension deliveries are not recorded per delivery in silver; the run that took them in promotes them."""
    import polars as pl

    from assets.bronze.ledger import ACCEPTED_VERDICTS, latest_attempts, read_ledger
    from assets.gold.publish import gold_path, taken_versions
    from assets.plan import CANONICAL_FACTS, CANONICAL_OBJECTS
    from assets.silver.publish import silver_ledger, silver_path
    from assets.storage import tables

    plan = build_plan(CONTRACTS_DIR)
    feeds_facts = {
        (node.retailer, node.object)
        for code in retailers
        for node in plan.retailer_nodes(code, "bronze")
        if any(node.key in n.deps and n.layer == "silver" and n.object in CANONICAL_FACTS for n in plan.nodes)
    }
    latest = latest_attempts(read_ledger(home.warehouse))
    accepted = latest.filter(pl.col("verdict").is_in(ACCEPTED_VERDICTS))
    seen = set(silver_ledger(home).select("retailer_code", "delivery_id").iter_rows())
    rows = accepted.select("retailer_code", "object", "delivery_id").iter_rows()
    behind = {code for code, obj, delivery in rows
              if (code, obj) in feeds_facts and (code, delivery) not in seen}
    for canonical_object in CANONICAL_OBJECTS:
        taken = taken_versions(gold_path(home, canonical_object))
        for code in retailers:
            current = tables.version(silver_path(home, code, canonical_object))
            if current is not None and taken.get(code) != current:
                behind.add(code)
    return [code for code in retailers if code in behind]


def _execute_downstream(defs: dg.Definitions, instance: dg.DagsterInstance, keys: list[dg.AssetKey],
                        engine: str, log_level: str) -> list[dg.ExecuteInProcessResult]:
    """Silver and gold `keys` in the automation sensors' runs: each retailer's silver alone, then gold,
    then (after any gold) the readers' views (docs/access.md), so a retailer's failed blocking check
    stops no other retailer; gold reads only what silver published."""
    wanted = set(keys)
    results = []
    for group in run_groups(build_plan(CONTRACTS_DIR)):
        selected = [k for k in group.keys if k in wanted or (k == GOLD_VIEWS_KEY and _any_gold(keys))]
        if not selected:
            continue
        results.append(defs.resolve_implicit_global_asset_job_def().execute_in_process(
            run_config=_run_config(selected, engine, log_level),
            instance=instance,
            asset_selection=selected,
            raise_on_error=False,
            tags={"shelfguard/run": "pipeline-downstream", **group.tags},
        ))
    return results


def _any_gold(keys: list[dg.AssetKey]) -> bool:
    return any(k.path[0] == "gold" for k in keys)


def _run_config(keys: list[dg.AssetKey], engine: str, log_level: str) -> dict:
    """The engine for every gated asset among `keys` (the gold views have no gate and no config)."""
    gated = {node.key for node in build_plan(CONTRACTS_DIR).nodes}
    return {
        "ops": {op_name(k): {"config": {"engine": engine}} for k in keys if tuple(k.path) in gated},
        "loggers": {"console": {"config": {"log_level": log_level}}},
    }
