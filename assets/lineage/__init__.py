"""OpenLineage for shelfguard: dataset names, facets from the contracts, emitting, and browsing.

Dagster-free (the resource in `assets/resources/openlineage.py` wraps it):
- `naming`: OpenLineage dataset names of files, Delta tables, databases and APIs;
- `facets`: facets built from contracts and gate results, including our own two;
- `datasets`: the inputs and outputs of each bronze, silver and gold asset, with column lineage;
- `emit`: the client with its transports, and the START → COMPLETE/FAIL run cycle;
- `graph`: Marquez-style lineage queries over the NDJSON event file;
- `validation`: offline validation of events against the OpenLineage JSON schemas.
"""
