"""Percent units through the gate on the Soda and GX engines: the engine counts, the gate divides."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from checks.contract import load_contract
from checks.gate import run_gate
from checks.result import Verdict


def write_contract(folder: Path) -> Path:
    quality = [
        {"id": "code_nulls", "metric": "nullValues", "unit": "percent", "mustBeLessThan": 40},
        {"id": "code_pattern", "metric": "invalidValues", "arguments": {"pattern": "[A-Z]{2}"},
         "unit": "percent", "mustBeLessOrEqualTo": 20,
         "customProperties": [{"property": "onViolation", "value": "quarantine"}]},
    ]
    document = {"apiVersion": "v3.1.0", "kind": "DataContract", "id": "urn:shelfguard:test:units",
                "version": "1.0.0", "status": "active",
                "schema": [{"name": "sites", "physicalType": "table", "properties": [
                    {"name": "code", "logicalType": "string", "quality": quality}]}]}
    path = folder / "units.odcs.yaml"
    path.write_text(json.dumps(document), "utf-8")
    return path


@pytest.mark.parametrize("engine", ["soda", "gx"])
def test_percent_of_the_batch_and_of_zero_rows(tmp_path: Path, engine: str) -> None:
    contract = load_contract(write_contract(tmp_path))
    batch = pl.DataFrame({"code": ["DE", None, "fr", "US", "NO"]})
    run = run_gate(contract, "sites", batch, engine=engine)
    results = {r.id: r for r in run.result.rules}
    assert (results["code_nulls"].value, results["code_nulls"].violating_rows) == (20.0, 1)  # 1 * 100 / 5
    # "fr" is 20 %: exactly the limit, which mustBeLessOrEqualTo includes
    assert (results["code_pattern"].value, results["code_pattern"].passed) == (20.0, True)
    assert run.verdict == Verdict.QUARANTINE
    assert run.quarantined.get_column("code").to_list() == ["fr"]

    empty = run_gate(contract, "sites", pl.DataFrame({"code": []}, schema={"code": pl.String}), engine=engine)
    assert [r.value for r in empty.result.rules if r.id.startswith("code_")] == [0.0, 0.0]
