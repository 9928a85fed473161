"""Generated bronze assets: one asset per retailer object (their jobs and sensors:
`assets.definitions.deliveries`).

Nothing here is per retailer: adding a folder under contracts/retailers/ adds its assets and checks.
"""

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import polars as pl
from pydantic import Field

from assets.bronze.ingest import STAMP_SCHEMA, BronzeWriter, IngestOutcome, replay
from assets.bronze.ledger import HELD_BACK_VERDICTS, last_watermark, read_ledger
from assets.definitions.column_lineage import bronze_column_lineage
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
from assets.definitions.sources import source_key
from assets.intake import LANDING, channel_of, get_channel
from assets.intake.base import ChannelError, Delivery, IntakeRequest
from assets.lineage.datasets import bronze_output, source_dataset
from assets.lineage.facets import metrics_facet
from assets.plan import AssetNode, retailer_code
from checks.contract import Contract
from checks.engines import DEFAULT_ENGINE
from checks.rules import compile_rules
from shelfguard.settings import DataHome

STAMP_FIELDS = [(name, str(dtype)) for name, dtype in STAMP_SCHEMA.items()]
"""Bronze stamp columns as (name, type) for the lineage schema facet."""


class BronzeConfig(dg.Config):
    files: list[str] = Field(
        default_factory=list,
        description="Landing files to take in; empty means every new file of the object.",
    )
    replay: list[str] = Field(
        default_factory=list,
        description="Delivery ids to gate again with the current contract (after a fix).",
    )
    engine: str = Field(DEFAULT_ENGINE, description="Gate engine: one of checks.engines.ENGINES.")


def op_name(key: dg.AssetKey) -> str:
    return key.to_python_identifier()


def bronze_run_config(key: dg.AssetKey, **config: object) -> dict:
    return {"ops": {op_name(key): {"config": config}}}


def pending_deliveries(
    home: DataHome,
    contract: Contract,
    object_name: str,
    config: BronzeConfig,
    ledger: pl.DataFrame,
) -> list[Delivery]:
    """New landing files (or the given ones), or one pull from where the ledger's watermark says."""
    code = retailer_code(contract)
    return get_channel(channel_of(contract)).deliveries(IntakeRequest(
        home=home, contract=contract, object_name=object_name, ledger=ledger, now=datetime.now(UTC),
        watermark=last_watermark(ledger, code, object_name), files=[Path(p) for p in config.files],
    ))


def build_bronze_asset(node: AssetNode) -> dg.AssetsDefinition:
    """The asset of one retailer object. It has no Dagster freshness policy: a policy judges when the
    asset was materialized, the contract's SLA when the retailer delivered, so its freshness is the
    `delivery_on_time` check alone (ADR 0009)."""
    contract = node.contract
    code = retailer_code(contract)
    rules = compile_rules(contract, node.object)
    key = dg.AssetKey(list(node.key))
    obj = contract.object(node.object)

    # A multi_asset only for `can_subset`: with it the asset and its checks may go unreported, which a
    # run that took nothing in needs (`@asset(output_required=False)` still demands every check result).
    @dg.multi_asset(
        name=op_name(key),
        specs=[
            dg.AssetSpec(
                key,
                deps=[source_key(contract, node.object)],
                group_name=code,
                owners=contract.owners,
                kinds={"polars", "delta", "bronze"},
                tags={"retailer": code, "layer": "bronze", "channel": channel_of(contract)},
                description=f"{obj.get('description', node.object)}\n\n{contract.description}",
                metadata={
                    **contract_metadata(contract),
                    "dagster/column_schema": column_schema(contract, node.object),
                    "dagster/table_name": f"bronze.{node.table}",
                },
            )
        ],
        check_specs=check_specs(rules, key),
        can_subset=True,
    )
    def bronze(
        context: dg.AssetExecutionContext,
        config: BronzeConfig,
        home: DataHomeResource,
        openlineage: OpenLineageResource,
        shelfguard_notifier: NotifierResource,
    ) -> Iterator[dg.MaterializeResult]:
        """Materializes only when the run took a delivery in: an empty poll is no delivery, so it must
        neither refresh the asset's freshness nor pass its checks over no data."""
        if key not in context.selected_asset_keys:
            raise dg.Failure(description="the rule checks judge the deliveries of a bronze run; "
                             f"materialize {key.to_user_string()} to run them")
        data_home = home.home()
        with openlineage.run(context) as lineage_run:
            outcomes = take_in(context, data_home, contract, node.object, config)
            sources = [
                source_dataset(
                    contract,
                    node.object,
                    Path(o.entry.source) if o.entry.channel == LANDING else None,
                    gate=o.gate,
                    metrics=metrics_facet(o.entry.rows, o.null_counts),
                )
                for o in outcomes
            ]
            output = bronze_output(contract, node.object, data_home, sources, extra_fields=STAMP_FIELDS)
            lineage_run.complete(inputs=sources, outputs=[output])
        if not outcomes:
            context.log.info("nothing new delivered: no materialization")
            return
        for outcome in outcomes:
            if outcome.entry.verdict in HELD_BACK_VERDICTS:
                shelfguard_notifier.send_gate_failure(
                    code,
                    key.to_user_string(),
                    contract.id,
                    outcome.entry.delivery_id,
                    outcome.entry.blocking_rules.split(",")
                    if outcome.entry.blocking_rules
                    else [outcome.entry.reason],
                )
        yield _materialize_result(context, data_home, contract, node, rules, outcomes, config.engine)

    return bronze


