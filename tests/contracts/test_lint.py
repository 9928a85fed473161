"""`shelfguard contracts lint`: shipped contracts are clean, and every check points at the right line."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from checks.contract import MAX_CONTRACT_BYTES, odcs_json_schema, parse_yaml
from checks.lint import lint_paths
from shelfguard.cli import main

REPO_ROOT = Path(__file__).resolve().parents[2]
CONTRACTS_DIR = REPO_ROOT / "contracts"
NWG_US = CONTRACTS_DIR / "retailers" / "nwg_us" / "nwg_us.odcs.yaml"
RETAILERS = ("nwg_us", "alp_de", "mpn_fr", "kst_uk", "skr_jp", "pmp_ar", "lks_ca", "crl_au", "fjd_no")


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A contracts folder with the canonical contracts and a copy of nwg_us to break."""
    root = tmp_path / "contracts"
    shutil.copytree(CONTRACTS_DIR / "canonical", root / "canonical")
    (root / "retailers" / "nwg_us").mkdir(parents=True)
    shutil.copy(NWG_US, root / "retailers" / "nwg_us" / "nwg_us.odcs.yaml")
    return root


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text("utf-8")
    assert text.count(old) == 1, f"{old!r} must occur exactly once in {path}"
    path.write_text(text.replace(old, new), "utf-8")


def line_of(path: Path, marker: str, after: str | None = None) -> int:
    """Number of the first line containing `marker` (after the first line containing `after`)."""
    lines = path.read_text("utf-8").splitlines()
    start = line_of(path, after) if after else 0
    for number, line in enumerate(lines[start:], start=start + 1):
        if marker in line:
            return number
    raise AssertionError(f"{marker!r} not in {path}")


def messages(root: Path) -> list[str]:
    """Errors and warnings (`path:line:column: warning: ...`)."""
    return [problem.location_message() for problem in lint_paths([root], with_warnings=True)]


def test_every_retailer_has_a_contract() -> None:
    folders = [p.parent.name for p in (CONTRACTS_DIR / "retailers").glob("*/*.odcs.yaml")]
    assert sorted(folders) == sorted(RETAILERS)


def test_shipped_contracts_lint_clean() -> None:
    assert [p.location_message() for p in lint_paths([CONTRACTS_DIR], with_warnings=True)] == []


def test_contracts_are_validated_against_the_v3_1_0_schema() -> None:
    """The schema shipped in `checks` (not the later one of the `open-data-contract-standard`
    package), identical to the reference schema when ODCS_SCHEMA points at it."""
    assert odcs_json_schema()["properties"]["apiVersion"]["default"] == "v3.1.0"
    schema_path = os.environ.get("ODCS_SCHEMA")
    if schema_path:
        assert odcs_json_schema() == json.loads(Path(schema_path).read_text("utf-8"))


