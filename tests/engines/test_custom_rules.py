"""Custom rules (`type: custom`, `engine: soda | greatExpectations`) through the gate, whatever the
default engine, and the custom rules of the shipped canonical contract."""

from __future__ import annotations

import textwrap
from pathlib import Path

import polars as pl
import pytest

from checks.contract import load_contract
from checks.gate import run_gate
from checks.result import Outcome, Verdict

REPO_ROOT = Path(__file__).resolve().parents[2]
CANONICAL = REPO_ROOT / "contracts" / "canonical" / "pos_canonical.odcs.yaml"

CONTRACT = """\
apiVersion: v3.1.0
kind: DataContract
id: urn:shelfguard:test:custom
name: custom_rules
version: 1.0.0
status: draft
schema:
  - name: sales
    physicalType: table
    logicalType: object
    properties:
      - name: store
        logicalType: string
      - name: net_sales
        logicalType: number
        quality:
{property_rules}
    quality:
{object_rules}
"""

SODA_RULES = """\
- id: no_negative_sales
  type: custom
  engine: soda
  implementation: |
    failed_rows:
      query: SELECT * FROM sales WHERE TRY_CAST(net_sales AS DOUBLE) < 0
- id: stores_with_sales
  type: custom
  engine: soda
  implementation:
    metric:
      query: SELECT COUNT(DISTINCT store) FROM sales
      threshold:
        must_be_greater_than: 1
  customProperties:
    - property: onViolation
      value: warn
- id: not_a_check
  type: custom
  engine: soda
  implementation: "this is: [not, one, check"
- id: reads_a_file
  type: custom
  engine: soda
  implementation:
    failed_rows:
      query: SELECT * FROM read_csv('/etc/passwd')
"""

GX_RULES = """\
- id: sales_in_range
  type: custom
  engine: greatExpectations
  implementation:
    expectation: expect_column_values_to_be_between
    kwargs: {column: net_sales_value, min_value: 0, max_value: 100}
  customProperties:
    - property: onViolation
      value: warn
- id: at_least_ten_rows
  type: custom
  engine: greatExpectations
  implementation:
    expectation: expect_table_row_count_to_be_between
    kwargs: {min_value: 10}
- id: no_such_expectation
  type: custom
  engine: greatExpectations
  implementation: {expectation: expect_the_unexpected, kwargs: {}}
- id: mostly_in_range
  type: custom
  engine: greatExpectations
  implementation:
    expectation: expect_column_values_to_be_between
    kwargs: {column: net_sales_value, min_value: 0, max_value: 100, mostly: 0.3}
"""


def write_contract(tmp_path: Path, property_rules: str, object_rules: str) -> Path:
    path = tmp_path / "custom.odcs.yaml"
    path.write_text(CONTRACT.format(property_rules=textwrap.indent(property_rules, " " * 10),
                                    object_rules=textwrap.indent(object_rules, " " * 6)), "utf-8")
    return path


@pytest.mark.parametrize("default_engine", ["pandera", "soda", "gx"])
def test_custom_soda_rules_run_in_soda_whatever_the_default_engine(tmp_path: Path,
                                                                   default_engine: str) -> None:
    contract = load_contract(write_contract(tmp_path, "- id: plain\n  metric: nullValues\n  mustBe: 0\n",
                                            SODA_RULES))
    batch = pl.DataFrame({"store": ["a", "b", "a"], "net_sales": ["10", "-2.5", "-1"]})
    run = run_gate(contract, "sales", batch, engine=default_engine)
    results = {r.id: r for r in run.result.rules}
    assert (results["no_negative_sales"].value, results["no_negative_sales"].passed) == (2, False)
    assert results["no_negative_sales"].engine == "soda"
    assert (results["stores_with_sales"].value, results["stores_with_sales"].passed) == (2, True)
    assert results["not_a_check"].outcome == Outcome.NOT_EVALUATED
    assert "not YAML" in results["not_a_check"].message
    assert results["reads_a_file"].outcome == Outcome.NOT_EVALUATED  # no file or network access
    assert run.verdict == Verdict.BLOCK  # no_negative_sales blocks (the default action)


