"""Column lineage for the Dagster UI, from the same facts as the OpenLineage events.

The asset graph in the Dagster UI is the local lineage browser; `dagster/column_lineage` on a
materialisation lets it show, per column, the columns of upstream assets it was computed from.
Silver and gold derive it from the OpenLineage `columnLineage` facet of the asset's output, so both
views always agree. Bronze keeps every delivered column as it came, so each bronze column is the
same column of its source asset (`assets.definitions.sources`), as in `bronze_output`; which delivered
file it came from is in the OpenLineage events and `shelfguard lineage`.
"""

from __future__ import annotations

import dagster as dg
from openlineage.client.event_v2 import OutputDataset

from assets.definitions.sources import source_key
from assets.lineage.naming import DatasetId, table_dataset
from assets.plan import PipelinePlan
from checks.contract import Contract, properties_of
from shelfguard.settings import DataHome


def bronze_column_lineage(contract: Contract, object_name: str) -> dg.TableColumnLineage:
    """`dagster/column_lineage` of a bronze asset: each column from the same column of its source."""
    key = source_key(contract, object_name)
    return dg.TableColumnLineage(deps_by_column={
        prop["name"]: [dg.TableColumnDep(asset_key=key, column_name=prop["name"])]
        for prop in properties_of(contract.object(object_name))})


def dagster_column_lineage(output: OutputDataset, plan: PipelinePlan,
                           home: DataHome) -> dg.TableColumnLineage:
    """`dagster/column_lineage` of the asset that wrote `output` (see `assets.lineage.datasets`)."""
    assets = {table_dataset(home, node.layer, node.table): dg.AssetKey(list(node.key)) for node in plan.nodes}
    facet = (output.facets or {}).get("columnLineage")
    deps: dict[str, list[dg.TableColumnDep]] = {}
    for column, fields in (facet.fields if facet is not None else {}).items():
        for source in fields.inputFields:
            key = assets.get(DatasetId(source.namespace, source.name))
            if key is not None:
                deps.setdefault(column, []).append(dg.TableColumnDep(asset_key=key, column_name=source.field))
    return dg.TableColumnLineage(deps_by_column=deps)
