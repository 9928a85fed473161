"""The definitions are built once per version of the contracts, and again when one changes."""

from __future__ import annotations

import shutil

from assets.definitions import build_definitions
from checks.contract import contract_files
from shelfguard.settings import CONTRACTS_DIR


def test_definitions_are_reused_until_a_contract_changes(tmp_path):
    contracts = tmp_path / "contracts"
    shutil.copytree(CONTRACTS_DIR, contracts)
    first = build_definitions(contracts)
    assert build_definitions(contracts) is first
    retailer = next(contract_files([contracts / "retailers"]))
    retailer.write_text(retailer.read_text("utf-8") + "\n", "utf-8")
    assert build_definitions(contracts) is not first