GX_WHOLE_BATCH_RULES = """\
- id: mean_in_range
  type: custom
  engine: greatExpectations
  implementation:
    expectation: expect_column_mean_to_be_between
    kwargs: {column: net_sales_value, min_value: 80, max_value: 90}
- id: listed_columns_only
  type: custom
  engine: greatExpectations
  implementation:
    expectation: expect_table_columns_to_match_set
    kwargs: {column_set: [store, net_sales, net_sales_value]}
"""


@pytest.mark.parametrize("form", ["eager", "lazy"])
def test_custom_gx_rules_count_unexpected_values_or_a_failed_table_expectation(
        tmp_path: Path, form: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """`lazy`: the batch scanned and GX chunked by one row; custom expectations still see it whole."""
    monkeypatch.setenv("SHELFGUARD_GX_CHUNK_ROWS", "1")
    row_count = "- id: rows\n  metric: rowCount\n  mustBe: 3\n"
    contract = load_contract(write_contract(tmp_path, GX_RULES, row_count + GX_WHOLE_BATCH_RULES))
    batch = pl.DataFrame({"store": ["a", "b", "c"], "net_sales": ["10", "-2.5", "250"]}).with_columns(
        net_sales_value=pl.col("net_sales").cast(pl.Float64))
    judged = batch if form == "eager" else batch.lazy()
    results = {r.id: r for r in run_gate(contract, "sales", judged).result.rules}
    assert (results["mean_in_range"].value, results["mean_in_range"].passed) == (0, True)  # mean 85.8
    assert results["listed_columns_only"].passed is True
    assert results["rows"].value == 3
    assert (results["sales_in_range"].value, results["sales_in_range"].passed) == (2, False)  # -2.5 and 250
    assert results["sales_in_range"].engine == "gx"
    assert (results["at_least_ten_rows"].value, results["at_least_ten_rows"].passed) == (1, False)
    # GX's own verdict: 2 of 3 values out of range, but `mostly: 0.3` holds
    assert (results["mostly_in_range"].value, results["mostly_in_range"].passed) == (2, True)
    assert results["no_such_expectation"].outcome == Outcome.NOT_EVALUATED
    assert "expect_the_unexpected" in results["no_such_expectation"].message
    extra = run_gate(contract, "sales", batch.lazy().with_columns(note=pl.lit("x"))).result.rules
    assert next(r for r in extra if r.id == "listed_columns_only").passed is False  # sees every column


def test_canonical_custom_rules(tmp_path: Path) -> None:
    """`prod_dim_one_current_version` (Soda) and `daily_store_fact_net_sales_range` (GX) as shipped."""
    contract = load_contract(CANONICAL)
    prod_dim = pl.DataFrame({
        "product_sk": ["k1", "k2", "k3", "k4"], "retailer_code": ["nwg_us"] * 4,
        "product_id": ["nwg_us:1", "nwg_us:1", "nwg_us:2", "nwg_us:3"],
        "is_current": [True, True, True, False],
        "updated_at": ["2024-01-01 00:00:00", "2024-01-02 00:00:00", "2024-01-01 00:00:00",
                       "2024-01-01 00:00:00"],
    })
    results = {r.id: r for r in run_gate(contract, "prod_dim", prod_dim).result.rules}
    one_current = results["prod_dim_one_current_version"]
    # one product (nwg_us:1) has two current versions
    assert (one_current.value, one_current.passed, one_current.engine) == (1, False, "soda")

    facts = pl.DataFrame({"net_sales": [10.0, -2_000_000.0, None, 999_999.0]})
    results = {r.id: r for r in run_gate(contract, "daily_store_fact", facts).result.rules}
    net_sales_range = results["daily_store_fact_net_sales_range"]
    assert (net_sales_range.value, net_sales_range.passed, net_sales_range.engine) == (1, False, "gx")