# (what to replace in nwg_us, by what, text on the line the error must point at, part of the message)
BROKEN = {
    "rule property unknown": (
        "properties: [business_date, store_nbr, item_nbr]",
        "properties: [business_date, store_nbr,\n            item_number]",
        "item_number]",
        "unknown property 'item_number'",
    ),
    "canonical target unknown": (
        "value: [prod_dim.gtin]", "value: [prod_dim.colour]", "prod_dim.colour",
        "'prod_dim.colour' is not a column",
    ),
    "canonical target filled by pipeline": (
        "value: [prod_dim.gtin]", "value: [prod_dim.product_sk]", "prod_dim.product_sk",
        "filled by the pipeline",
    ),
    "canonical target fed twice": (
        "value: [daily_store_fact.units_sold]",
        "value: [daily_store_fact.units_sold, daily_store_fact.on_hand_units]",
        "value: [daily_store_fact.on_hand_units]",
        "already fed by 'qty_sold'",
    ),
    "required canonical column not mapped": (
        "value: [daily_store_fact.units_sold]",
        "value: [daily_store_fact.on_hand_units]",
        "- name: pos_daily",
        "maps nothing to daily_store_fact.units_sold",
    ),
    "pattern invalid": (
        'pattern: "[0-9]{12}"', 'pattern: "[0-9{12}"', "[0-9{12}", "unclosed character class",
    ),
    "pattern invalid for rust": (
        'pattern: "[0-9]{12}"', 'pattern: "(?=0)[0-9]{12}"', "(?=0)", "look-around",
    ),
    "pattern valid only once anchored": (
        'pattern: "[0-9]{12}"', 'pattern: "[0-9]{12})|([0-9]{13}"', "[0-9]{12})|(", "unopened group",
    ),
    "rule unit unknown": (
        '"[0-9]{12}"\n            mustBeLessThan: 5\n            unit: percent\n',
        '"[0-9]{12}"\n            mustBeLessThan: 5\n            unit: permille\n',
        "unit: permille", "warning: rule nwg_upc_format: unit 'permille' is not rows or percent",
    ),
    "custom rule engine unknown": (
        "      - id: nwg_pos_daily_not_empty\n",
        "      - id: nwg_dbt_rule\n        type: custom\n        engine: dbt\n        implementation: x\n"
        "      - id: nwg_pos_daily_not_empty\n",
        "engine: dbt", "warning: rule nwg_dbt_rule: engine 'dbt' cannot be run here",
    ),
    "decimal separator unknown": (
        '        value: ","\n',
        '        value: ","\n      - property: decimalSeparator\n        value: "\'"\n',
        "value: \"'\"", "decimalSeparator must be '.' or ','",
    ),
    "delimiter longer than one character": ('        value: ","\n', '        value: ",;"\n', 'value: ",;"',
                                            "delimiter must be one character"),
    "database server without urlEnv": (
        "    type: local\n    path: landing/nwg_us\n    format: csv\n",
        "    type: custom\n    format: sql\n", "- server: landing", "needs customProperty urlEnv",
    ),
    "api server without tokenEnv": (
        "    type: local\n    path: landing/nwg_us\n    format: csv\n",
        "    type: api\n    location: http://localhost:8080\n", "- server: landing",
        "needs customProperty tokenEnv",
    ),
    "country code unknown": ("value: US\n", "value: USA\n", "value: USA", "unknown country 'USA'"),
    "currency code unknown": ("value: USD\n", "value: usd\n", "value: usd", "unknown currency 'usd'"),
    "time format with date fields": (
        "      - name: business_date\n        logicalType: date\n        physicalType: VARCHAR\n"
        "        logicalTypeOptions:\n          format: MM/dd/yyyy\n",
        "      - name: business_date\n        logicalType: time\n        physicalType: VARCHAR\n"
        "        logicalTypeOptions:\n          format: MM/dd/yyyy\n",
        "format: MM/dd/yyyy", "warning: property 'business_date': time pattern 'MM/dd/yyyy' has date fields",
    ),
    "date format with day names": ("format: MM/dd/yyyy", "format: EEE MM/dd/yyyy", "EEE MM/dd/yyyy",
                                   "'EEE' is not supported"),
    "date format with two-digit year": ("format: MM/dd/yyyy", "format: MM/dd/yy", "MM/dd/yy",
                                        "'yy' is not supported"),
    "period pattern without group": (
        r"value: 'nwg_pos_(?P<period>\d{8})(_v\d+)?\.csv'",
        r"value: 'nwg_pos_(\d{8})\.csv'",
        r"nwg_pos_(\d{8})",
        "named group (?P<period>",
    ),
    "sla unit unknown": ("    unit: d\n", "    unit: fortnights\n", "unit: fortnights", "'fortnights'"),
    "sla cron invalid": ('schedule: "0 6 * * *"', 'schedule: "0 6 * *"', "schedule:", "not a valid cron"),
    "sla element unknown": (
        "element: pos_daily.business_date", "element: pos_daily.sale_day", "element:", "'pos_daily.sale_day'",
    ),
    "second sla for one object": (
        "    description: Yesterday's file is uploaded by 06:00 New York time.\n",
        "    description: Yesterday's file is uploaded by 06:00 New York time.\n"
        "  - property: latency\n    value: 30\n    unit: h\n    element: pos_daily\n",
        ("property: latency", "element: pos_daily"), "second SLA for 'pos_daily': slaProperties[0]",
    ),
    "sla for a one-off object": (
        "        value: nwg_pos_*.csv\n",
        "        value: nwg_pos_*.csv\n      - property: refresh\n        value: once\n",
        "element: pos_daily.business_date", "is delivered once (refresh: once) and is never late",
    ),
    "retailer code is not the folder": (
        "value: nwg_us\n", "value: nwg_ca\n", "value: nwg_ca",
        "must equal the contract's folder name 'nwg_us'",
    ),
    "id does not match retailer code": (
        "id: urn:shelfguard:retailer:nwg_us", "id: urn:shelfguard:retailer:northwind", "id: urn:",
        "id must be urn:shelfguard:retailer:nwg_us",
    ),
    "required custom property missing": (
        "  - property: currency\n    value: USD\n", "", "customProperties:", "needs customProperty currency",
    ),
    "role read as something unknown": (
        "  - role: pos_analysts_americas\n    access: read\n",
        "  - role: pos_analysts_americas\n    access: read\n    customProperties:\n"
        "      - property: readsAs\n        value: viewer\n",
        "value: viewer", "unknown readsAs 'viewer'",
    ),
    "delivery server unknown": (
        "  - property: currency\n    value: USD\n",
        "  - property: currency\n    value: USD\n  - property: deliveryServer\n    value: dropbox\n",
        "value: dropbox", "deliveryServer 'dropbox' is not a server",
    ),
    "cadence unknown": ("value: daily\n", "value: hourly\n", "value: hourly", "unknown cadence 'hourly'"),
    "shape unknown": ("value: one_big_table", "value: star_schema", "star_schema", "unknown shape"),
    "timezone unknown": ("value: America/New_York", "value: Mars/Olympus", "Mars", "unknown timezone"),
    "landing format unknown": ("format: csv", "format: xml", "format: xml", "unknown landing format 'xml'"),
    "encoding unknown": ("value: utf-8", "value: klingon-8", "klingon-8", "unknown encoding"),
    "watermark unknown": (
        "      - property: periodPattern\n",
        "      - property: watermark\n        value: changed_at\n      - property: periodPattern\n",
        "changed_at",
        "watermark 'changed_at' is not a property",
    ),
    "transform unknown": ("value: cents_to_units", "value: to_eur", "to_eur", "unknown transform"),
    "execution engine unknown": (
        "  - property: currency\n    value: USD\n",
        "  - property: currency\n    value: USD\n  - property: executionEngine\n    value: duckdb\n",
        "value: duckdb", "unknown executionEngine 'duckdb'; expected one of polars, spark",
    ),
    "on violation unknown": (
        "            value: warn\n        customProperties:\n          - property: canonical\n"
        "            value: [site_dim.region]",
        "            value: stop\n        customProperties:\n          - property: canonical\n"
        "            value: [site_dim.region]",
        "value: stop",
        "unknown onViolation 'stop'",
    ),
    "quarantine on a batch-level rule": (
        "        metric: rowCount\n        mustBeGreaterThan: 0\n",
        "        metric: rowCount\n        mustBeGreaterThan: 0\n        customProperties:\n"
        "          - property: onViolation\n            value: quarantine\n",
        ("nwg_pos_daily_not_empty", "value: quarantine"),
        "quarantine needs a row-level rule",
    ),
    "library rule with two operators": (
        "        metric: rowCount\n        mustBeGreaterThan: 0\n",
        "        metric: rowCount\n        mustBeGreaterThan: 0\n        mustBeLessThan: 9\n",
        "id: nwg_pos_daily_not_empty",
        "needs exactly one operator",
    ),
    "invalid values without arguments": (
        '            arguments:\n              pattern: "[0-9]{12}"\n',
        "",
        "id: nwg_upc_format",
        "warning: rule nwg_upc_format: invalidValues needs arguments.validValues or arguments.pattern",
    ),
    "date format unsupported": ("format: MM/dd/yyyy", "format: MM/dd/yyyy QQ", "MM/dd/yyyy QQ", "'QQ'"),
}

