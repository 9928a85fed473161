"""`shelfguard check`: exit status 0/1/2, one JSON document, one-line reasons naming the file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from shelfguard.cli import main
from tests.gates.helpers import contract_file, on_violation, prop, rule

REPO = Path(__file__).resolve().parents[2]
ALP_DE = REPO / "contracts" / "retailers" / "alp_de" / "alp_de.odcs.yaml"
RESULT_KEYS = {"contract", "object", "engine", "rows", "rows_published", "rows_quarantined", "verdict",
               "rules"}
RULE_KEYS = {"id", "property", "metric", "on_violation", "unit", "value", "threshold", "violating_rows",
             "passed", "outcome", "message"}


def check(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(["check", *argv])
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture
def gtin_contract(tmp_path: Path) -> Path:
    return contract_file(tmp_path, [
        prop("gtin", required=True, quality=[rule("gtin_format", "invalidValues", "quarantine",
                                                  arguments={"pattern": "[0-9]{13}"}, unit="percent",
                                                  mustBeLessThan=50)]),
        prop("qty", "integer"),
    ])


def data(tmp_path: Path, text: str, name: str = "sales.csv", encoding: str = "utf-8") -> str:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return str(path)


def test_pass_prints_one_json_document(capsys, gtin_contract: Path, tmp_path: Path) -> None:
    batch = data(tmp_path, "gtin,qty\n4006381333931,1\n4006381333932,2\n")
    status, out, err = check(capsys, "--contract", str(gtin_contract), "--data", batch, "--format", "json")
    assert (status, err) == (0, "")
    document = json.loads(out)
    assert set(document) == RESULT_KEYS
    assert all(set(r) >= RULE_KEYS for r in document["rules"])
    assert document["contract"] == {"id": "urn:shelfguard:test:gates", "version": "1.0.0",
                                    "path": str(gtin_contract)}
    assert (document["object"], document["engine"], document["rows"], document["verdict"]) == \
        ("sales", "pandera", 2, "pass")


def test_quarantine_exits_0_and_block_exits_1(capsys, gtin_contract: Path, tmp_path: Path) -> None:
    some_bad = data(tmp_path, "gtin,qty\n4006381333931,1\n12,2\n4006381333932,x\n", "a.csv")
    status, out, _ = check(capsys, "--contract", str(gtin_contract), "--data", some_bad, "--format", "json")
    document = json.loads(out)
    # qty "x" is not an integer: a block rule, so the batch is blocked although gtin only quarantines
    assert (status, document["verdict"], document["rows_quarantined"]) == (1, "block", 3)
    quarantine_only = data(tmp_path, "gtin,qty\n4006381333931,1\n12,2\n4006381333932,3\n", "b.csv")
    status, out, _ = check(capsys, "--contract", str(gtin_contract), "--data", quarantine_only,
                           "--format", "json")
    document = json.loads(out)
    assert (status, document["verdict"], document["rows_published"], document["rows_quarantined"]) == \
        (0, "quarantine", 2, 1)


def test_text_format_is_a_table(capsys, gtin_contract: Path, tmp_path: Path) -> None:
    batch = data(tmp_path, "gtin,qty,extra\n4006381333931,1,z\n")
    status, out, _ = check(capsys, "--contract", str(gtin_contract), "--data", batch)
    assert status == 0
    assert out.startswith("WARN  sales")
    assert "gtin_format" in out and "sales_extra_columns" in out and "columns not in the contract" in out


def test_invalid_contract_names_path_and_line(capsys, tmp_path: Path) -> None:
    path = tmp_path / "bad.odcs.yaml"
    path.write_text(contract_file(tmp_path, [prop("a")]).read_text().replace('"version": "1.0.0",', ""))
    status, out, err = check(capsys, "--contract", str(path), "--data", data(tmp_path, "a\n1\n"))
    assert (status, out) == (2, "")
    assert err.startswith(f"shelfguard check: {path}:1:1: ODCS schema") and err.count("\n") == 1


def test_library_rule_without_operator_is_an_invalid_contract(capsys, tmp_path: Path) -> None:
    path = contract_file(tmp_path, [prop("a", quality=[{"metric": "nullValues"}])])
    status, _, err = check(capsys, "--contract", str(path), "--data", data(tmp_path, "a\n1\n"))
    assert status == 2
    assert f"{path}:" in err and "mustBe" in err and err.count("\n") == 1


@pytest.mark.parametrize(("argv", "message"), [
    (["--object", "nope"], "unknown object 'nope'; the contract has: products, stores, sales"),
    ([], "the contract has 3 objects; choose one with --object: products, stores, sales"),
    (["--object", "sales", "--engine", "dask"], "unknown engine 'dask'"),
])
def test_unknown_object_or_engine(capsys, tmp_path: Path, argv: list[str], message: str) -> None:
    status, out, err = check(capsys, "--contract", str(ALP_DE), "--data", data(tmp_path, "a\n1\n"), *argv)
    assert (status, out) == (2, "")
    assert message in err and err.count("\n") == 1


def test_unreadable_data_exits_2_naming_the_file(capsys, gtin_contract: Path, tmp_path: Path) -> None:
    binary = tmp_path / "sales.csv"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    status, out, err = check(capsys, "--contract", str(gtin_contract), "--data", str(binary))
    assert (status, out) == (2, "")
    assert f"{binary}:" in err and "binary data" in err and err.count("\n") == 1
    status, _, err = check(capsys, "--contract", str(gtin_contract), "--data", str(tmp_path / "gone.csv"))
    assert status == 2 and "gone.csv: no such file" in err
    status, _, err = check(capsys, "--contract", str(tmp_path / "gone.odcs.yaml"), "--data", str(binary))
    assert status == 2 and "gone.odcs.yaml:1:1: cannot read contract" in err


@pytest.mark.parametrize("engine", ["pandera", "soda", "gx", pytest.param("spark", marks=pytest.mark.spark)])
def test_invalid_utf8_found_while_streaming_names_the_line(capsys, gtin_contract: Path, tmp_path: Path,
                                                            engine: str) -> None:
    """Every engine streams the scanned file, so the bad byte is found while an engine reads it."""
    lines = ["gtin,qty"] + ["4006381333931,1"] * 5000
    path = tmp_path / "big.csv"
    path.write_bytes(("\n".join(lines) + "\n").encode() + b"4006381333931,\xff\n")
    status, _, err = check(capsys, "--contract", str(gtin_contract), "--data", str(path), "--engine", engine)
    assert status == 2
    assert f"{path}:5002: not valid utf-8 text" in err


def test_alp_de_hints_semicolon_latin1_decimal_comma(capsys, tmp_path: Path) -> None:
    rows = ["Datum;Filiale;EAN;Menge;Umsatz;Bestand;Änderungsdatum",
            "31.01.2024;München 1;4006381333931;3;12,49;7;31.01.2024 22:00:00",
            "31.01.2024;München 1;40063813;1;0,5;;31.01.2024 22:00:00"]
    batch = data(tmp_path, "\n".join(rows) + "\n", encoding="latin-1")
    status, out, _ = check(capsys, "--contract", str(ALP_DE), "--data", batch, "--object", "sales",
                           "--format", "json")
    document = json.loads(out)
    by_id = {r["id"]: r for r in document["rules"]}
    assert by_id["Umsatz_type"]["violating_rows"] == 0
    assert by_id["sales_columns_present"]["passed"] is True
    # Bestand is empty in one of two rows: 50 % > 20 %, a warning
    assert (status, document["verdict"], by_id["alp_sales_bestand_reported"]["value"]) == (0, "warn", 50.0)


def test_command_in_its_own_process(tmp_path: Path) -> None:
    """The real process: exit 1 on a block, JSON alone on stdout, and no GX/Soda imported."""
    path = contract_file(tmp_path, [prop("a", quality=[rule("a_nulls", "nullValues", mustBe=0)]),
                                    prop("b", **on_violation("warn"))])
    batch = data(tmp_path, "a,b\n,1\n")
    code = ("import sys; from shelfguard.cli import main; status = main(sys.argv[1:]); "
            "print(sorted(m for m in sys.modules if m.startswith(('great_expectations', 'soda'))), "
            "file=sys.stderr); sys.exit(status)")
    process = subprocess.run([sys.executable, "-c", code, "check", "--contract", str(path), "--data", batch,
                              "--format", "json"], capture_output=True, text=True, cwd=REPO,
                             env={**os.environ, "PANDERA_VALIDATION_DEPTH": "SCHEMA_ONLY"})
    assert process.returncode == 1, process.stderr
    assert json.loads(process.stdout)["verdict"] == "block"
    assert process.stderr.strip().splitlines()[-1] == "[]"


def test_references_are_read_from_reference_options(capsys, tmp_path: Path) -> None:
    path = contract_file(tmp_path, [prop("site_sk", relationships=[{"to": "site_dim.site_sk"}])])
    batch = data(tmp_path, "site_sk\ns1\ns2\n")
    status, out, _ = check(capsys, "--contract", str(path), "--data", batch, "--format", "json")
    assert (status, json.loads(out)["verdict"]) == (0, "warn")  # site_dim not supplied: not evaluated
    sites = data(tmp_path, "site_sk\ns1\n", "site_dim.csv")
    status, out, _ = check(capsys, "--contract", str(path), "--data", batch,
                           "--reference", f"site_dim={sites}", "--format", "json")
    relationship = next(r for r in json.loads(out)["rules"] if r["id"] == "site_sk_relationship")
    assert (status, relationship["violating_rows"]) == (1, 1)  # s2 is not in site_dim
    status, _, err = check(capsys, "--contract", str(path), "--data", batch, "--reference", sites)
    assert status == 2 and "expected OBJECT=PATH" in err


def test_unknown_on_violation_is_an_invalid_contract(capsys, tmp_path: Path) -> None:
    path = contract_file(tmp_path, [prop("a", quality=[rule("a_nulls", "nullValues", "blok", mustBe=0)])])
    line = next(n for n, text in enumerate(path.read_text().splitlines(), 1) if '"blok"' in text)
    status, out, err = check(capsys, "--contract", str(path), "--data", data(tmp_path, "a\n1\n"))
    assert (status, out) == (2, "")
    assert err.startswith(f"shelfguard check: {path}:{line}:") and "unknown onViolation 'blok'" in err


@pytest.mark.parametrize(("old", "new", "message"), [
    ('"apiVersion": "v3.1.0"', '"apiVersion": "v4.0.0"', "found 'v4.0.0'"),
    ('"status": "active",', '"status": "active", "context": {"domain": "pos"},', "'context' was unexpected"),
])
def test_each_version_is_validated_against_its_own_schema(capsys, tmp_path: Path, old: str, new: str,
                                                          message: str) -> None:
    """An unknown apiVersion is refused; v3.2's `context` is not valid in a v3.1.0 contract."""
    path = contract_file(tmp_path, [prop("a")])
    path.write_text(path.read_text().replace(old, new, 1))
    line = next(n for n, text in enumerate(path.read_text().splitlines(), 1) if new.split(":")[0] in text)
    status, _, err = check(capsys, "--contract", str(path), "--data", data(tmp_path, "a\n1\n"))
    assert status == 2
    assert err.startswith(f"shelfguard check: {path}:{line}:") and message in err, err