def take_in(
    context: dg.AssetExecutionContext,
    home: DataHome,
    contract: Contract,
    object_name: str,
    config: BronzeConfig,
) -> list[IngestOutcome]:
    """Gate the run's deliveries (new ones, the given files, or replays) and record them."""
    if config.replay:
        return [replay(home, contract, delivery_id, engine=config.engine) for delivery_id in config.replay]
    outcomes = []
    # Under the object's lock: a concurrent run waits, then finds these deliveries in the ledger.
    with BronzeWriter(home, retailer_code(contract), object_name) as writer:
        try:
            deliveries = pending_deliveries(home, contract, object_name, config, writer.ledger)
        except ChannelError as exc:
            raise dg.Failure(description=str(exc)) from None
        for delivery in deliveries:
            outcome = writer.ingest(contract, delivery, engine=config.engine)
            if outcome is None:
                context.log.info(f"{delivery.source}: same content as an earlier delivery, ingested once")
            else:
                outcomes.append(outcome)
    return outcomes


def _materialize_result(
    context: dg.AssetExecutionContext,
    home: DataHome,
    contract: Contract,
    node: AssetNode,
    rules: list,
    outcomes: list[IngestOutcome],
    engine: str,
) -> dg.MaterializeResult:
    batches = [
        CheckedBatch(o.entry.delivery_id, o.gate, o.violating_sample, o.entry.quarantine_path, o.entry.source)
        for o in outcomes
        if o.gate is not None
    ]
    entries = [o.entry for o in outcomes]
    for entry in entries:
        if entry.verdict in HELD_BACK_VERDICTS:
            context.log.warning(
                f"delivery {entry.delivery_id} ({entry.source}) {entry.verdict}: {entry.reason}"
            )
    watermark = last_watermark(read_ledger(home.warehouse), retailer_code(contract), node.object)
    table_path = home.table("bronze", node.table)
    metadata: Metadata = {
        "dagster/row_count": sum(e.rows for e in entries if e.in_bronze),
        "dagster/table_name": f"bronze.{node.table}",
        "dagster/uri": dg.MetadataValue.path(str(table_path)),
        "dagster/column_schema": column_schema(contract, node.object),
        "dagster/column_lineage": bronze_column_lineage(contract, node.object),
        "deliveries": len(entries),
        "delivery_id": ", ".join(e.delivery_id for e in entries),
        "delivered_at": dg.MetadataValue.timestamp(max(e.delivered_at for e in entries)),
        "rows_delivered": sum(e.rows for e in entries),
        "rows_accepted": sum(e.rows_published for e in entries if e.verdict not in HELD_BACK_VERDICTS),
        "rows_quarantined": sum(e.rows_quarantined for e in entries),
        "deliveries_blocked": sum(e.verdict in HELD_BACK_VERDICTS for e in entries),
        "ledger": dg.MetadataValue.json(
            [
                {
                    "delivery_id": e.delivery_id,
                    "source": e.source,
                    "verdict": e.verdict,
                    "rows": e.rows,
                    "published": e.rows_published,
                    "quarantined": e.rows_quarantined,
                    "blocking_rules": e.blocking_rules,
                    "reason": e.reason,
                }
                for e in entries
            ]
        ),
        **contract_metadata(contract),
    }
    if watermark is not None:
        metadata["watermark"] = watermark
    selected = context.selected_asset_check_keys
    return dg.MaterializeResult(
        asset_key=context.asset_key,
        metadata=metadata,
        check_results=[
            r for r in check_results(rules, batches, contract, engine)
            if dg.AssetCheckKey(context.asset_key, r.check_name) in selected
        ],
    )
