"""Gold: the gated MERGE of silver into the shared tables, and the readers' views (Dagster-free)."""
