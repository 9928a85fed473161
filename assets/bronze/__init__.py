"""Bronze: each delivery read, gated and written exactly once, with its ledger entry (Dagster-free)."""
