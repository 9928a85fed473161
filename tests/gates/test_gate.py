"""The gate around the engines: lazy (streamed) batches, the split, SQL rules, definitions, errors."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandera.config
import polars as pl
import pytest

from checks.contract import ContractError
from checks.engines import UnknownEngineError
from checks.engines.base import ROW_NUMBER
from checks.engines.semantics import UnsupportedDefinition, castability, number_pattern, temporal_format
from checks.gate import BLOCKED_BY, QUARANTINE_REASONS, run_gate
from checks.readers import open_batch, read_batch
from checks.rules import RuleKind, compile_rules
from checks.sql_rules import quote_identifier, render_query
from tests.gates.helpers import OBJECT, contract, engine_params, on_violation, prop, rule

SALES = [
    prop("id", unique=True, **on_violation("quarantine")),
    prop("gtin", quality=[rule("gtin_format", "invalidValues", "quarantine",
                               arguments={"pattern": "[0-9]{13}"}, unit="percent", mustBeLessThan=5)]),
    prop("qty", "integer", required=True),
    prop("updated_at", "timestamp", logicalTypeOptions={"format": "yyyy-MM-dd HH:mm:ss"}),
]


def write_sales(path: Path, rows: int) -> Path:
    rng = np.random.default_rng(3)
    ids = rng.integers(0, rows, rows).astype(str)  # about a third are duplicates
    gtins = np.where(rng.random(rows) < 0.01, "12AB", "4006381333931")
    seconds = rng.integers(0, 86_400, rows)
    stamps = [f"2024-01-31 {s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in seconds]
    pl.DataFrame({"id": ids, "gtin": gtins, "qty": rng.integers(0, 9, rows).astype(str),
                  "updated_at": stamps}).write_csv(path)
    return path


QTY_TOTAL = {"id": "qty_total", "type": "sql", "query": "SELECT SUM(CAST(qty AS INTEGER)) FROM {object}",
             "mustBeGreaterThan": 0}


@pytest.mark.parametrize("engine", engine_params(streaming=True))
def test_lazy_batch_is_streamed_to_the_same_result(engine: str, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A scanned (lazy) file gives the same numbers and the same split as the loaded file, on every
    engine and for `type: sql` rules; GX works through it in several chunks, DuckDB (Soda, `type:
    sql`) may spill to disk. The temporary files are gone afterwards."""
    monkeypatch.setenv("SHELFGUARD_GX_CHUNK_ROWS", "70000")
    monkeypatch.setenv("SHELFGUARD_DUCKDB_MEMORY_LIMIT", "40MB")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    gate_contract = contract(tmp_path, SALES, [QTY_TOTAL])
    path = write_sales(tmp_path / "sales.csv", 300_000)
    eager = run_gate(gate_contract, OBJECT, read_batch(path), engine=engine)
    with open_batch(path) as batch:
        lazy = run_gate(gate_contract, OBJECT, batch, engine=engine)
        assert isinstance(lazy.published, pl.LazyFrame) and isinstance(lazy.quarantined, pl.LazyFrame)
        assert lazy.published.collect().equals(eager.published)
        assert lazy.quarantined.collect().equals(eager.quarantined)
    assert lazy.result == eager.result
    assert eager.result.verdict.value == "quarantine"
    assert next(r for r in eager.result.rules if r.id == "qty_total").value > 0
    assert eager.published.height + eager.quarantined.height == 300_000
    assert list((tmp_path / "tmp").iterdir()) == []


def test_split_keeps_rows_untouched(tmp_path: Path) -> None:
    digits = rule("a_digits", "invalidValues", "quarantine", arguments={"pattern": "[0-9]+"},
                  mustBeLessThan=2)
    gate_contract = contract(tmp_path, [prop("a", quality=[digits])])
    batch = pl.DataFrame({"a": [" 12 ", "7", None], "note": ["x", None, "z"]})
    run = run_gate(gate_contract, OBJECT, batch)
    assert run.published.equals(batch.slice(1, 2))
    assert run.quarantined.columns == ["a", "note", ROW_NUMBER, QUARANTINE_REASONS, BLOCKED_BY]
    assert run.quarantined.row(0) == (" 12 ", "x", 0, ["a_digits"], [])