SQL_RULE = """      - id: nwg_sql_rule
        type: sql
        query: "{query}"
        mustBe: 0
"""
BROKEN_SQL = {
    "property placeholder on an object rule": (
        "SELECT COUNT(*) FROM {object} WHERE {property} IS NULL", "only defined for rules on a property",
    ),
    "unknown placeholder": ("SELECT COUNT(*) FROM {tabel}",
                            "warning: rule nwg_sql_rule: unknown placeholder {tabel}"),
}


@pytest.mark.parametrize("case", BROKEN, ids=list(BROKEN))
def test_each_check_reports_its_line(tree: Path, case: str) -> None:
    old, new, marker, message = BROKEN[case]
    after, marker = marker if isinstance(marker, tuple) else (None, marker)
    path = tree / "retailers" / "nwg_us" / "nwg_us.odcs.yaml"
    edit(path, old, new)
    prefix = f"{path}:{line_of(path, marker, after)}:"
    found = messages(tree)
    assert any(m.startswith(prefix) and message in m for m in found), found


@pytest.mark.parametrize("case", BROKEN_SQL, ids=list(BROKEN_SQL))
def test_sql_placeholders(tree: Path, case: str) -> None:
    query, message = BROKEN_SQL[case]
    path = tree / "retailers" / "nwg_us" / "nwg_us.odcs.yaml"
    path.write_text(path.read_text("utf-8") + SQL_RULE.format(query=query), "utf-8")
    prefix = f"{path}:{line_of(path, 'query:')}:"
    found = messages(tree)
    assert any(m.startswith(prefix) and message in m for m in found), found


