"""Where shelfguard keeps what it writes at run time.

Everything lives under one data home so that a demo, a test or a production worker can be pointed
at its own folder with a single environment variable (`SHELFGUARD_HOME`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONTRACTS_DIR = PROJECT_ROOT / "contracts"
LAYERS = ("bronze", "silver", "gold")


@dataclass(frozen=True)
class DataHome:
    """The folders under `SHELFGUARD_HOME`; see the README's "Data home" section."""

    root: Path

    @classmethod
    def from_env(cls) -> DataHome:
        root = os.environ.get("SHELFGUARD_HOME") or str(PROJECT_ROOT / ".shelfguard")
        return cls(Path(root).resolve())

    @property
    def landing(self) -> Path:
        return self.root / "landing"

    def landing_for(self, retailer_code: str) -> Path:
        return self.landing / retailer_code

    @property
    def sources(self) -> Path:
        return self.root / "sources"

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse"

    def table(self, layer: str, table: str) -> Path:
        if layer not in LAYERS:
            raise ValueError(f"unknown layer {layer!r}; expected one of {', '.join(LAYERS)}")
        return self.warehouse / layer / table

    @property
    def quarantine(self) -> Path:
        return self.root / "quarantine"

    @property
    def lineage_file(self) -> Path:
        return self.root / "lineage" / "openlineage.ndjson"

    @property
    def views(self) -> Path:
        """The gold views as one DuckDB database per reader group, for BI tools (docs/access.md)."""
        return self.root / "views"

    @property
    def directory_file(self) -> Path:
        """Locally, the identity provider: which groups each reader belongs to (docs/access.md)."""
        return self.root / "access" / "directory.yaml"

    @property
    def dagster_home(self) -> Path:
        return self.root / "dagster"

    def ensure(self) -> DataHome:
        for folder in (
            self.landing,
            self.sources,
            self.warehouse,
            self.quarantine,
            self.lineage_file.parent,
            self.dagster_home,
        ):
            folder.mkdir(parents=True, exist_ok=True)
        return self