def test_sql_rule_compares_a_csv_column_with_a_number(capsys, tmp_path: Path) -> None:
    """CSV is read as text; the sql rule sees it typed by the contract, as it would on Parquet."""
    contract = contract_file(tmp_path, [prop("store"), prop("units", "integer")], [
        {"id": "big_sales", "type": "sql", "query": "SELECT COUNT(*) FROM {object} WHERE units > 10",
         "mustBeLessThan": 2}])
    csv = data(tmp_path, "store,units\ns1,5\ns2,11\ns3,50\ns4,x\n")
    parquet = tmp_path / "sales.parquet"
    import polars as pl
    pl.DataFrame({"store": ["s1", "s2", "s3"], "units": [5, 11, 50]}).write_parquet(parquet)
    for batch in (csv, str(parquet)):
        status, out, _ = check(capsys, "--contract", str(contract), "--data", batch, "--format", "json")
        big = next(r for r in json.loads(out)["rules"] if r["id"] == "big_sales")
        assert (status, big["value"], big["outcome"]) == (1, 2, "fail"), (batch, big)


def test_column_under_its_physical_name_is_not_missing(capsys, tmp_path: Path) -> None:
    contract = contract_file(tmp_path, [prop("store", physicalName="STORE_NO", required=True),
                                        prop("units", "integer", physicalName="QTY")])
    csv = data(tmp_path, "STORE_NO,QTY\ns1,5\ns2,7\n")
    status, out, _ = check(capsys, "--contract", str(contract), "--data", csv, "--format", "json")
    document = json.loads(out)
    assert (status, document["verdict"]) == (0, "pass"), document


