"""Silver: mapping to the canonical model, SCD2 dimensions, keyed facts, gated publish (Dagster-free)."""
