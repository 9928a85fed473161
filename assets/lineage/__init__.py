"""OpenLineage for shelfguard: dataset names, facets from the contracts, emitting, and browsing.

Dagster-free except `column_lineage` and `sources` (the resource in
`assets/definitions/resources/openlineage.py` wraps the rest):
- `naming`: OpenLineage dataset names of files, Delta tables, databases and APIs;
- `facets`: facets built from contracts and gate results, including our own two;
- `datasets`: the inputs and outputs of each bronze, silver and gold asset, with column lineage;
- `column_lineage`, `sources`: what the Dagster UI shows (`dagster/column_lineage`, source assets);
- `emit`: the client with its transports, and the START → COMPLETE/FAIL run cycle;
- `graph`: Marquez-style lineage queries over the NDJSON event file;
- `validation`: offline validation of events against the OpenLineage JSON schemas.
"""