def test_data_depth_is_set_whatever_pandera_is_told(tmp_path: Path) -> None:
    """pandera skips data checks on LazyFrames at SCHEMA_ONLY; the engine sets the depth itself."""
    gate_contract = contract(tmp_path, [prop("a", required=True)])
    previous = pandera.config.get_config_global().validation_depth
    pandera.config.set_config(validation_depth="SCHEMA_ONLY")
    try:
        for batch in (pl.DataFrame({"a": [None, "x"]}), pl.LazyFrame({"a": [None, "x"]})):
            result = run_gate(gate_contract, OBJECT, batch).result
            assert next(r for r in result.rules if r.id == "a_nullValues").violating_rows == 1
    finally:
        pandera.config.CONFIG.validation_depth = previous


def test_errors_of_the_caller(tmp_path: Path) -> None:
    gate_contract = contract(tmp_path, [prop("a")])
    with pytest.raises(UnknownEngineError, match="known engines: pandera, soda, gx, spark"):
        run_gate(gate_contract, OBJECT, pl.DataFrame({"a": ["x"]}), engine="dask")
    with pytest.raises(ContractError, match="unknown object 'nope'"):
        run_gate(gate_contract, "nope", pl.DataFrame({"a": ["x"]}))
    with pytest.raises(ValueError, match=ROW_NUMBER):
        run_gate(gate_contract, OBJECT, pl.DataFrame({"a": ["x"], ROW_NUMBER: [0]}))


@pytest.mark.parametrize("engine", engine_params())
def test_unknown_custom_engine_and_bad_patterns_fail_closed(tmp_path: Path, engine: str) -> None:
    gate_contract = contract(tmp_path, [prop("a", quality=[
        rule("look_ahead", "invalidValues", arguments={"pattern": "(?=x)x"}, mustBe=0),
        {"id": "dbt_rule", "type": "custom", "engine": "dbt", "implementation": "select 1"},
        {"id": "dbt_warning", "type": "custom", "engine": "dbt", "implementation": "select 1",
         **on_violation("warn")},
    ])])
    result = run_gate(gate_contract, OBJECT, pl.DataFrame({"a": ["x"]}), engine=engine).result
    by_id = {r.id: r for r in result.rules}
    assert by_id["look_ahead"].outcome.value == "not_evaluated"
    assert "linear-time" in by_id["look_ahead"].message or "RE2" in by_id["look_ahead"].message
    assert by_id["dbt_rule"].outcome.value == "not_evaluated" and "dbt" in by_id["dbt_rule"].message
    assert [r.id for r in result.rules if r.passed is False] == ["look_ahead", "dbt_rule", "dbt_warning"]
    assert result.blocking_rule_ids == ["look_ahead", "dbt_rule"]
    assert by_id["dbt_warning"].message.endswith("; warning")
    assert result.verdict.value == "block"


def test_a_warn_rule_that_cannot_be_evaluated_warns(tmp_path: Path) -> None:
    gate_contract = contract(tmp_path, [prop("a", quality=[
        {"id": "dbt_warning", "type": "custom", "engine": "dbt", "implementation": "select 1",
         **on_violation("warn")},
        {"id": "doc", "type": "text", "description": "Documentation never changes the verdict."},
    ])])
    result = run_gate(gate_contract, OBJECT, pl.DataFrame({"a": ["x"]})).result
    by_id = {r.id: r for r in result.rules}
    assert (by_id["doc"].outcome.value, by_id["doc"].passed) == ("not_evaluated", None)
    assert result.verdict.value == "warn"


