"""A pull sensor that is off by default says in its description why, and what turns it on."""

from __future__ import annotations

import dagster as dg

from assets.definitions import build_definitions
from assets.intake import channel_of
from assets.plan import load_retailer_contracts, retailer_code, server_options
from tests.conftest import CONTRACTS_DIR


def test_stopped_pull_sensors_name_the_variables_they_need():
    defs = build_definitions(CONTRACTS_DIR)
    pulled = [c for c in load_retailer_contracts(CONTRACTS_DIR) if channel_of(c) != "landing"]
    assert {retailer_code(c) for c in pulled} >= {"crl_au", "fjd_no"}
    for contract in pulled:
        sensor = defs.resolve_sensor_def(f"{retailer_code(contract)}_deliveries")
        assert sensor.default_status is dg.DefaultSensorStatus.STOPPED
        options = server_options(contract)
        variable = options.get("urlEnv") or options.get("tokenEnv")
        assert "Off by default" in sensor.description
        assert str(variable) in sensor.description
