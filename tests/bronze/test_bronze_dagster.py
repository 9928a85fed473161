"""Bronze through Dagster: generated assets and asset checks with numbers (sensors: test_delivery_sensor)."""

from __future__ import annotations

import dagster as dg
import pytest

from assets.definitions import build_definitions
from tests.bronze.conftest import CONTRACTS, materialize_bronze, nwg_row, write_nwg

NWG_KEY = dg.AssetKey(["bronze", "nwg_us__pos_daily"])


@pytest.fixture(scope="module")
def defs() -> dg.Definitions:
    return build_definitions(CONTRACTS)


def test_every_retailer_object_has_a_generated_asset_with_contract_metadata(defs):
    repository = defs.get_repository_def()
    keys = {key for key in repository.asset_graph.get_all_asset_keys() if key.path[0] == "bronze"}
    assert NWG_KEY in keys
    assert {key.path[1].split("__")[0] for key in keys} >= {"nwg_us", "alp_de", "crl_au", "fjd_no"}
    spec = next(s for s in defs.resolve_all_asset_specs() if s.key == NWG_KEY)
    assert spec.group_name == "nwg_us" and "bronze" in spec.kinds
    assert spec.tags["retailer"] == "nwg_us"
    assert set(spec.kinds) >= {"polars", "delta"}
    assert spec.owners == ["retail-americas@shelfguard.example"]
    assert spec.metadata["contract_id"] == "urn:shelfguard:retailer:nwg_us"
    assert "dagster/column_schema" in spec.metadata
    check_names = {c.name for c in repository.asset_graph.asset_check_keys if c.asset_key == NWG_KEY}
    assert {"nwg_upc_format", "item_nbr_nullValues", "pos_daily_columns_present"} <= check_names


def test_materialize_reports_every_rule_as_a_check_with_its_numbers(defs, shelfguard_home):
    folder = shelfguard_home / "landing" / "nwg_us"
    rows = [nwg_row(item=str(5000 + i)) for i in range(40)] + [nwg_row(item="6001", upc="12AB")]
    path = write_nwg(folder, "nwg_pos_20261102.csv", rows)
    instance = dg.DagsterInstance.ephemeral()
    result = materialize_bronze(defs, instance, NWG_KEY, files=[str(path)])
    assert result.success
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    upc = evaluations["nwg_upc_format"]
    assert upc.passed
    assert upc.metadata["violating_rows"].value == 1
    assert upc.metadata["contract_id"].value == "urn:shelfguard:retailer:nwg_us"
    assert upc.metadata["engine"].value == "pandera"
    assert "12AB" in upc.metadata["violating_sample"].value
    assert evaluations["nwg_state_code"].severity == dg.AssetCheckSeverity.WARN
    materialization = result.asset_materializations_for_node(NWG_KEY.to_python_identifier())[0]
    metadata = materialization.metadata
    assert metadata["dagster/row_count"].value == 41
    assert metadata["rows_accepted"].value == 40
    assert metadata["rows_quarantined"].value == 1
    assert metadata["delivery_id"].value.startswith("nwg_us:pos_daily:")
    assert metadata["delivered_at"].value == pytest.approx(path.stat().st_mtime)


def test_each_check_samples_the_rows_that_violate_its_own_rule(defs, shelfguard_home):
    rows = [nwg_row(item=str(5000 + i)) for i in range(20)] + [
        nwg_row(item="6001", upc="12AB"),  # nwg_upc_format (quarantine)
        nwg_row(item="6002", qty="-2"),  # nwg_qty_not_negative (quarantine)
        nwg_row(item="6003").replace("SUPERCENTER", "KIOSK"),  # nwg_store_type_known (warn)
    ]
    path = write_nwg(shelfguard_home / "landing" / "nwg_us", "nwg_pos_20261102.csv", rows)
    result = materialize_bronze(defs, dg.DagsterInstance.ephemeral(), NWG_KEY, files=[str(path)])
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    samples = {
        name: evaluations[name].metadata["violating_sample"].value
        for name in ("nwg_upc_format", "nwg_qty_not_negative", "nwg_store_type_known")
    }
    assert "12AB" in samples["nwg_upc_format"] and "6002" not in samples["nwg_upc_format"]
    assert "6002" in samples["nwg_qty_not_negative"] and "12AB" not in samples["nwg_qty_not_negative"]
    assert "KIOSK" in samples["nwg_store_type_known"] and "6001" not in samples["nwg_store_type_known"]
    assert "violating_sample" not in evaluations["nwg_state_code"].metadata, "no violators, no sample"


def test_blocked_delivery_fails_its_blocking_check(defs, shelfguard_home):
    rows = [nwg_row(item="5001", upc="12AB"), nwg_row(item="")]
    path = write_nwg(shelfguard_home / "landing" / "nwg_us", "nwg_pos_20261102.csv", rows)
    result = materialize_bronze(defs, dg.DagsterInstance.ephemeral(), NWG_KEY, files=[str(path)])
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert not evaluations["item_nbr_nullValues"].passed
    sample = evaluations["item_nbr_nullValues"].metadata["violating_sample"].value
    assert "12AB" not in sample, "a blocked batch quarantines every row; the sample shows the rule's own"
    spec = next(
        c
        for c in defs.get_repository_def().asset_graph.asset_check_keys
        if c.name == "item_nbr_nullValues" and c.asset_key == NWG_KEY
    )
    assert defs.get_repository_def().asset_graph.get_check_spec(spec).blocking
