"""A retailer whose contract chooses Spark, through Dagster: its silver assets say `spark`, take
their session from the `spark` resource and report the same checks and metadata as on Polars."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pytest
from ruamel.yaml import YAML

from assets.definitions import build_definitions
from assets.silver import spark_transform
from shelfguard.settings import DataHome
from tests.silver_gold.conftest import CONTRACTS, deliver_nwg, nwg_line

pytestmark = pytest.mark.spark

SILVER_FACT = dg.AssetKey(["silver", "nwg_us__daily_store_fact"])


def contracts_choosing(tmp_path: Path, engine: str) -> Path:
    contracts = tmp_path / f"contracts_{engine}"
    shutil.copytree(CONTRACTS, contracts)
    path = contracts / "retailers" / "nwg_us" / "nwg_us.odcs.yaml"
    yaml = YAML()
    document = yaml.load(path)
    document["customProperties"].append({"property": "executionEngine", "value": engine})
    yaml.dump(document, path)
    return contracts


def test_a_spark_retailer_runs_silver_on_the_spark_resource(spark, tmp_path, shelfguard_home, monkeypatch):
    home = DataHome(shelfguard_home).ensure()
    lines = [nwg_line(item="1"), nwg_line(item="2", upc="012345678912")]
    deliver_nwg(home, "nwg_pos_20260105.csv", lines, day=6)
    mapped: list[str] = []
    original = spark_transform.map_to_canonical
    monkeypatch.setattr(
        spark_transform,
        "map_to_canonical",
        lambda bronze, contract, obj, *a, **k: mapped.append(obj) or original(bronze, contract, obj, *a, **k),
    )
    metadata = {}
    for engine in ("polars", "spark"):
        defs = build_definitions(contracts_choosing(tmp_path, engine))
        spec = next(s for s in defs.resolve_all_asset_specs() if s.key == SILVER_FACT)
        assert engine in spec.kinds
        selection = [
            k
            for k in defs.get_repository_def().asset_graph.get_all_asset_keys()
            if k.path[0] == "silver" and k.path[1].startswith("nwg_us__")
        ]
        run_home = Path(tmp_path / f"home_{engine}")
        shutil.copytree(home.root, run_home)
        monkeypatch.setenv("SHELFGUARD_HOME", str(run_home))
        result = defs.resolve_implicit_global_asset_job_def().execute_in_process(
            instance=dg.DagsterInstance.ephemeral(), asset_selection=selection
        )
        assert result.success
        assert bool(mapped) == (engine == "spark")
        fact = result.asset_materializations_for_node("silver__nwg_us__daily_store_fact")[0].metadata
        checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
        metadata[engine] = (
            fact["action"].value,
            fact["dagster/row_count"].value,
            fact["rows_quarantined"].value,
            checks,
        )
    assert metadata["spark"] == metadata["polars"]
    assert metadata["spark"][:2] == ("published", 2)