@pytest.fixture
def two_servers(tmp_path: Path) -> Path:
    """A landing server (commas) and, second, a datacontract-cli style one with `delimiter: ";"`."""
    path = contract_file(tmp_path, [prop("store", required=True), prop("units", "integer")])
    document = json.loads(path.read_text())
    document["servers"] = [
        {"server": "landing", "type": "local", "path": "landing", "format": "csv"},
        {"server": "export", "type": "local", "path": "./data/*.csv", "format": "csv", "delimiter": ";"},
    ]
    path.write_text(json.dumps(document))
    return path


def test_server_option_chooses_the_format_hints(capsys, two_servers: Path, tmp_path: Path) -> None:
    semicolons = data(tmp_path, "store;units\ns1;5\ns2;7\n")
    status, out, _ = check(capsys, "--contract", str(two_servers), "--data", semicolons, "--format", "json",
                           "--server", "export")
    assert (status, json.loads(out)["verdict"]) == (0, "pass")
    status, out, _ = check(capsys, "--contract", str(two_servers), "--data", semicolons, "--format", "json")
    present = next(r for r in json.loads(out)["rules"] if r["id"] == "sales_columns_present")
    assert (status, present["value"]) == (1, 2), "the first server's comma: both columns missing"


def test_delivery_server_is_the_default(capsys, two_servers: Path, tmp_path: Path) -> None:
    document = json.loads(two_servers.read_text())
    document["customProperties"] = [{"property": "deliveryServer", "value": "export"}]
    two_servers.write_text(json.dumps(document))
    semicolons = data(tmp_path, "store;units\ns1;5\n")
    status, out, _ = check(capsys, "--contract", str(two_servers), "--data", semicolons, "--format", "json")
    assert (status, json.loads(out)["verdict"]) == (0, "pass")