def test_relationships_must_point_at_existing_properties(tree: Path) -> None:
    path = tree / "canonical" / "pos_canonical.odcs.yaml"
    text = path.read_text("utf-8").replace("- to: site_dim.site_sk", "- to: site_dim.store_sk", 1)
    path.write_text(text, "utf-8")
    edit(path, "  - name: weekly_store_fact\n",
         "    relationships:\n      - from: daily_store_fact.site_id\n        to: site_dim.site_code\n"
         "  - name: weekly_store_fact\n")
    found = messages(tree)
    for target in ("site_dim.store_sk", "site_dim.site_code"):
        prefix = f"{path}:{line_of(path, target)}:"
        assert any(m.startswith(prefix) and f"relationship to {target!r}" in m for m in found), found


def test_retailer_identities_are_unique(tree: Path) -> None:
    copy = tree / "retailers" / "nwx_us" / "nwx_us.odcs.yaml"
    copy.parent.mkdir()
    shutil.copy(tree / "retailers" / "nwg_us" / "nwg_us.odcs.yaml", copy)
    edit(copy, "value: nwg_us\n", "value: nwx_us\n")
    edit(copy, "id: urn:shelfguard:retailer:nwg_us", "id: urn:shelfguard:retailer:nwx_us")
    found = messages(tree)
    original = tree / "retailers" / "nwg_us" / "nwg_us.odcs.yaml"
    for marker, name in (("SG_NWG_US", "secureGroupKey"), ("DP-1001", "dataProviderCode")):
        expected = f"{copy}:{line_of(copy, marker)}:"
        assert any(m.startswith(expected) and f"{name} {marker!r} is already used by {original}:" in m
                   for m in found), found
    assert not any(m.startswith(str(original)) for m in found), found


def test_all_schema_errors_are_reported(tree: Path) -> None:
    path = tree / "retailers" / "nwg_us" / "nwg_us.odcs.yaml"
    edit(path, "kind: DataContract", "kind: Contract")
    edit(path, "domain: retail-pos", "domain: retail-pos\nflavour: vanilla")
    edit(path, "      - name: store_gln\n", "      - name: store_gln\n        colour: red\n")
    found = messages(tree)
    assert any(m.startswith(f"{path}:2:") and "ODCS schema" in m for m in found), found
    for key in ("flavour", "colour"):
        assert any(m.startswith(f"{path}:{line_of(path, key)}:") and f"'{key}' was unexpected" in m
                   for m in found), found


def test_broken_document_gives_errors_not_a_traceback(tree: Path) -> None:
    path = tree / "retailers" / "nwg_us" / "nwg_us.odcs.yaml"
    edit(path, "  - name: pos_daily\n", "  - name: [pos_daily]\n")
    edit(path, "    value: SG_NWG_US", "    value: [SG_NWG_US]")
    edit(path, "  - property: retailerCode", "  - property: [retailerCode]")
    found = messages(tree)
    assert any(m.startswith(f"{path}:{line_of(path, '- name: [pos_daily]')}:") for m in found), found


def test_alias_bomb_rejected(tmp_path: Path) -> None:
    """A billion laughs (10 ** 9 nodes once expanded) is refused at the line where it passes the bound."""
    path = tmp_path / "bomb.odcs.yaml"
    names = "abcdefghi"
    lines = ["a: &a [" + ", ".join(["x"] * 10) + "]"]
    lines += [f"{new}: &{new} [" + ", ".join([f"*{old}"] * 10) + "]"
              for old, new in zip(names, names[1:], strict=False)]
    path.write_text("\n".join(lines) + "\n", "utf-8")
    found = messages(tmp_path)
    assert [m.split(": ", 1)[0] for m in found] == [f"{path}:6:8"], found
    assert "expands to more than" in found[0]


