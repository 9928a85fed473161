"""Bronze through Dagster: generated assets, asset checks with numbers, sensors with run keys."""

from __future__ import annotations

import dagster as dg
import pytest

from assets.bronze_assets import bronze_run_config
from assets.definitions import build_definitions
from tests.bronze.conftest import CONTRACTS, nwg_row, write_nwg

NWG_KEY = dg.AssetKey(["bronze", "nwg_us", "pos_daily"])


@pytest.fixture(scope="module")
def defs() -> dg.Definitions:
    return build_definitions(CONTRACTS)


def _materialize(defs: dg.Definitions, instance: dg.DagsterInstance, key: dg.AssetKey, **config):
    job = defs.resolve_implicit_global_asset_job_def()
    return job.execute_in_process(
        run_config=bronze_run_config(key, **config),
        instance=instance,
        asset_selection=[key],
        raise_on_error=False,
    )


def test_every_retailer_object_has_a_generated_asset_with_contract_metadata(defs):
    repository = defs.get_repository_def()
    keys = {key for key in repository.asset_graph.get_all_asset_keys() if key.path[0] == "bronze"}
    assert NWG_KEY in keys
    assert {key.path[1] for key in keys} >= {"nwg_us", "alp_de", "crl_au", "fjd_no"}
    spec = next(s for s in defs.resolve_all_asset_specs() if s.key == NWG_KEY)
    assert spec.group_name == "bronze"
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
    result = _materialize(defs, instance, NWG_KEY, files=[str(path)])
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


def test_blocked_delivery_fails_its_blocking_check(defs, shelfguard_home):
    path = write_nwg(shelfguard_home / "landing" / "nwg_us", "nwg_pos_20261102.csv", [nwg_row(item="")])
    result = _materialize(defs, dg.DagsterInstance.ephemeral(), NWG_KEY, files=[str(path)])
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert not evaluations["item_nbr_nullValues"].passed
    spec = next(
        c
        for c in defs.get_repository_def().asset_graph.asset_check_keys
        if c.name == "item_nbr_nullValues" and c.asset_key == NWG_KEY
    )
    assert defs.get_repository_def().asset_graph.get_check_spec(spec).blocking


def test_sensor_requests_one_run_per_new_delivery_keyed_by_content(defs, shelfguard_home):
    folder = shelfguard_home / "landing" / "nwg_us"
    first = write_nwg(folder, "nwg_pos_20261102.csv", [nwg_row(item="5001")])
    sensor = defs.resolve_sensor_def("nwg_us_deliveries")
    instance = dg.DagsterInstance.ephemeral()
    context = dg.build_sensor_context(instance=instance, definitions=defs)
    requests = list(sensor(context))
    assert [r.run_key for r in requests] == [f"nwg_us:pos_daily:{_sha(first)[:16]}"]
    assert requests[0].run_config == bronze_run_config(NWG_KEY, files=[str(first)])
    cursor = context.cursor
    again = dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs)
    assert list(sensor(again)) == [], "a tick with nothing new requests nothing"
    copy = write_nwg(folder, "nwg_pos_20261102_copy.csv", [nwg_row(item="5001")])
    third = dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs)
    assert [r.run_key for r in sensor(third)] == [f"nwg_us:pos_daily:{_sha(copy)[:16]}"], (
        "a re-delivered file has the same run key, so Dagster runs it once"
    )


def _sha(path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()