def test_unknown_server_exits_2_naming_the_servers(capsys, two_servers: Path, tmp_path: Path) -> None:
    batch = data(tmp_path, "store,units\ns1,5\n")
    status, out, err = check(capsys, "--contract", str(two_servers), "--data", batch, "--server", "ftp")
    assert (status, out) == (2, "")
    assert "unknown server 'ftp'" in err and "landing, export" in err


def test_glob_folder_and_json_document_as_data(capsys, tmp_path: Path) -> None:
    """datacontract-cli's `path: ./data/*.csv`: the files are one batch; a self-reference is
    checked against it without --reference."""
    contract = contract_file(tmp_path, [prop("id", required=True),
                                        prop("parent", relationships=[{"to": "sales.id"}])])
    folder = tmp_path / "data"
    folder.mkdir()
    data(folder, "id,parent\na,\nb,a\n", "1.csv")
    data(folder, "id,parent\nc,b\nd,x\n", "2.csv")
    for batch in (str(folder / "*.csv"), str(folder)):
        status, out, _ = check(capsys, "--contract", str(contract), "--data", batch, "--format", "json")
        document = json.loads(out)
        parent = next(r for r in document["rules"] if r["id"] == "parent_relationship")
        assert (status, document["rows"], parent["value"], parent["outcome"]) == (1, 4, 1, "fail"), batch
    one = data(tmp_path, '{\n  "id": "a",\n  "parent": "a"\n}\n', "one.json")
    status, out, _ = check(capsys, "--contract", str(contract), "--data", one, "--format", "json")
    assert (status, json.loads(out)["rows"], json.loads(out)["verdict"]) == (0, 1, "pass")


def sql_rule(rule_id: str, query: str, **threshold: Any) -> dict[str, Any]:
    return {"id": rule_id, "type": "sql", "query": query, **threshold}


def test_sql_rules_read_parquet_and_delta_in_place_with_the_numbers_of_a_copied_csv(
        capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Over Parquet and Delta the queries run on a view over the files (nothing is streamed into
    a DuckDB table), typed by the contract exactly as the copied CSV is: the same numbers."""
    import polars as pl

    from checks.engines import duckdb_batch

    contract = contract_file(tmp_path, [
        prop("store"), prop("units", "integer", physicalName="Menge"), prop("price", "number"),
        prop("sold_on", "date"), prop("promo", "boolean"),
    ], [
        sql_rule("big_sales", "SELECT COUNT(*) FROM {object} WHERE units > 10", mustBeLessThan=9),
        sql_rule("units_sum", "SELECT SUM(units) FROM {table}", mustBeGreaterThan=0),
        sql_rule("late_sales", "SELECT COUNT(*) FROM {object} WHERE sold_on >= DATE '2024-01-02'", mustBe=2),
        sql_rule("promo_revenue", "SELECT SUM(price * units) FROM {object} WHERE promo", mustBeGreaterThan=0),
        sql_rule("untyped", "SELECT COUNT(*) FROM {object} WHERE units IS NULL", mustBe=1),
    ])
    rows = {"store": ["a", "b", "c", "d"], "Menge": ["11", "50", "x", "5"],
            "price": ["1.5", "2", "3.25", "abc"],
            "sold_on": ["2024-01-01", "2024-01-02", "2024-02-30", "2024-01-03"],
            "promo": ["true", "1", "false", "TRUE"]}
    frame = pl.DataFrame(rows)
    frame.write_csv(tmp_path / "sales.csv")
    frame.write_parquet(tmp_path / "sales.parquet")
    frame.write_delta(str(tmp_path / "sales_delta"))

    def values(path: Path) -> dict[str, Any]:
        status, out, err = check(capsys, "--contract", str(contract), "--data", str(path), "--format", "json")
        assert status in (0, 1), err
        return {r["id"]: r["value"] for r in json.loads(out)["rules"] if r["engine"] == "duckdb"}

    copied = values(tmp_path / "sales.csv")
    # x, 2024-02-30 and abc are not castable: NULL; TRUE and 1 are true
    assert copied == {"big_sales": 2, "units_sum": 66, "late_sales": 2, "promo_revenue": 116.5, "untyped": 1}

    def no_copy(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the batch was copied into DuckDB")

    monkeypatch.setattr(duckdb_batch, "_load", no_copy)
    assert values(tmp_path / "sales.parquet") == copied
    assert values(tmp_path / "sales_delta") == copied
