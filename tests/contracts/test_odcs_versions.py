"""ODCS versions: v3.0.x validated against their own schema and read as v3.1 (in memory and by
`shelfguard contracts upgrade`), v3.2 read as it is, with warnings for what the gates do not check."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from checks.contract import SCHEMA_VERSIONS, load_contract, odcs_json_schema, parse_yaml
from checks.lint import lint_paths
from checks.rules import RuleKind, compile_rules
from shelfguard.cli import main

V30 = """\
# An ODCS v3.0 contract, as v3.0 tools wrote them.
apiVersion: {version}
kind: DataContract
id: urn:test:v30
version: 1.0.0
status: active
team:   # who owns it
  - username: owner@example.com
    role: owner
schema:
  - name: orders
    properties:
      - name: order_id
        logicalType: integer
        quality:
          - rule: nullCheck   # v3.0 spelling
            mustBe: 0
      - name: unit
        logicalType: string
        quality:
          - rule: validValues
            validValues: ['kg', "lb"]
            mustBe: 0
            customProperties:
              - property: note
    quality:
      - rule: rowCount
        mustBeGreaterThan: 0
"""


def write(folder: Path, text: str, name: str = "c.odcs.yaml") -> Path:
    path = folder / name
    path.write_text(text, "utf-8")
    return path


def test_shipped_schemas_are_the_reference_schemas() -> None:
    """The schemas shipped in `checks/` are the ODCS repository's (v3.2.0: the package's later draft)."""
    reference = Path(os.environ.get("ODCS_SCHEMA", "")).parent
    if not (reference / "odcs-json-schema-v3.0.0.json").is_file():
        pytest.skip("ODCS_SCHEMA does not point into the reference schema folder")
    for version in SCHEMA_VERSIONS[:-1]:
        shipped = odcs_json_schema(version)
        assert shipped == json.loads((reference / f"odcs-json-schema-{version}.json").read_text("utf-8"))
    draft = json.loads((reference / "odcs-json-schema-v3.2.0-dev.json").read_text("utf-8"))
    later = odcs_json_schema("v3.2.0")
    assert set(draft["$defs"]) <= set(later["$defs"])
    assert "vector" in later["$defs"]["SchemaBaseProperty"]["properties"]["logicalType"]["enum"]


@pytest.mark.parametrize("version", ["v3.0.0", "v3.0.1", "v3.0.2"])
def test_v30_lints_clean_and_is_read_as_v31(tmp_path: Path, version: str) -> None:
    path = write(tmp_path, V30.format(version=version))
    problems = lint_paths([path], with_warnings=True)
    assert [p.location_message() for p in problems if p.is_error] == []
    assert [(p.line, "read as v3.1.0" in p.message) for p in problems] == [(2, True)]
    contract = load_contract(path)
    assert contract.api_version == version
    assert contract.document["apiVersion"] == "v3.1.0"
    assert contract.team == {"members": [{"username": "owner@example.com", "role": "owner"}]}
    rules = {r.id: r for r in compile_rules(contract, "orders")}
    assert rules["order_id_nullValues"].metric == "nullValues"
    assert rules["unit_invalidValues"].arguments == {"validValues": ["kg", "lb"]}
    assert rules["orders_rowCount"].threshold == {"mustBeGreaterThan": 0}
    # positions still point into the file as written
    assert contract.position("schema", 0, "properties", 1, "quality", 0, "arguments", "validValues")[0] == 22


def test_v30_invalid_against_its_own_schema_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, V30.format(version="v3.0.2").replace("kind: DataContract", "kind: Contract"))
    found = [p.location_message() for p in lint_paths([path])]
    assert any(":3:1: ODCS schema (v3.0.2): kind:" in m for m in found), found


def test_unknown_api_version_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, V30.format(version="v3.9.0"))
    found = [p.location_message() for p in lint_paths([path])]
    assert any(":2:1: apiVersion must be one of v3.0.0, v3.0.1, v3.0.2, v3.1.0, v3.2.0" in m for m in found)


def test_upgrade_writes_v31_keeping_comments_order_and_quotes(tmp_path: Path, capsys) -> None:
    path = write(tmp_path, V30.format(version="v3.0.1"))
    in_memory = load_contract(path).document
    assert main(["contracts", "upgrade", "--check", str(path)]) == 1
    assert path.read_text("utf-8") == V30.format(version="v3.0.1")  # --check writes nothing
    assert main(["contracts", "upgrade", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"{path}:2: apiVersion v3.0.1 -> v3.1.0" in out
    assert f"{path}:16: library rule 'nullCheck' -> metric nullValues" in out
    text = path.read_text("utf-8")
    assert text.startswith("# An ODCS v3.0 contract, as v3.0 tools wrote them.\napiVersion: v3.1.0\n")
    assert "team:   # who owns it\n  members:\n    - username: owner@example.com\n" in text
    assert "          - metric: nullValues # v3.0 spelling\n" in text
    assert "            arguments:\n              validValues: ['kg', \"lb\"]\n" in text
    assert "              - property: note\n                value:\n" in text
    assert parse_yaml(path, text)[0] == in_memory
    assert lint_paths([path], with_warnings=True) == []
    assert main(["contracts", "upgrade", "--check", str(path)]) == 0
    assert "nothing to upgrade" in capsys.readouterr().out


def test_upgrade_refuses_an_invalid_file(tmp_path: Path, capsys) -> None:
    text = V30.format(version="v3.0.2").replace("status: active\n", "")
    path = write(tmp_path, text)
    assert main(["contracts", "upgrade", str(path)]) == 2
    assert "not upgraded" in capsys.readouterr().err
    assert path.read_text("utf-8") == text


V32 = """\
apiVersion: v3.2.0
kind: DataContract
id: urn:test:v32
version: 1.0.0
schema:
  - name: orders
    properties:
      - name: order_id
        logicalType: integer
        relationships:
          - id: order_customer_fk
            to: customers.customer_id
      - name: unit
        logicalType: string
        enum:
          - value: kg
          - value: lb
            label: pound
      - name: attributes
        logicalType: map
        map:
          key: {name: key, logicalType: string}
          value: {name: value, logicalType: string}
      - name: embedding
        logicalType: vector
    quality:
      - metric: rowCount
        rule: rowCount   # deprecated beside metric; metric is read
        mustBeGreaterThan: 0
  - name: customers
    properties:
      - name: customer_id
        logicalType: integer
