"""The input and output datasets of every asset, with their facets, from the contracts.

We know from the contracts what each table reads and writes, column by column, so lineage is built
here rather than guessed from Dagster: bronze reads the delivery (landing file, database table or
API endpoint), silver reads the retailer's bronze tables (facts also its silver dimensions,
dimensions also the corporate master files), gold reads the silver tables of every retailer. The
transformations named here follow `assets.silver.mapping` and `assets.silver.transform`, whose
constants they reuse.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from openlineage.client.event_v2 import InputDataset, OutputDataset
from openlineage.client.facet_v2 import InputDatasetFacet, column_lineage_dataset

from assets.plan import (
    CANONICAL_FACTS,
    CANONICAL_OBJECTS,
    ColumnMapping,
    PipelinePlan,
    bronze_table,
    column_mappings,
    retailer_code,
    server_options,
    silver_key,
)
from assets.silver.mapping import ID_COLUMNS, STAMP_COLUMNS
from assets.silver.transform import DIMS, enrichments
from checks.access import masked_measures
from checks.contract import Contract, custom_properties, properties_of
from shelfguard.settings import DataHome

from .facets import (
    GateResultLike,
    assertions_facet,
    column_lineage_facet,
    contract_facets,
    gate_metrics,
    input_field,
    transform_field,
)
from .naming import DatasetId, api_dataset, database_dataset, file_dataset, table_dataset

WEEKLY_KEY = ("retailer_code", "site_id", "product_id")
WEEKLY_ROLLUP = {
    "week_end_date": ("sale_date", "TRANSFORMATION", "the Sunday that ends the week of sale_date"),
    "units_sold": ("units_sold", "AGGREGATION", "sum over the week"),
    "net_sales": ("net_sales", "AGGREGATION", "sum over the week"),
    "on_hand_units": ("on_hand_units", "AGGREGATION", "last reported value of the week"),
    "updated_at": ("updated_at", "AGGREGATION", "latest of the week"),
    "ingested_at": ("ingested_at", "AGGREGATION", "latest of the week"),
}
"""weekly_store_fact from daily_store_fact for retailers that deliver daily
(`assets.silver.transform.weekly_rollup`): the key columns as they are, these as said, the others
from the week's latest row."""

ExtraFields = Iterable[tuple[str, str]]


class LineageError(ValueError):
    """Lineage cannot be named from the contract and what the caller passed."""


def _server(contract: Contract) -> dict[str, Any]:
    if not contract.servers:
        raise LineageError(f"{contract.path}: the contract has no server, so its source cannot be named")
    return server_options(contract)


Location = str | os.PathLike[str] | None


def source_id(contract: Contract, object_name: str, location: Location = None) -> DatasetId:
    """Where a retailer object is delivered, named from the contract's server.

    landing: `location` is the delivered file (required). retailer_db: `location` is the database URL,
    default the environment variable named by `urlEnv`; the table is the object's `physicalName`.
    retailer_api: `location` is the base URL, default `locationEnv` or the server `location`, plus the
    object's `endpoint`. Credentials in the URL never reach the name.
    """
    server = _server(contract)
    obj = contract.object(object_name)
    custom = custom_properties(obj.get("customProperties"))
    if server.get("type") == "local":
        if location is None:
            raise LineageError(f"{contract.path}: a landing delivery needs the delivered file's path")
        return file_dataset(location)
    if server.get("type") == "api":
        base = location or os.environ.get(str(server.get("locationEnv") or ""), "") or server.get("location")
        if not base:
            raise LineageError(f"{contract.path}: the API server has no location")
        return api_dataset(str(base), str(custom.get("endpoint") or f"/{object_name}"))
    url = location or os.environ.get(str(server.get("urlEnv") or ""), "")
    if not url:
        raise LineageError(f"{contract.path}: no database URL (set ${server.get('urlEnv')})")
    return database_dataset(str(url), str(obj.get("physicalName") or object_name))


def source_dataset(contract: Contract, object_name: str, location: Location = None, *,
                   gate: GateResultLike | Mapping[str, Any] | None = None,
                   metrics: InputDatasetFacet | None = None) -> InputDataset:
    """A delivery as a bronze input, described by the retailer contract, with its gate's results."""
    dataset = source_id(contract, object_name, location)
    facets = contract_facets(contract, object_name)
    return checked(InputDataset(dataset.namespace, dataset.name, facets=facets), gate, metrics)


