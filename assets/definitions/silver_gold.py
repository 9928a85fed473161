"""Generated silver and gold assets: one per retailer and canonical object, one per gold table.

Nothing here is per retailer. Every canonical rule is an asset check with its numbers, Dagster-blocking
where the rule holds a batch back, as in bronze: a blocked silver batch is recorded (`action:
blocked`, nothing published) and its failed blocking check fails the step, so the run is red and the
retailer's downstream silver waits; a gold table whose batch of one retailer was blocked is
materialized with the other retailers' rows and its failed blocking check fails the step.
Declarative automation moves a new bronze delivery to gold without anyone clicking, in runs that
never mix retailers or layers (`assets.definitions.automation`), so one retailer's blocked batch
stops no other retailer.
(No `from __future__ import annotations`: Dagster reads the config class from the annotation.)
"""

from pathlib import Path

import dagster as dg
import polars as pl
from pydantic import Field

from assets.definitions.column_lineage import dagster_column_lineage
from assets.definitions.freshness import canonical_freshness_policy
from assets.definitions.gating import (
    CheckedBatch,
    Metadata,
    check_results,
    check_specs,
    column_schema,
    contract_metadata,
)
from assets.definitions.resources.home import DataHomeResource
from assets.definitions.resources.notifiers import NotifierResource
from assets.definitions.resources.openlineage import OpenLineageResource
from assets.definitions.resources.spark import SparkResource
from assets.definitions.spark_jobs import SparkJobLauncher, silver_outcome_from_job
from assets.gold.publish import GoldOutcome, gold_path, partition_columns, publish_gold
from assets.lineage.datasets import gated_batch, gold_lineage, silver_lineage
from assets.plan import CANONICAL_DIMS, CANONICAL_FACTS, AssetNode, PipelinePlan, retailer_code
from assets.silver.publish import MasterData, SilverOutcome, publish_silver, read_master
from assets.silver.transform import date_partitions
from assets.storage import tables
from checks.engines import DEFAULT_ENGINE
from checks.rules import compile_rules

RECONCILIATION_CHECK = "reconciliation_with_silver"
AUTOMATION = dg.AutomationCondition.eager().without(~dg.AutomationCondition.any_deps_missing())
"""Run when anything upstream was materialised, even while another retailer has no data yet."""


class LayerConfig(dg.Config):
    engine: str = Field(DEFAULT_ENGINE, description="Gate engine: one of checks.engines.ENGINES.")


def _table_metadata(layer: str, node: AssetNode, path: Path) -> Metadata:
    return {
        "dagster/table_name": f"{layer}.{node.table}",
        "dagster/uri": dg.MetadataValue.path(str(path)),
        "dagster/column_schema": column_schema(node.contract, node.object),
        "dagster/row_count": tables.row_count(path),
        "table_version": tables.version(path),
        **contract_metadata(node.contract),
    }


def silver_metadata(outcome: SilverOutcome, node: AssetNode) -> Metadata:
    metadata: Metadata = {
        **_table_metadata("silver", node, Path(outcome.table_path)),
        "action": outcome.action,
        "verdict": str(outcome.gate.verdict) if outcome.gate else "not_run",
        "deliveries": dg.MetadataValue.json(outcome.deliveries),
        "retired_deliveries": dg.MetadataValue.json(outcome.retired_deliveries),
        "rows_in": outcome.rows_in,
        "rows_superseded": outcome.rows_superseded,
        "rows_written": outcome.rows_written,
        "rows_deleted": outcome.rows_deleted,
        "rows_quarantined": outcome.rows_quarantined,
        "quarantine_path": outcome.quarantine_path,
    }
    if outcome.unmatched:
        metadata["unmatched_master_keys"] = dg.MetadataValue.json(outcome.unmatched)
        metadata["unmatched_count"] = sum(int(u["unmatched"]) for u in outcome.unmatched)
    if outcome.master_problems:
        metadata["master_problems"] = dg.MetadataValue.text("\n".join(outcome.master_problems))
    if outcome.parse_failures:
        metadata["parse_failures"] = dg.MetadataValue.json(outcome.parse_failures)
    return {k: v for k, v in metadata.items() if v is not None}