def test_oversize_contract_rejected(tmp_path: Path) -> None:
    path = tmp_path / "big.odcs.yaml"
    path.write_text("description: " + "x" * MAX_CONTRACT_BYTES + "\n", "utf-8")
    found = messages(tmp_path)
    assert len(found) == 1 and found[0].startswith(f"{path}:1:1:") and "the limit is" in found[0]


def test_invalid_yaml_points_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.odcs.yaml"
    path.write_text("apiVersion: v3.1.0\nkind: [DataContract\nid: x\n", "utf-8")
    found = messages(tmp_path)
    assert len(found) == 1 and "invalid YAML" in found[0] and found[0].startswith(f"{path}:")


def test_cli_exit_codes(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["contracts", "lint", str(tree)]) == 0
    assert capsys.readouterr().out == ""
    path = tree / "retailers" / "nwg_us" / "nwg_us.odcs.yaml"
    edit(path, "format: csv", "format: xml")
    assert main(["contracts", "lint", str(path)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == [f"{path}:{line_of(path, 'format: xml')}:5: unknown landing format 'xml'; "
                   "expected one of csv, text, parquet, jsonl, xlsx"]
    assert main(["contracts", "lint", str(tree / "missing")]) == 2
    assert "no such file or folder" in capsys.readouterr().err


def test_cli_lints_the_project_contracts_by_default() -> None:
    result = subprocess.run(["uv", "run", "--quiet", "shelfguard", "contracts", "lint"], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=120)
    assert (result.returncode, result.stdout) == (0, ""), result.stderr


def test_contract_ids_are_unique(tree: Path) -> None:
    original = tree / "canonical" / "pos_canonical.odcs.yaml"
    copy = tree / "canonical" / "pos_canonical_copy.odcs.yaml"
    shutil.copy(original, copy)
    found = messages(tree)
    contract_id = parse_yaml(copy, copy.read_text("utf-8"))[0]["id"]
    line = line_of(copy, "id: ")
    assert f"{copy}:{line}:1: id {contract_id!r} is already used by {original}:{line}" in found, found


def test_patterns_the_engines_accept_are_clean(tree: Path) -> None:
    """`\\p{Lu}` is valid for Rust regex and RE2 (Python's `re` rejects it, the gates never use it)."""
    path = tree / "retailers" / "nwg_us" / "nwg_us.odcs.yaml"
    edit(path, 'pattern: "[0-9]{12}"', 'pattern: "\\\\p{Lu}[0-9]{11}"')
    assert messages(tree) == []


def test_composite_relationships_lint_clean_and_widths_must_match(tree: Path) -> None:
    path = tree / "canonical" / "pos_canonical.odcs.yaml"
    edit(path, "  - name: weekly_store_fact\n",
         "    relationships:\n      - from: [daily_store_fact.site_sk, daily_store_fact.product_sk]\n"
         "        to: [site_dim.site_sk, site_dim.site_sk]\n"
         "      - from: [daily_store_fact.site_sk, daily_store_fact.product_sk]\n"
         "        to: [site_dim.site_sk]\n  - name: weekly_store_fact\n")
    found = messages(tree)
    second = line_of(path, "        to: [site_dim.site_sk]") - 1
    assert found == [f"{path}:{second}:9: relationship from 2 column(s) to 1: a composite key has as many "
                     "columns at both ends"], found


def test_several_servers_with_datacontract_hints_lint_clean(tree: Path) -> None:
    """A second server (the one `deliveryServer` names) with `delimiter` and `encoding` as
    datacontract-cli writes them on a local server: valid, and no error."""
    contract = tree / "retailers" / "nwg_us" / "nwg_us.odcs.yaml"
    edit(contract, "    description: Web upload portal; one file per business day.\n",
         "    description: Web upload portal; one file per business day.\n"
         "  - server: sftp_drop\n    type: local\n    path: ./drop/*.csv\n    format: csv\n"
         "    delimiter: \";\"\n    encoding: latin-1\n")
    edit(contract, "  - property: currency\n    value: USD\n",
         "  - property: currency\n    value: USD\n  - property: deliveryServer\n    value: sftp_drop\n")
    assert messages(tree) == []