def checked(dataset: InputDataset | DatasetId, gate: GateResultLike | Mapping[str, Any] | None = None,
            metrics: InputDatasetFacet | None = None) -> InputDataset:
    """The dataset a gate ran on, as an input with the gate's results (`dataQualityAssertions`) and
    the batch's metrics (`dataQualityMetrics`) — input facets, as the spec defines them."""
    if isinstance(dataset, DatasetId):
        dataset = InputDataset(dataset.namespace, dataset.name)
    input_facets = dict(dataset.inputFacets or {})
    if gate is not None:
        input_facets["dataQualityAssertions"] = assertions_facet(gate)
    if metrics is not None:
        input_facets["dataQualityMetrics"] = metrics
    return InputDataset(dataset.namespace, dataset.name, facets=dataset.facets, inputFacets=input_facets)


def gated_batch(table: OutputDataset, gate: GateResultLike | Mapping[str, Any]) -> InputDataset:
    """A silver or gold batch as the input of its gate job: write–audit–publish checks the batch on
    its way into `table`, so the batch is named as that table and described by its contract (the
    columns the assertions name), carrying the gate's assertions and the metrics its result gives."""
    facets = {key: facet for key, facet in (table.facets or {}).items() if key != "columnLineage"}
    return checked(InputDataset(table.namespace, table.name, facets=facets), gate, gate_metrics(gate))


def _as_id(dataset: DatasetId | InputDataset) -> DatasetId:
    return dataset if isinstance(dataset, DatasetId) else DatasetId(dataset.namespace, dataset.name)


def _output(dataset: DatasetId, contract: Contract, object_name: str, extra_fields: ExtraFields,
            lineage: Mapping[str, Sequence[column_lineage_dataset.InputField]]) -> OutputDataset:
    facets = {**contract_facets(contract, object_name, extra_fields),
              "columnLineage": column_lineage_facet(lineage)}
    return OutputDataset(dataset.namespace, dataset.name, facets=facets)


def bronze_output(contract: Contract, object_name: str, home: DataHome,
                  sources: Iterable[DatasetId | InputDataset], *,
                  extra_fields: ExtraFields = ()) -> OutputDataset:
    """The bronze table: the delivered columns as they came, each from the same column of every source."""
    code = retailer_code(contract)
    ids = [_as_id(s) for s in sources]
    lineage = {prop["name"]: [input_field(src, prop["name"]) for src in ids]
               for prop in properties_of(contract.object(object_name))}
    return _output(table_dataset(home, "bronze", bronze_table(code, object_name)), contract, object_name,
                   extra_fields, lineage)


def _silver_columns(mappings: Sequence[ColumnMapping], code: str, canonical_object: str,
                    home: DataHome) -> dict[str, list[column_lineage_dataset.InputField]]:
    """Canonical column ← retailer bronze columns (the contract's `canonical` mapping), the bronze
    stamps carried into silver, and a dimension's surrogate key ← the columns it is a hash of."""
    lineage: dict[str, list[column_lineage_dataset.InputField]] = {}
    sources = []
    for m in mappings:
        if m.canonical_object != canonical_object:
            continue
        bronze = table_dataset(home, "bronze", bronze_table(code, m.retailer_object))
        sources += [bronze] if bronze not in sources else []
        if m.canonical_column in ID_COLUMNS and not m.transform:
            field = input_field(bronze, m.retailer_column, "TRANSFORMATION",
                                f"the retailer's id prefixed with the retailer code ({code}:)")
        else:
            field = transform_field(bronze, m.retailer_column, m.transform)
        lineage.setdefault(m.canonical_column, []).append(field)
    for stamp, column in STAMP_COLUMNS.items():
        lineage[column] = [input_field(bronze, stamp) for bronze in sources]
    if canonical_object in DIMS:
        spec = DIMS[canonical_object]
        hashed = ", ".join(spec.key_columns)
        lineage[spec.surrogate_key] = [
            input_field(DatasetId(f.namespace, f.name), f.field, "TRANSFORMATION",
                        f"surrogate key: sha256 of {hashed}")
            for column in spec.key_columns for f in lineage.get(column, [])]
    return lineage


def _master_columns(master: Contract, canonical: Contract, dim: str, master_files: Mapping[str, Location]
                    ) -> tuple[list[InputDataset], dict[str, list[column_lineage_dataset.InputField]]]:
    """The corporate master files a dimension was enriched from, and the columns copied from them."""
    inputs, lineage = [], {}
    for enrichment in enrichments(master, canonical, dim):
        if enrichment.master_object not in master_files:
            continue
        source = source_dataset(master, enrichment.master_object, master_files[enrichment.master_object])
        inputs.append(source)
        for column in enrichment.columns:
            lineage[column] = [input_field(_as_id(source), column, "IDENTITY",
                                           f"from the corporate master, matched by {enrichment.key}")]
    return inputs, lineage


