"""OpenLineage facets built from contracts and gate results.

Every facet states its producer and the JSON schema it follows (`_schemaURL`), so a catalog can
validate it. The standard facets come from openlineage-python; the two of our own (data contract
and freshness SLA) ship their JSON schemas in `schemas/` and are published under `SCHEMA_BASE_URL`.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterable, Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol

import attr
from openlineage.client.facet_v2 import (
    DatasetFacet,
    column_lineage_dataset,
    data_quality_assertions_dataset,
    data_quality_metrics_input_dataset,
    documentation_dataset,
    error_message_run,
    job_type_job,
    ownership_dataset,
    parent_run,
    schema_dataset,
)

from checks.contract import Contract, properties_of
from checks.redaction import redact
from shelfguard.settings import PROJECT_ROOT

from .naming import DatasetId

try:
    _VERSION = metadata.version("shelfguard")
except metadata.PackageNotFoundError:  # running from a plain checkout
    _VERSION = "0.0.0"

PRODUCER = f"https://shelfguard.example/shelfguard/tree/{_VERSION}"
"""URI of the code that emits our events (`producer` and every facet's `_producer`)."""

SCHEMA_BASE_URL = "https://shelfguard.example/spec/facets/1-0-0/"
"""Where our own facet schemas are published; the files are shipped in `schemas/` by the same name."""

SCHEMAS_DIR = Path(__file__).with_name("schemas")

DATA_CONTRACT_FACET = "shelfguard_dataContract"
FRESHNESS_FACET = "shelfguard_freshness"
"""Our facet keys carry a prefix, as the spec asks of custom facets, so they never collide."""

TRANSFORM_DESCRIPTIONS = {
    "cents_to_units": "cents_to_units: the delivered value in cents divided by 100",
    "negate": "negate: the sign flipped (returns delivered as positive numbers)",
}

_ASSERTION_KINDS = {
    "nullValues": "not_null",
    "missingValues": "not_missing",
    "invalidValues": "valid_values",
    "duplicateValues": "unique",
    "rowCount": "row_count",
}
_SEVERITIES = {"block": "error", "quarantine": "quarantine", "warn": "warn"}


class GateResultLike(Protocol):
    """What we need of `checks.result.GateResult`: its JSON form (see gate-semantics.md)."""

    def model_dump(self, *, mode: str = ...) -> dict[str, Any]: ...


@attr.define
class DataContractDatasetFacet(DatasetFacet):
    """The data contract that governs the dataset: which version of which contract, from which file."""

    id: str
    version: str
    path: str
    status: str
    object: str | None = attr.field(default=None)

    @staticmethod
    def _get_schema() -> str:
        return f"{SCHEMA_BASE_URL}DataContractDatasetFacet.json#/$defs/DataContractDatasetFacet"


@attr.define
class FreshnessDatasetFacet(DatasetFacet):
    """The contract's delivery SLA (its `slaProperties`), with the timezone its schedule is in."""

    sla: list[dict[str, Any]]
    timezone: str | None = attr.field(default=None)

    @staticmethod
    def _get_schema() -> str:
        return f"{SCHEMA_BASE_URL}FreshnessDatasetFacet.json#/$defs/FreshnessDatasetFacet"


def schema_facet(obj: Mapping[str, Any], extra_fields: Iterable[tuple[str, str]] = ()) -> DatasetFacet:
    """Columns and types of a contract object; `extra_fields` are columns the pipeline adds (name, type)."""
    fields = [
        schema_dataset.SchemaDatasetFacetFields(
            name=prop["name"],
            type=str(prop.get("physicalType") or prop.get("logicalType") or "") or None,
            description=prop.get("description"),
            ordinal_position=position,
        )
        for position, prop in enumerate(properties_of(dict(obj)), start=1)
    ]
    for name, type_ in extra_fields:
        fields.append(schema_dataset.SchemaDatasetFacetFields(name=name, type=type_,
                                                              ordinal_position=len(fields) + 1))
    return schema_dataset.SchemaDatasetFacet(fields=fields, producer=PRODUCER)


def documentation_facet(contract: Contract, obj: Mapping[str, Any] | None = None) -> DatasetFacet | None:
    """The object's description, then the contract's purpose, usage and limitations."""
    text = "\n\n".join(t for t in ((obj or {}).get("description"), contract.description) if t)
    if not text:
        return None
    return documentation_dataset.DocumentationDatasetFacet(description=text, contentType="text/plain",
                                                           producer=PRODUCER)


def ownership_facet(contract: Contract) -> DatasetFacet | None:
    """The contract's team as owners: `team:<name>`, then every member as `user:<username>` with its role."""
    team = contract.team
    owners = [ownership_dataset.Owner(name=f"team:{team['name']}", type="TEAM")] if team.get("name") else []
    owners += [
        ownership_dataset.Owner(name=f"user:{member['username']}",
                                type=str(member.get("role") or "").upper() or None)
        for member in team.get("members") or []
        if member.get("username")
    ]
    return ownership_dataset.OwnershipDatasetFacet(owners=owners, producer=PRODUCER) if owners else None


def data_contract_facet(contract: Contract, object_name: str | None = None) -> DataContractDatasetFacet:
    path = contract.path.resolve()
    shown = path.relative_to(PROJECT_ROOT) if path.is_relative_to(PROJECT_ROOT) else path
    return DataContractDatasetFacet(id=contract.id, version=contract.version, path=shown.as_posix(),
                                    status=contract.status, object=object_name, producer=PRODUCER)


def freshness_facet(contract: Contract) -> FreshnessDatasetFacet | None:
    if not contract.sla:
        return None
    return FreshnessDatasetFacet(sla=[dict(item) for item in contract.sla],
                                 timezone=contract.custom.get("timezone"), producer=PRODUCER)


def contract_facets(contract: Contract, object_name: str,
                    extra_fields: Iterable[tuple[str, str]] = ()) -> dict[str, DatasetFacet]:
    """Every dataset facet a contract object gives: schema, documentation, ownership, contract, SLA."""
    obj = contract.object(object_name)
    facets: dict[str, DatasetFacet | None] = {
        "schema": schema_facet(obj, extra_fields),
        "documentation": documentation_facet(contract, obj),
        "ownership": ownership_facet(contract),
        DATA_CONTRACT_FACET: data_contract_facet(contract, object_name),
        FRESHNESS_FACET: freshness_facet(contract),
    }
    return {key: facet for key, facet in facets.items() if facet is not None}


def input_field(source: DatasetId, field: str, subtype: str = "IDENTITY", description: str | None = None,
                type_: str = "DIRECT", masking: bool = False) -> column_lineage_dataset.InputField:
    """One source column of an output column, with how it was transformed (spec: type + subtype)."""
    transformation = column_lineage_dataset.Transformation(type=type_, subtype=subtype,
                                                           description=description, masking=masking)
    return column_lineage_dataset.InputField(namespace=source.namespace, name=source.name, field=field,
                                             transformations=[transformation])


def transform_field(source: DatasetId, field: str,
                    transform: str | None) -> column_lineage_dataset.InputField:
    """A retailer column mapped to canonical: IDENTITY, or TRANSFORMATION named by its `transform`."""
    if not transform:
        return input_field(source, field)
    return input_field(source, field, "TRANSFORMATION", TRANSFORM_DESCRIPTIONS.get(transform, transform))


def column_lineage_facet(fields: Mapping[str, Sequence[column_lineage_dataset.InputField]]) -> DatasetFacet:
    return column_lineage_dataset.ColumnLineageDatasetFacet(
        fields={column: column_lineage_dataset.Fields(inputFields=list(inputs))
                for column, inputs in fields.items() if inputs},
        producer=PRODUCER,
    )


def _gate_document(gate: GateResultLike | Mapping[str, Any]) -> dict[str, Any]:
    return gate.model_dump(mode="json") if hasattr(gate, "model_dump") else dict(gate)


def _expected(threshold: Mapping[str, Any], unit: str) -> str | None:
    suffix = " percent" if unit == "percent" else ""
    return " and ".join(f"{op} {value}{suffix}" for op, value in threshold.items()) or None


def assertions_facet(gate: GateResultLike | Mapping[str, Any]
                     ) -> data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet:
    """Every rule of a gate run as an assertion.

    `success` means what the spec says, "no issues found": false for a failed rule and for a passing
    quarantine rule that did quarantine rows; `severity` says what the failure did. A rule that was
    not evaluated (documentation-only, or skipped on a missing column) found no issue of its own;
    its outcome is kept in `params` so nothing is hidden.
    """
    document = _gate_document(gate)
    assertions = []
    for rule in document.get("rules") or []:
        unit = rule.get("unit") or "rows"
        value = rule.get("value")
        assertions.append(data_quality_assertions_dataset.Assertion(
            assertion=_ASSERTION_KINDS.get(rule["metric"], rule["metric"]),
            success=(rule.get("outcome") != "fail" and rule.get("passed") is not False
                     and not rule.get("violating_rows")),
            column=rule.get("property") or None,
            severity=_SEVERITIES.get(rule.get("on_violation"), rule.get("on_violation")),
            name=rule["id"],
            description=rule.get("message") or None,
            expected=_expected(rule.get("threshold") or {}, unit),
            actual=None if value is None else f"{value}{' percent' if unit == 'percent' else ''}",
            params={
                "metric": rule["metric"],
                "unit": unit,
                "onViolation": rule.get("on_violation"),
                "outcome": rule.get("outcome"),
                "violatingRows": rule.get("violating_rows", 0),
                "verdict": document.get("verdict"),
                "engine": rule.get("engine") or document.get("engine"),
            },
        ))
    return data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet(assertions=assertions,
                                                                             producer=PRODUCER)


MetricsFacet = data_quality_metrics_input_dataset.DataQualityMetricsInputDatasetFacet


def metrics_facet(row_count: int, null_counts: Mapping[str, int], *, file_count: int | None = None,
                  size_bytes: int | None = None) -> MetricsFacet:
    """Row count and null count per column of a checked batch."""
    return MetricsFacet(
        rowCount=int(row_count),
        columnMetrics={column: data_quality_metrics_input_dataset.ColumnMetrics(nullCount=int(count))
                       for column, count in null_counts.items()},
        fileCount=file_count,
        bytes=size_bytes,
        producer=PRODUCER,
    )


def gate_metrics(gate: GateResultLike | Mapping[str, Any]) -> MetricsFacet:
    """`metrics_facet` of a batch known only through its gate result: the batch's rows, and the null
    count of every column the gate checked for nulls (its `nullValues` rules)."""
    document = _gate_document(gate)
    nulls = {rule["property"]: int(rule.get("violating_rows") or 0) for rule in document.get("rules") or []
             if rule["metric"] == "nullValues" and rule.get("property")
             and rule.get("outcome") != "not_evaluated"}
    return metrics_facet(int(document.get("rows") or 0), nulls)


def table_metrics(table: Any, *, file_count: int | None = None,
                  size_bytes: int | None = None) -> MetricsFacet:
    """`metrics_facet` of a pyarrow Table or anything with `to_arrow()` (a Polars DataFrame)."""
    arrow = table.to_arrow() if hasattr(table, "to_arrow") else table
    return metrics_facet(arrow.num_rows, {name: arrow.column(name).null_count for name in arrow.column_names},
                         file_count=file_count, size_bytes=size_bytes)


ASSET_JOB_TYPE = "ASSET"
GATE_JOB_TYPE = "ASSET_CHECK"
"""Job types: an asset materialisation, and the gate that checks its batch (its rules are asset checks)."""


def job_type_facet(job_type: str = ASSET_JOB_TYPE) -> job_type_job.JobTypeJobFacet:
    return job_type_job.JobTypeJobFacet(processingType="BATCH", integration="DAGSTER", jobType=job_type,
                                        producer=PRODUCER)


def parent_run_facet(namespace: str, job_name: str, run_id: str,
                     root: tuple[str, str, str] | None = None) -> parent_run.ParentRunFacet:
    """The run that spawned ours; `root` (namespace, job name, run id) is the top of the hierarchy,
    the parent itself when not given (an asset's parent is the Dagster run, a gate's the asset run)."""
    root_namespace, root_job, root_run = root or (namespace, job_name, run_id)
    return parent_run.ParentRunFacet(
        run=parent_run.Run(runId=run_id),
        job=parent_run.Job(namespace=namespace, name=job_name),
        root=parent_run.Root(run=parent_run.RootRun(runId=root_run),
                             job=parent_run.RootJob(namespace=root_namespace, name=root_job)),
        producer=PRODUCER,
    )


def error_message_facet(error: BaseException) -> error_message_run.ErrorMessageRunFacet:
    """Why a run failed, with its stack trace; credentials that the error text may carry are redacted."""
    return error_message_run.ErrorMessageRunFacet(
        message=redact(f"{type(error).__name__}: {error}"),
        programmingLanguage="PYTHON",
        stackTrace=redact("".join(traceback.format_exception(error))),
        producer=PRODUCER,
    )
