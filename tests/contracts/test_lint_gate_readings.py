"""Lint warnings for what the gate checks differently from how a contract may be read:
logicalTypeOptions it cannot check as written, and which reading of mustBeBetween applies."""

from __future__ import annotations

import json
from pathlib import Path

from checks.lint import lint_paths
from tests.gates.helpers import contract_file, prop, rule


def _lint(path: Path) -> list[tuple[int, str, bool]]:
    return [(p.line, p.message, p.is_error) for p in lint_paths([path], with_warnings=True)]


def _line(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_type_options_the_gate_cannot_check_are_warnings_at_their_line(tmp_path: Path) -> None:
    path = contract_file(tmp_path, [
        prop("phone", logicalTypeOptions={"format": "phone"}),
        prop("code", logicalTypeOptions={"pattern": "(?=A)A+", "maxLength": 3}),
        prop("day", "date", logicalTypeOptions={"minimum": "yesterday"}),
        prop("mail", logicalTypeOptions={"format": "email", "minLength": 3}),
        prop("tags", "array", logicalTypeOptions={"minItems": 1}),
    ], server_hints={"delimiter": ","})
    text = json.dumps(json.loads(path.read_text()), indent=2)  # one key per line: lines to point at
    path.write_text(text)
    found = _lint(path)
    assert not any(error for _, _, error in found), found
    warnings = {message.split(":")[0]: (line, message) for line, message, _ in found}
    phone = warnings["property 'phone'"]
    assert phone[0] == _line(path, '"format": "phone"') and "blocks every batch" in phone[1]
    assert warnings["property 'code'"][0] == _line(path, '"pattern"')
    assert "look-around" in warnings["property 'code'"][1]
    assert "'yesterday'" in warnings["property 'day'"][1]
    assert "carries no arrays" in warnings["property 'tags'"][1]
    assert "property 'mail'" not in warnings, "email and minLength are checked"


def test_array_options_on_a_parquet_delivery_are_clean(tmp_path: Path) -> None:
    path = contract_file(tmp_path, [prop("tags", "array", logicalTypeOptions={"minItems": 1})])
    document = json.loads(path.read_text())
    document["servers"] = [{"server": "lake", "type": "local", "path": "x", "format": "parquet"}]
    path.write_text(json.dumps(document))
    assert not [m for _, m, _ in _lint(path) if "tags" in m and "minItems" in m]


def test_lint_says_mustBeBetween_includes_both_bounds(tmp_path: Path) -> None:
    path = contract_file(tmp_path, [prop("a", quality=[rule("a_nulls", "nullValues", mustBeBetween=[0, 5])])])
    (message,) = [m for _, m, error in _lint(path) if "mustBeBetween" in m and not error]
    assert "[0, 5] is read with both bounds included (0 ≤ value ≤ 5)" in message


def test_timezone_options_are_named_as_not_checked(tmp_path: Path) -> None:
    path = contract_file(tmp_path, [prop("ts", "timestamp", logicalTypeOptions={
        "timezone": True, "defaultTimezone": "Europe/Berlin"})])
    warnings = [m for _, m, error in _lint(path) if not error and "is not checked by the gates" in m]
    assert len(warnings) == 2 and "timezone" in warnings[0] and "defaultTimezone" in warnings[1]


def test_ambiguous_physical_names_are_warnings(tmp_path: Path) -> None:
    path = contract_file(tmp_path, [prop("store", physicalName="units"), prop("units"),
                                    prop("a", physicalName="X"), prop("b", physicalName="X")])
    warnings = [m for _, m, error in _lint(path) if not error and "physicalName" in m]
    assert len(warnings) == 2, warnings
    assert "is the name of another property" in warnings[0] and "is also 'a''s" in warnings[1]