def build_silver_asset(plan: PipelinePlan, node: AssetNode) -> dg.AssetsDefinition:
    code = str(node.retailer)
    contract = next(c for c in plan.retailers if retailer_code(c) == code)
    canonical = node.contract
    rules = compile_rules(canonical, node.object)
    key = dg.AssetKey(list(node.key))
    partitioned_by = date_partitions(node.object)

    @dg.asset(
        key=key,
        deps=[dg.AssetKey(list(dep)) for dep in node.deps],
        group_name=code,
        owners=canonical.owners,
        kinds={contract.execution_engine, "delta", "silver"},
        tags={"retailer": code, "layer": "silver"},
        description=f"{canonical.object(node.object).get('description', node.object)} Retailer: {code}.",
        check_specs=check_specs(rules, key),
        freshness_policy=canonical_freshness_policy(canonical, node.object, [contract]),
        automation_condition=AUTOMATION,
        metadata={
            **contract_metadata(canonical),
            "dagster/column_schema": column_schema(canonical, node.object),
            "dagster/table_name": f"silver.{node.table}",
            **({"partitioned_by": ", ".join(partitioned_by)} if partitioned_by else {}),
        },
    )
    def silver(
        context: dg.AssetExecutionContext,
        config: LayerConfig,
        home: DataHomeResource,
        openlineage: OpenLineageResource,
        shelfguard_notifier: NotifierResource,
        spark: SparkResource,
        spark_job: SparkJobLauncher,
    ) -> dg.MaterializeResult:
        data_home = home.home()
        inputs, outputs = silver_lineage(plan, node.key, data_home)
        with openlineage.run(context, inputs=inputs, outputs=outputs) as lineage_run:
            master = (
                read_master(data_home, plan.master, engine=config.engine)
                if node.object in CANONICAL_DIMS
                else MasterData()
            )
            if contract.execution_engine == "spark" and spark_job.runs_spark_steps:
                # a Databricks job through Dagster Pipes (docs/spark-jobs.md); reported as if run here
                outcome = silver_outcome_from_job(
                    context,
                    spark_job,
                    {
                        "canonical_object": node.object,
                        "home": str(data_home.root),
                        "engine": config.engine,
                        "contract": str(contract.path),
                        "canonical": str(canonical.path),
                        "master": str(plan.master.path),
                    },
                )
            else:
                outcome = publish_silver(
                    data_home,
                    contract,
                    canonical,
                    plan.master,
                    node.object,
                    engine=config.engine,
                    master_data=master,
                    spark=spark.session() if contract.execution_engine == "spark" else None,
                )
            inputs, outputs = silver_lineage(plan, node.key, data_home, master_files=master.files)
            if outcome.gate is not None:
                lineage_run.gate([gated_batch(outputs[0], outcome.gate)])
            lineage_run.complete(inputs=inputs, outputs=outputs)
        if outcome.blocked and outcome.gate is not None:
            context.log.warning(
                f"{code} {node.object}: batch blocked by {', '.join(outcome.gate.blocking_rule_ids)}; "
                "nothing published"
            )
            shelfguard_notifier.send_gate_failure(
                code,
                key.to_user_string(),
                canonical.id,
                ", ".join(outcome.deliveries) or node.table,
                outcome.gate.blocking_rule_ids,
            )
        sample = outcome.violating_sample if outcome.violating_sample is not None else pl.DataFrame()
        batches = (
            [CheckedBatch(_silver_batch_label(code, outcome.deliveries), outcome.gate,
                          sample, outcome.quarantine_path, deliveries=outcome.deliveries)]
            if outcome.gate is not None
            else []
        )
        metadata = {
            **silver_metadata(outcome, node),
            "dagster/column_lineage": dagster_column_lineage(outputs[0], plan, data_home),
        }
        # A blocked batch is recorded with `action: blocked`; its failed blocking checks fail the step.
        return dg.MaterializeResult(
            metadata=metadata, check_results=check_results(rules, batches, canonical, config.engine)
        )

    return silver


def _reconciliation_result(outcomes: list[GoldOutcome]) -> dg.AssetCheckResult:
    failed = [o for o in outcomes if "reconciliation" in o.blocked_by]
    return dg.AssetCheckResult(
        check_name=RECONCILIATION_CHECK,
        passed=not failed,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "retailers_checked": len({o.retailer_code for o in outcomes if o.action != "unchanged"}),
            "retailers_blocked": dg.MetadataValue.json([o.retailer_code for o in failed]),
            "mismatches": dg.MetadataValue.json({o.retailer_code: o.reconciliation[:20] for o in failed}),
        },
    )


def _silver_batch_label(code: str, deliveries: list[str]) -> str:
    """What a silver check names as the batch it judged: the retailer and the deliveries it took in."""
    if len(deliveries) == 1:
        return f"{code} batch of delivery {deliveries[0]}"
    return f"{code} batch of {len(deliveries)} deliveries"