def silver_lineage(plan: PipelinePlan, key: Sequence[str], home: DataHome, *, extra_fields: ExtraFields = (),
                   master_files: Mapping[str, Location] | None = None
                   ) -> tuple[list[InputDataset], list[OutputDataset]]:
    """Inputs (the asset's upstream tables, and for dimensions the corporate master files it read,
    `master_files` = master object → file) and output (the silver table with column lineage)."""
    node = plan.node(key)
    code = str(node.retailer)
    contract = next(c for c in plan.retailers if retailer_code(c) == code)
    lineage = _silver_columns(column_mappings(contract), code, node.object, home)
    inputs = [InputDataset(d.namespace, d.name)
              for d in (table_dataset(home, dep[0], plan.node(dep).table) for dep in node.deps)]
    if node.object in DIMS:
        master_inputs, master_lineage = _master_columns(plan.master, node.contract, node.object,
                                                        master_files or {})
        inputs += master_inputs
        lineage.update(master_lineage)
    for dim, spec in DIMS.items():
        if node.object in CANONICAL_FACTS and silver_key(code, dim) in node.deps:
            dim_table = table_dataset(home, "silver", plan.node(silver_key(code, dim)).table)
            looked_up = f"looked up by {spec.natural_key} as of the sale date"
            lineage[spec.surrogate_key] = [input_field(dim_table, spec.surrogate_key, "IDENTITY", looked_up)]
    daily_key = silver_key(code, "daily_store_fact")
    if node.object == "weekly_store_fact" and daily_key in node.deps:
        daily = table_dataset(home, "silver", plan.node(daily_key).table)
        for prop in properties_of(node.contract.object(node.object)):
            column = prop["name"]
            default = (column, "IDENTITY", None) if column in WEEKLY_KEY else (
                column, "AGGREGATION", "from the week's latest row")
            source, subtype, description = WEEKLY_ROLLUP.get(column, default)
            if column != "extra_attributes":
                lineage.setdefault(column, [input_field(daily, source, subtype, description)])
    output = _output(table_dataset(home, "silver", node.table), node.contract, node.object, extra_fields,
                     lineage)
    return inputs, [output]


def gold_lineage(plan: PipelinePlan, key: Sequence[str], home: DataHome, *,
                 extra_fields: ExtraFields = ()) -> tuple[list[InputDataset], list[OutputDataset]]:
    """Inputs (every retailer's silver table) and output (the gold table, each column from theirs)."""
    node = plan.node(key)
    silver = [table_dataset(home, "silver", plan.node(dep).table) for dep in node.deps]
    lineage = {prop["name"]: [input_field(s, prop["name"]) for s in silver]
               for prop in properties_of(node.contract.object(node.object))}
    output = _output(table_dataset(home, "gold", node.table), node.contract, node.object, extra_fields,
                     lineage)
    return [InputDataset(s.namespace, s.name) for s in silver], [output]


def gold_views_lineage(plan: PipelinePlan, home: DataHome, databases: Mapping[str, Any]
                       ) -> tuple[list[InputDataset], list[OutputDataset]]:
    """Inputs (the gold tables) and outputs (each group's database of views, one dataset per view
    named `duckdb://<file>` + table, like a SQLite file): every column from the same gold column,
    the antitrust-masked measures as a masking transformation, rows filtered by secure group key."""
    canonical = plan.canonical
    gold = {obj: table_dataset(home, "gold", obj) for obj in CANONICAL_OBJECTS}
    outputs = []
    for path in databases.values():
        for obj, source in gold.items():
            masked = set(masked_measures(canonical, obj))
            row_filter = input_field(source, "secure_group_key", "FILTER", "rows of the group's granted keys",
                                     type_="INDIRECT")
            lineage = {
                prop["name"]: [
                    input_field(source, prop["name"], "TRANSFORMATION",
                                "NULL for competition rows younger than the masking horizon", masking=True)
                    if prop["name"] in masked else input_field(source, prop["name"]),
                    *([row_filter] if prop["name"] != "secure_group_key" else []),
                ]
                for prop in properties_of(canonical.object(obj))
            }
            outputs.append(_output(DatasetId(f"duckdb://{Path(path).resolve()}", obj), canonical, obj, (),
                                   lineage))
    return [InputDataset(s.namespace, s.name) for s in gold.values()], outputs
