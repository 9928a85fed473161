"""The retailers' sources as external Dagster assets, where the asset graph starts.

Bronze reads a retailer's landing files, database table or API endpoint. Declaring each delivered
object as an external asset (described by the contract, never materialised by us) upstream of its
bronze asset lets the asset graph and bronze's `dagster/column_lineage` reach back to the delivered
columns, as the OpenLineage events do. Keys are `source/<retailer>__<object>`.
"""

from __future__ import annotations

import dagster as dg

from assets.definitions.gating import column_schema, contract_metadata
from assets.plan import asset_key, bronze_table, retailer_code
from checks.contract import Contract

SOURCE_LAYER = "source"


def source_key(contract: Contract, object_name: str) -> dg.AssetKey:
    return dg.AssetKey(list(asset_key(SOURCE_LAYER, bronze_table(retailer_code(contract), object_name))))


def source_spec(contract: Contract, object_name: str) -> dg.AssetSpec:
    """The delivered object: kind from the server's format (or its type), owners, description and
    schema from the contract."""
    server = contract.server()
    obj = contract.object(object_name)
    code = retailer_code(contract)
    return dg.AssetSpec(
        source_key(contract, object_name),
        group_name=code,
        owners=contract.owners,
        kinds={str(server.get("format") or server.get("type") or "file")},
        tags={"retailer": code, "layer": SOURCE_LAYER},
        description="\n\n".join(text for text in (obj.get("description"), server.get("description")) if text),
        metadata={
            **contract_metadata(contract),
            "dagster/column_schema": column_schema(contract, object_name),
        },
    )