def gold_metadata(outcomes: list[GoldOutcome], node: AssetNode, path: Path) -> Metadata:
    return {
        **_table_metadata("gold", node, path),
        "retailers": dg.MetadataValue.json(
            {
                f"{o.retailer_code} {o.part}" if o.part != "1/1" else o.retailer_code: {
                    "action": o.action,
                    "silver_version": o.silver_version,
                    "upserted": o.rows_upserted,
                    "deleted": o.rows_deleted,
                    "quarantined": o.rows_quarantined,
                    "blocked_by": o.blocked_by,
                    **({"note": o.note} if o.note else {}),
                }
                for o in outcomes
            }
        ),
        "retailers_held_back_in_silver": dg.MetadataValue.json(
            {o.retailer_code: o.note for o in outcomes if o.note}
        ),
        "rows_upserted": sum(o.rows_upserted for o in outcomes),
        "rows_deleted": sum(o.rows_deleted for o in outcomes),
        "rows_quarantined": sum(o.rows_quarantined for o in outcomes),
        "retailers_blocked": dg.MetadataValue.json(
            sorted({o.retailer_code for o in outcomes if o.blocked_by})
        ),
    }


def build_gold_asset(plan: PipelinePlan, node: AssetNode) -> dg.AssetsDefinition:
    canonical = node.contract
    rules = compile_rules(canonical, node.object)
    key = dg.AssetKey(list(node.key))
    codes = sorted({str(plan.node(dep).retailer) for dep in node.deps})
    on_spark = [
        retailer_code(c)
        for c in plan.retailers
        if retailer_code(c) in codes and c.execution_engine == "spark"
    ]
    specs = check_specs(rules, key)
    if node.object in CANONICAL_FACTS:
        specs.append(
            dg.AssetCheckSpec(
                RECONCILIATION_CHECK,
                asset=key,
                blocking=True,
                description=(
                    "Per retailer and date, gold's units and sales after the MERGE equal the promoted "
                    "silver totals; a retailer's batch that does not is blocked."
                ),
            )
        )

    @dg.asset(
        key=key,
        deps=[dg.AssetKey(list(dep)) for dep in node.deps],
        group_name="gold",
        owners=canonical.owners,
        kinds={"polars", "delta", "gold"},
        tags={"layer": "gold"},
        description=f"{canonical.object(node.object).get('description', node.object)} All retailers, "
        f"partitioned by {', '.join(partition_columns(node.object))}, upserted with Delta MERGE.",
        check_specs=specs,
        freshness_policy=canonical_freshness_policy(
            canonical, node.object, [c for c in plan.retailers if retailer_code(c) in codes]
        ),
        automation_condition=AUTOMATION,
        metadata={
            **contract_metadata(canonical),
            "dagster/column_schema": column_schema(canonical, node.object),
            "dagster/table_name": f"gold.{node.table}",
            "partitioned_by": ", ".join(partition_columns(node.object)),
        },
    )
    def gold(
        context: dg.AssetExecutionContext,
        config: LayerConfig,
        home: DataHomeResource,
        openlineage: OpenLineageResource,
        shelfguard_notifier: NotifierResource,
        spark: SparkResource,
    ) -> dg.MaterializeResult:
        data_home = home.home()
        inputs, outputs = gold_lineage(plan, node.key, data_home)
        with openlineage.run(context, inputs=inputs, outputs=outputs) as lineage_run:
            outcomes = publish_gold(
                data_home,
                canonical,
                node.object,
                codes,
                engine=config.engine,
                spark=spark.session() if on_spark else None,
                on_spark=on_spark,
            )
            for gate in (o.gate for o in outcomes if o.gate is not None):
                lineage_run.gate([gated_batch(outputs[0], gate)])
        for outcome in outcomes:
            if outcome.blocked_by:
                context.log.warning(
                    f"gold {node.object}: {outcome.retailer_code}'s batch blocked by "
                    f"{', '.join(outcome.blocked_by)}; its partition is unchanged"
                )
                shelfguard_notifier.send_gate_failure(
                    outcome.retailer_code,
                    key.to_user_string(),
                    canonical.id,
                    f"silver version {outcome.silver_version}",
                    outcome.blocked_by,
                )
        batches = [
            CheckedBatch(f"{o.retailer_code} {o.part}", o.gate, o.violating_sample, o.quarantine_path)
            for o in outcomes
            if o.gate is not None and o.violating_sample is not None
        ]
        results = check_results(rules, batches, canonical, config.engine)
        if node.object in CANONICAL_FACTS:
            results.append(_reconciliation_result(outcomes))
        metadata = {
            **gold_metadata(outcomes, node, gold_path(data_home, node.object)),
            "dagster/column_lineage": dagster_column_lineage(outputs[0], plan, data_home),
        }
        return dg.MaterializeResult(metadata=metadata, check_results=results)

    return gold


def silver_gold_assets(plan: PipelinePlan) -> list[dg.AssetsDefinition]:
    """Every silver and gold asset of the plan, in plan order."""
    built = []
    for node in plan.nodes:
        if node.layer == "silver":
            built.append(build_silver_asset(plan, node))
        elif node.layer == "gold":
            built.append(build_gold_asset(plan, node))
    return built
