"""Contracts to rules to engines to verdicts; no Dagster here."""

import shelfguard  # noqa: F401  (allocator settings before Polars loads)