def test_sql_rules_are_quoted_and_sandboxed(tmp_path: Path) -> None:
    assert quote_identifier('my "x"') == '"my ""x"""'
    assert render_query("SELECT COUNT(*) FROM ${table} WHERE ${column} > 0", "t 1", 'c"') == \
        'SELECT COUNT(*) FROM "t 1" WHERE "c""" > 0'
    gate_contract = contract(tmp_path, [prop("a", quality=[
        {"id": "two_columns", "type": "sql", "query": "SELECT 1, 2", "mustBe": 1},
        {"id": "text", "type": "sql", "query": "SELECT 'x'", "mustBe": 1},
        {"id": "reads_files", "type": "sql", "query": "SELECT COUNT(*) FROM read_csv('/etc/passwd')",
         "mustBe": 1},
        {"id": "average", "type": "sql", "query": "SELECT AVG(CAST({property} AS DOUBLE)) FROM {object}",
         "mustBeBetween": [1, 2]},
    ])])
    result = run_gate(gate_contract, OBJECT, pl.DataFrame({"a": ["1", "2"]})).result
    by_id = {r.id: r for r in result.rules}
    assert "exactly one row with one column" in by_id["two_columns"].message
    assert "must return a number" in by_id["text"].message
    assert by_id["reads_files"].outcome.value == "not_evaluated"
    assert "disabled" in by_id["reads_files"].message
    assert (by_id["average"].value, by_id["average"].passed) == (1.5, True)


def test_rules_keep_the_latest_and_quarantine_never_blocks_schema_rules(tmp_path: Path) -> None:
    rules = {r.id: r for r in compile_rules(contract(tmp_path, SALES), OBJECT)}
    assert rules["id_duplicateValues"].keep_latest_by.name == "updated_at"
    assert rules["id_duplicateValues"].threshold == {"mustBeLessOrEqualTo": 100}
    assert rules["id_duplicateValues"].unit == "percent"
    assert rules["qty_nullValues"].threshold == {"mustBe": 0}


@pytest.mark.parametrize(("pattern", "regex", "strptime"), [
    ("dd.MM.yyyy", r"(?:0[1-9]|[12][0-9]|3[01])\.(?:0[1-9]|1[0-2])\.", "%d.%m.%Y"),
    ("yyyy-MM-dd'T'HH:mm:ss", "T", "%Y-%m-%dT%H:%M:%S"),
    ("yyyy/MM/dd HH:mm", "/", "%Y/%m/%d %H:%M"),
    ("d 'o''clock' M", "o'clock", "%d o'clock %m"),
])
def test_jdk_patterns(pattern: str, regex: str, strptime: str) -> None:
    temporal = temporal_format("timestamp", pattern)
    assert regex in temporal.regex
    assert temporal.strptime == strptime


def test_unsupported_definitions_say_why() -> None:
    with pytest.raises(UnsupportedDefinition, match="'yy' is not supported"):
        temporal_format("date", "dd.MM.yy")
    with pytest.raises(UnsupportedDefinition, match="'XXX' follows a field of varying width"):
        temporal_format("timestamp", "d.M.yyyy HH:mmXXX")
    with pytest.raises(UnsupportedDefinition, match="has date fields"):
        temporal_format("time", "yyyy HH:mm")
    assert temporal_format("timestamp", "yyyy-MM-dd HH:mm:ssZ").parse_slices == ((0, 19),)
    assert temporal_format("time", None).parse_text("10:00:00.5") == "1970-01-01 10:00:00"
    assert castability("number", decimal_separator=",").text_pattern == number_pattern(",")
    assert temporal_format("timestamp", None).parse_text("2024-01-31T10:00:00.5") == "2024-01-31 10:00:00"


def test_a_composite_table_relationship_is_one_rule_over_its_key(tmp_path: Path) -> None:
    gate_contract = contract(tmp_path, [prop("a"), prop("b")], relationships=[
        {"from": [f"{OBJECT}.a", f"{OBJECT}.b"], "to": ["dim.x", "dim.y"]}])
    (composite,) = [r for r in compile_rules(gate_contract, OBJECT) if r.kind == RuleKind.RELATIONSHIP]
    assert (composite.id, composite.properties, composite.property) == ("a_b_relationship", ["a", "b"], None)
    assert (composite.reference_table, composite.reference_columns) == ("dim", ["x", "y"])
    assert composite.references == "dim.(x, y)"
