"""The Dagster code location generated from the contracts."""

import shelfguard  # noqa: F401  (allocator settings before Polars loads)
