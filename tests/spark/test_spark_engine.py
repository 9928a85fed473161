"""The spark engine on Spark's own batches: `shelfguard check --engine spark` reads CSV, Parquet,
JSON lines and Delta with Spark and gives the pandera engine's numbers; row numbers follow the
delivery across partitions and files; the split and the samples stay in Spark; what Spark SQL could
read besides the batch is refused. (Every conformance and corpus case runs on spark too:
tests/gates.)"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from checks.contract import load_contract
from checks.engines.base import ROW_NUMBER
from checks.engines.spark_engine import SparkViolations, is_spark_frame, numbered, read_batch
from checks.gate import BLOCKED_BY, QUARANTINE_REASONS, run_gate
from checks.samples import VIOLATED_RULES, violating_sample
from shelfguard.cli import main
from tests.gates.helpers import OBJECT, contract_file, on_violation, prop, rule

pytestmark = pytest.mark.spark

TS = {"logicalTypeOptions": {"format": "yyyy-MM-dd HH:mm:ss"}}
PROPERTIES = [
    prop("id", required=True, **on_violation("quarantine")),
    prop("gtin", quality=[rule("gtin_format", "invalidValues", "quarantine",
                               arguments={"pattern": "[0-9]{13}"}, unit="percent", mustBeLessThan=50)]),
    prop("qty", "integer", **on_violation("warn"), logicalTypeOptions={"minimum": 0}),
    prop("price", "number", **on_violation("warn")),
    prop("day", "date", **on_violation("warn")),
    prop("site", relationships=[{"to": "sites.site"}], **on_violation("quarantine")),
    prop("updated_at", "timestamp", **TS, **on_violation("warn")),
]
QUALITY = [
    rule("id_dups", "duplicateValues", "quarantine", arguments={"properties": ["id"]}, unit="percent",
         mustBeLessThan=50),
    rule("rows", "rowCount", mustBeGreaterThan=0),
    {"id": "big_qty", "type": "sql", "query": "SELECT COUNT(*) FROM {object} WHERE qty > 5",
     "mustBeLessThan": 3, **on_violation("warn")},
]
ROWS = {
    "id": ["a", "b", "a", "c", None, "d", "a", "e"],
    "gtin": ["4006381333931", "400638133393", "4006381333931", None, "4006381333931", "x", "4006381333931",
             "4006381333931"],
    "qty": [1, 7, -2, 3, 9, 4, 5, 6],
    "price": [1.5, 2.0, 3.25, None, 0.5, 1.0, 2.5, 9.0],
    "day": [date(2024, 1, d) for d in range(1, 9)],
    "site": ["s1", "s2", "s9", None, "s1", "s1", "s2", "s3"],
    "updated_at": ["2024-01-01 10:00:00", "2024-01-01 10:00:00", "2024-01-03 10:00:00", "garbage",
                   "2024-01-01 10:00:00", "2024-02-30 10:00:00", "2024-01-02 10:00:00", None],
}


def _write(frame: pl.DataFrame, folder: Path, kind: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    if kind == "csv":
        path = folder / "sales.csv"
        frame.write_csv(path)
    elif kind == "parquet":
        path = folder / "sales.parquet"
        frame.write_parquet(path)
    elif kind == "jsonl":
        path = folder / "sales.jsonl"
        frame.with_columns(pl.col("day").cast(pl.String)).write_ndjson(path)
    else:
        path = folder / "sales_delta"
        frame.write_delta(str(path))
    return path


def _check(capsys: pytest.CaptureFixture[str], engine: str, *argv: str) -> dict:
    status = main(["check", *argv, "--engine", engine, "--format", "json"])
    out, err = capsys.readouterr()
    assert status in (0, 1), err
    return json.loads(out)


def _numbers(result: dict) -> tuple:
    rules = [(r["id"], r["value"], r["violating_rows"], r["outcome"], r["passed"]) for r in result["rules"]]
    return result["rows"], result["rows_published"], result["rows_quarantined"], result["verdict"], rules


@pytest.mark.parametrize("kind", ["csv", "parquet", "jsonl", "delta"])
def test_check_reads_each_format_with_spark_and_gives_pandera_numbers(
        spark, kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    contract = contract_file(tmp_path, PROPERTIES, QUALITY)
    data = _write(pl.DataFrame(ROWS), tmp_path / "in", kind)
    sites = tmp_path / "sites.csv"
    sites.write_text("site\ns1\ns2\ns3\n")
    argv = ["--contract", str(contract), "--data", str(data), "--reference", f"sites={sites}"]
    assert is_spark_frame(read_batch(data, format=kind))
    on_spark, on_pandera = _check(capsys, "spark", *argv), _check(capsys, "pandera", *argv)
    assert on_spark["engine"] == "spark"
    assert _numbers(on_spark) == _numbers(on_pandera)
    by_id = {r["id"]: r for r in on_spark["rules"]}
    # a kept at row 2 (latest updated_at): rows 0 and 6 duplicates; s9 unknown; one 12-digit gtin and x
    assert (by_id["id_dups"]["violating_rows"], by_id["site_relationship"]["violating_rows"]) == (2, 1)
    assert by_id["gtin_format"]["violating_rows"] == 2
    assert by_id["big_qty"]["value"] == 3  # 7, 9 and 6 (CSV text typed as integers first)
    assert by_id["updated_at_type"]["violating_rows"] == 2  # garbage, 30 February
    assert on_spark["verdict"] == "quarantine"


def test_row_numbers_follow_the_delivery_across_partitions_and_files(spark, tmp_path: Path) -> None:
    frame, rows = numbered(spark.range(0, 1000, 1, 7).withColumnRenamed("id", "value"))
    collected = pl.from_arrow(frame.toArrow())
    assert rows == 1000
    assert collected.sort(ROW_NUMBER).get_column("value").to_list() == list(range(1000))
    assert collected.get_column(ROW_NUMBER).sort().to_list() == list(range(1000))
    folder = tmp_path / "files"
    folder.mkdir()
    (folder / "a.csv").write_text("v\n" + "\n".join(str(i) for i in range(5)) + "\n")  # small first
    (folder / "b.csv").write_text("v\n" + "\n".join(str(i) for i in range(5, 500)) + "\n")
    frame, rows = numbered(read_batch(folder, format="csv"))
    in_order = pl.from_arrow(frame.toArrow()).sort(ROW_NUMBER).get_column("v").cast(pl.Int64).to_list()
    assert (rows, in_order) == (500, list(range(500)))


def test_split_and_samples_stay_in_spark(spark, tmp_path: Path) -> None:
    contract = load_contract(contract_file(tmp_path, PROPERTIES, QUALITY))
    batch = read_batch(_write(pl.DataFrame(ROWS), tmp_path / "in", "parquet"), format="parquet")
    sites = spark.createDataFrame(pl.DataFrame({"site": ["s1", "s2", "s3"]}).to_arrow())
    gate = run_gate(contract, OBJECT, batch, engine="spark", references={"sites": sites})
    assert is_spark_frame(gate.published) and is_spark_frame(gate.quarantined)
    assert all(isinstance(v, SparkViolations) for v in gate.violations.values())
    quarantined = pl.from_arrow(gate.quarantined.toArrow()).sort(ROW_NUMBER)
    reasons = dict(zip(quarantined[ROW_NUMBER].to_list(), quarantined[QUARANTINE_REASONS].to_list(),
                       strict=True))
    # row 0 and 6: duplicates of a (kept: row 2, the latest); 1 and 5: gtin; 2: site s9; 4: id null
    assert reasons == {0: ["id_dups"], 1: ["gtin_format"], 2: ["site_relationship"],
                       4: ["id_nullValues"], 5: ["gtin_format"], 6: ["id_dups"]}
    assert gate.result.rows_quarantined == 6 and gate.published.count() == 2
    sample = violating_sample(batch, gate)
    assert sample.get_column(ROW_NUMBER).to_list() == [0, 1, 2, 3, 4, 5, 6]  # 3: updated_at garbage
    by_row = dict(zip(sample[ROW_NUMBER], sample[VIOLATED_RULES].to_list(), strict=True))
    assert sorted(by_row[2]) == ["qty_minimum", "site_relationship"]
    assert sorted(by_row[5]) == ["gtin_format", "updated_at_type"]


def test_blocked_batch_quarantines_every_row_in_spark(spark, tmp_path: Path) -> None:
    contract = load_contract(contract_file(tmp_path, [prop("a", quality=[rule("no_nulls", "nullValues",
                                                                               mustBe=0)])]))
    batch = spark.createDataFrame(pl.DataFrame({"a": ["x", None, "y"]}).to_arrow())
    gate = run_gate(contract, OBJECT, batch, engine="spark")
    assert gate.result.verdict.value == "block" and gate.published.count() == 0
    quarantined = pl.from_arrow(gate.quarantined.toArrow()).sort(ROW_NUMBER)
    # every row is held back with its batch; only the null row is counted under the rule it breaks
    assert quarantined.get_column(QUARANTINE_REASONS).to_list() == [["blocked"], ["blocked", "no_nulls"],
                                                                     ["blocked"]]
    assert quarantined.get_column(BLOCKED_BY).to_list() == [["no_nulls"]] * 3


def test_sql_rules_cannot_read_paths_or_change_tables(spark, tmp_path: Path) -> None:
    secret = tmp_path / "secret.parquet"
    pl.DataFrame({"x": [1]}).write_parquet(secret)
    contract = load_contract(contract_file(tmp_path, [prop("a", quality=[
        {"id": "reads_path", "type": "sql", "query": f"SELECT COUNT(*) FROM parquet.`{secret}`", "mustBe": 1},
        {"id": "drops", "type": "sql", "query": "DROP VIEW {object}", "mustBe": 0},
        {"id": "quoted", "type": "sql", "query": "SELECT COUNT(*) FROM {object} WHERE {property} = 'x'",
         "mustBe": 1}])], object_name='pos `sales` "daily"'))
    gate = run_gate(contract, 'pos `sales` "daily"', pl.DataFrame({"a": ["x", "y"]}), engine="spark")
    by_id = {r.id: r for r in gate.result.rules}
    assert by_id["reads_path"].outcome.value == "not_evaluated"
    assert "reads a path" in by_id["reads_path"].message
    assert by_id["drops"].outcome.value == "not_evaluated"
    assert (by_id["quoted"].value, by_id["quoted"].passed) == (1, True)
    assert gate.result.verdict.value == "block"


def test_a_polars_batch_is_refused_by_no_engine_and_a_spark_one_only_by_spark(spark, tmp_path: Path) -> None:
    contract = load_contract(contract_file(tmp_path, [prop("a")]))
    batch = spark.createDataFrame(pl.DataFrame({"a": ["x"]}).to_arrow())
    with pytest.raises(ValueError, match="measured by the spark engine"):
        run_gate(contract, OBJECT, batch, engine="pandera")
