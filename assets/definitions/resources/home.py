"""The data home as a Dagster resource."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from shelfguard.settings import DataHome


class DataHomeResource(dg.ConfigurableResource):
    """Where landing files, Delta tables, quarantine and lineage live.

    Empty `root` means `SHELFGUARD_HOME` (default `.shelfguard/` in the project), read when the
    resource is used so that tests and the demo can point it elsewhere.
    """

    root: str = ""

    def home(self) -> DataHome:
        return (DataHome(Path(self.root).resolve()) if self.root else DataHome.from_env()).ensure()