"""


def test_v32_lints_with_warnings_for_what_is_not_checked(tmp_path: Path, capsys) -> None:
    path = write(tmp_path, V32)
    assert main(["contracts", "lint", str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split(": ", 1)[0].rsplit(":", 2)[-2:] for line in out] == [["20", "9"], ["25", "9"]]
    assert all(": warning: " in line and "not checked" in line for line in out), out
    rules = {r.id: r for r in compile_rules(load_contract(path), "orders")}
    assert rules["unit_enum"].arguments == {"validValues": ["kg", "lb"]}
    assert rules["order_customer_fk"].references == "customers.customer_id"
    assert rules["attributes_type"].kind == rules["embedding_type"].kind == RuleKind.NOT_CHECKED
    assert rules["orders_rowCount"].metric == "rowCount"


V31_SHAPED = """\
apiVersion: {version}
kind: DataContract
id: urn:test:v31-shaped
version: 1.0.0
status: active
schema:
  - name: orders
    properties:
      - name: order_id
        logicalType: integer
        quality:
          - metric: nullValues
            mustBe: 0
      - name: opens
        logicalType: time
"""


def test_v30_label_with_v31_constructs_is_read_as_v31(tmp_path: Path) -> None:
    """The v3.1.0 schema's apiVersion enum includes v3.0.x: a file it accepts is accepted, with a
    warning, even where the v3.0.2 schema refuses it (the ODCS examples do this: `metric`, `time`)."""
    path = write(tmp_path, V31_SHAPED.format(version="v3.0.2"))
    problems = lint_paths([path], with_warnings=True)
    assert [p.message for p in problems if p.is_error] == []
    assert any("valid against the v3.1.0 one" in p.message for p in problems), problems
    assert load_contract(path).document["apiVersion"] == "v3.1.0"


def test_references_outside_the_contract_are_warnings(tmp_path: Path) -> None:
    """A relationship to an object of another contract is checked when the caller gives its table;
    an SLA element naming no object here is read for the whole contract: valid ODCS, not errors."""
    text = V31_SHAPED.format(version="v3.1.0").replace(
        "        logicalType: integer\n", "        logicalType: integer\n        relationships:\n"
        "          - to: customers.customer_id\n", 1)
    text += "slaProperties:\n  - property: latency\n    value: 1\n    unit: d\n    element: tab1.day\n"
    problems = lint_paths([write(tmp_path, text)], with_warnings=True)
    assert [p.message for p in problems if p.is_error] == []
    messages = [p.message for p in problems]
    assert any("--reference customers=PATH" in m for m in messages), messages
    assert any("SLA element 'tab1.day': not an object of this contract" in m for m in messages), messages


def test_an_sla_the_sensor_cannot_judge_is_a_warning_outside_the_pipeline(tmp_path: Path) -> None:
    """`latency` in milliseconds, an `element` naming an object: valid ODCS; only the pipeline's own
    contracts (retailers, layers) need an SLA the freshness sensor can judge."""
    text = V31_SHAPED.format(version="v3.1.0") + (
        "  - name: stock\n    properties:\n      - name: day\n        logicalType: date\n"
        "slaProperties:\n  - property: latency\n    value: 500\n    unit: ms\n    element: orders\n")
    problems = lint_paths([write(tmp_path, text)], with_warnings=True)
    assert [(p.is_error, "unit 'ms'" in p.message and "does not judge" in p.message) for p in problems] == [
        (False, True)], [p.location_message() for p in problems]
