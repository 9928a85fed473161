"""The review's rules are one table (`checks.diff.catalogue`): the docs show it as generated, and the
change kinds of type options, physical names, several servers and access are classified by it."""

from __future__ import annotations

import re
import string
from pathlib import Path
from typing import Any

import pytest

from checks.diff import Severity
from checks.diff.catalogue import CATALOGUE, ROWS, markdown_table
from checks.diff.quality import VALUE_SETS
from checks.diff.values import compare_type_options
from tests.review.contract_edits import ALP_DE, CANONICAL, REPO_ROOT, Edit, edited_text, obj, prop, set_custom
from tests.review.test_diff import BOTH, CONSUMER, PRODUCER, changes_after, the

B, R, S = Severity.BREAKING, Severity.RISKY, Severity.SAFE


def test_docs_show_the_catalogue_as_generated() -> None:
    text = (REPO_ROOT / "docs" / "contract-review.md").read_text("utf-8")
    found = re.search(r"<!-- catalogue:start -->\n(.*?)<!-- catalogue:end -->", text, re.S)
    assert found, "docs/contract-review.md has no catalogue section"
    assert found.group(1).strip() == markdown_table(), (
        "docs/contract-review.md is out of date: paste `uv run python -m checks.diff` between "
        "the catalogue markers"
    )


def test_catalogue_rows_are_unique_and_complete() -> None:
    assert len(CATALOGUE) == len(ROWS)
    for row in ROWS:
        assert row.when and row.reason, row.key
        assert (row.severity == S) == (not row.hurts), f"{row.key}: safe rows hurt nobody, others someone"
        fields = {name for _, name, _, _ in string.Formatter().parse(row.reason) if name}
        assert fields.isdisjoint({"before", "after", "obj", "prop", "field", "rules"}), row.key


def _options(object_name: str, prop_name: str, **options: Any) -> Edit:
    def edit(doc: dict) -> None:
        target = prop(doc, object_name, prop_name).setdefault("logicalTypeOptions", {})
        for key, value in options.items():
            if value is None:
                target.pop(key, None)
            else:
                target[key] = value

    return edit


def _with_options(object_name: str, prop_name: str, before: dict, after: dict) -> tuple[Edit, Edit]:
    return _options(object_name, prop_name, **before), _options(object_name, prop_name, **after)


def _base_and_head(tmp_path: Path, base_edit: Edit, head_edit: Edit, source: Path | None = None) -> list:
    """Changes between two edited copies (the shipped contract has no such option to start from)."""
    from checks.contract import load_contract
    from checks.diff import diff_contracts
    from tests.review.contract_edits import ALP_DE, edited_text

    source = source or ALP_DE
    base_path, head_path = tmp_path / "base" / source.name, tmp_path / "head" / source.name
    for path, edit in ((base_path, base_edit), (head_path, head_edit)):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(edited_text(source, edit), "utf-8")
    return diff_contracts(load_contract(base_path), load_contract(head_path), path=source.name)


OPTION_CASES = [
    ("minimum raised", "Umsatz", {"minimum": 0}, {"minimum": 1}, "type_options_tightened", B, PRODUCER),
    ("minimum dropped", "Umsatz", {"minimum": 0}, {"minimum": None}, "type_options_loosened", R, CONSUMER),
    (
        "maximum made exclusive",
        "Umsatz",
        {"maximum": 100},
        {"maximum": None, "exclusiveMaximum": 100},
        "type_options_tightened",
        B,
        PRODUCER,
    ),
    (
        "range moved",
        "Umsatz",
        {"minimum": 0, "maximum": 10},
        {"minimum": 5, "maximum": 20},
        "type_options_changed",
        B,
        BOTH,
    ),
    ("integer maximum added", "Menge", {}, {"maximum": 10000}, "type_options_tightened", B, PRODUCER),
    ("multipleOf finer", "Menge", {"multipleOf": 6}, {"multipleOf": 3}, "type_options_loosened", R, CONSUMER),
    ("maxLength lowered", "EAN", {"maxLength": 14}, {"maxLength": 13}, "type_options_tightened", B, PRODUCER),
    ("minLength lowered", "EAN", {"minLength": 8}, {"minLength": 1}, "type_options_loosened", R, CONSUMER),
    (
        "pattern alternative dropped",
        "EAN",
        {"pattern": "[0-9]{8}|[0-9]{13}"},
        {"pattern": "[0-9]{13}"},
        "type_options_tightened",
        B,
        PRODUCER,
    ),
    (
        "date maximum earlier",
        "Datum",
        {"maximum": "2030-12-31"},
        {"maximum": "2029-12-31"},
        "type_options_tightened",
        B,
        PRODUCER,
    ),
]


@pytest.mark.parametrize(
    ("prop_name", "before", "after", "kind", "severity", "breaks_for"),
    [case[1:] for case in OPTION_CASES],
    ids=[case[0] for case in OPTION_CASES],
)
def test_type_options_are_classed_by_what_they_accept(
    tmp_path: Path,
    prop_name: str,
    before: dict,
    after: dict,
    kind: str,
    severity: Severity,
    breaks_for: list[str],
) -> None:
    """Tightening a type option breaks producers (datacontract-cli: an error), loosening lets new
    values reach consumers; none of them is documentation only any more."""
    base_edit, head_edit = _with_options("sales", prop_name, before, {**before, **after})
    change = the(_base_and_head(tmp_path, base_edit, head_edit), kind)
    assert (change.severity, change.breaks_for) == (severity, breaks_for), change.reason
    assert (change.object, change.property) == ("sales", prop_name)
    assert change.field.startswith("logicalTypeOptions.")


def test_type_option_added_on_shipped_contract(tmp_path: Path) -> None:
    change = the(changes_after(tmp_path, _options("sales", "Menge", minimum=0)), "type_options_tightened")
    assert change.field == "logicalTypeOptions.minimum"
    assert (change.before, change.after) == (None, {"minimum": 0})
    assert "minimum unset → 0" in change.reason
    assert change.rules, "the type rules of the column are named for the dry run"


@pytest.mark.parametrize(
    ("group", "before", "after", "expected"),
    [
        ("value range", {"minimum": 0, "exclusiveMinimum": True}, {"minimum": 0}, "loosened"),
        ("value range", {"minimum": 0}, {"exclusiveMinimum": 0}, "tightened"),
        ("value range", {"minimum": 1}, {"minimum": 1.0}, "same"),
        ("value range", {"minimum": "2024-01-01"}, {"minimum": "2024-01-01T00:00:00"}, "same"),
        ("value range", {"maximum": "12:00:00"}, {"maximum": "11:00:00"}, "tightened"),
        ("value range", {"maximum": "next week"}, {"maximum": "2024-01-01"}, "changed"),
        ("item count", {}, {"minItems": 1}, "tightened"),
        ("item count", {"maxItems": 3}, {"maxItems": 5}, "loosened"),
        ("uniqueItems", {}, {"uniqueItems": True}, "tightened"),
        ("required keys", {"required": ["a"]}, {"required": ["a", "b"]}, "tightened"),
        ("multipleOf", {"multipleOf": 0.5}, {"multipleOf": 0.25}, "loosened"),
        ("multipleOf", {"multipleOf": 2}, {"multipleOf": 3}, "changed"),
        ("timezone", {"timezone": False}, {"timezone": True}, "tightened"),
    ],
)
def test_type_option_direction(group: str, before: dict, after: dict, expected: str) -> None:
    assert compare_type_options(group, before, after) == expected


def test_physical_name_rename_breaks_producers(tmp_path: Path) -> None:
    def base(doc: dict) -> None:
        prop(doc, "sales", "Menge")["physicalName"] = "MENGE_STK"

    def head(doc: dict) -> None:
        prop(doc, "sales", "Menge")["physicalName"] = "MENGE"

    change = the(_base_and_head(tmp_path, base, head), "delivery_changed")
    assert (change.severity, change.breaks_for, change.field) == (B, PRODUCER, "physicalName")
    assert "MENGE" in change.reason and "MENGE_STK" in change.reason
    assert change.rules == ["sales_columns_present"]


def test_rename_under_the_same_physical_name_breaks_only_readers(tmp_path: Path) -> None:
    """Deliveries carry the physical name, so renaming the logical column does not touch them."""

    def base(doc: dict) -> None:
        prop(doc, "sales", "Menge")["physicalName"] = "MENGE_STK"

    def head(doc: dict) -> None:
        base(doc)
        prop(doc, "sales", "Menge")["name"] = "Stueckzahl"

    change = the(_base_and_head(tmp_path, base, head), "property_renamed")
    assert (change.severity, change.breaks_for) == (B, CONSUMER)
    assert "MENGE_STK" in change.reason


def _second_server(doc: dict) -> None:
    doc["servers"].append(
        {
            "server": "archive",
            "type": "local",
            "path": "archive/alp_de",
            "format": "csv",
            "customProperties": [{"property": "delimiter", "value": ";"}],
        }
    )


def test_server_added_and_its_hints(tmp_path: Path) -> None:
    added = the(changes_after(tmp_path, _second_server), "server_added")
    assert (added.severity, added.breaks_for, added.field) == (R, CONSUMER, "servers[archive]")
    assert "landing" in added.reason

    def head(doc: dict) -> None:
        _second_server(doc)
        set_custom(doc["servers"][1], "delimiter", "|")

    hint = the(_base_and_head(tmp_path, _second_server, head), "format_changed")
    assert (hint.severity, hint.field) == (B, "servers[archive].customProperties.delimiter")


def test_delivery_server_change_and_server_removed(tmp_path: Path) -> None:
    def head(doc: dict) -> None:
        _second_server(doc)
        doc["servers"].reverse()

    moved = the(_base_and_head(tmp_path, _second_server, head), "delivery_changed")
    assert (moved.severity, moved.breaks_for) == (B, PRODUCER)
    assert (moved.before, moved.after) == ("landing", "archive")

    marked = the(
        _base_and_head(
            tmp_path,
            _second_server,
            lambda d: (_second_server(d), set_custom(d, "deliveryServer", "archive")),
        ),
        "delivery_changed",
    )
    assert (marked.field, marked.before, marked.after) == (
        "customProperties.deliveryServer",
        "landing",
        "archive",
    )

    removed = the(_base_and_head(tmp_path, _second_server, lambda d: None), "server_removed")
    assert (removed.severity, removed.breaks_for) == (B, PRODUCER)


def _role(doc: dict, name: str) -> dict:
    return next(r for r in doc["roles"] if r["role"] == name)


ACCESS_CASES = [
    (
        "competition group reads as owner",
        lambda d: set_custom(_role(d, "pos_analysts_emea"), "readsAs", "owner"),
        "roles[pos_analysts_emea]",
        "readsAs competition → owner",
    ),
    (
        "group loses a retailer",
        lambda d: _role(d, "pos_analysts_emea")["customProperties"][0]["value"].remove("SG_LKS_CA"),
        "roles[pos_analysts_emea]",
        "secureGroupKeys loses SG_LKS_CA",
    ),
    (
        "grant by rule dropped",
        lambda d: set_custom(_role(d, "pos_analysts_all"), "grantRule", None),
        "roles[pos_analysts_all]",
        "grantRule activeRetailers → unset",
    ),
    (
        "group's own masking horizon",
        lambda d: set_custom(_role(d, "pos_analysts_emea"), "maskingHorizonDays", 30),
        "roles[pos_analysts_emea]",
        "maskingHorizonDays unset → 30",
    ),
    (
        "group removed",
        lambda d: d["roles"].remove(_role(d, "pos_analysts_emea")),
        "roles[pos_analysts_emea]",
        "loses its read access (secureGroupKeys SG_NWG_US, SG_PMP_AR, SG_LKS_CA; readsAs competition)",
    ),
    (
        "classification changed",
        lambda d: prop(d, "daily_store_fact", "net_sales").__setitem__("classification", "public"),
        "classification",
        "governed tag",
    ),
]


@pytest.mark.parametrize(
    ("edit", "field", "said"), [case[1:] for case in ACCESS_CASES], ids=[case[0] for case in ACCESS_CASES]
)
def test_access_changes_say_what_changes_for_whom(tmp_path: Path, edit: Edit, field: str, said: str) -> None:
    change = the(changes_after(tmp_path, edit, CANONICAL), "access_changed")
    assert (change.severity, change.breaks_for, change.field) == (B, CONSUMER, field)
    assert said in change.reason


def test_retailer_granted_to_nobody_is_an_access_change(tmp_path: Path) -> None:
    change = the(changes_after(tmp_path, lambda d: set_custom(d, "grantedToNobody", True)), "access_changed")
    assert (change.severity, change.breaks_for) == (B, CONSUMER)
    assert change.field == "customProperties.grantedToNobody"


@pytest.mark.parametrize(
    ("before", "after", "kind", "severity"),
    [
        (None, "spark", "execution_changed", R),
        ("spark", "polars", "execution_changed", R),
        (None, "polars", "documentation_changed", S),
    ],
)
def test_execution_engine_change_is_judged_on_the_engine(
    tmp_path: Path, before: str | None, after: str, kind: str, severity: Severity
) -> None:
    base = tmp_path / "base"
    base.mkdir()
    source = base / "alp_de.odcs.yaml"
    source.write_text(edited_text(ALP_DE, lambda d: set_custom(d, "executionEngine", before)), "utf-8")
    changes = changes_after(tmp_path, lambda d: set_custom(d, "executionEngine", after), source)
    change = the(changes, kind)
    assert (change.severity, change.field) == (severity, "customProperties.executionEngine")
    if kind == "execution_changed":
        assert change.breaks_for == CONSUMER and f"{before or 'polars'} → {after}" in change.reason


def test_role_documentation_is_not_an_access_change(tmp_path: Path) -> None:
    edit = lambda d: _role(d, "pos_analysts_emea").__setitem__("description", "EMEA team.")  # noqa: E731
    changes = changes_after(tmp_path, edit, CANONICAL)
    assert [c.change for c in changes if c.severity != S] == ["version_not_bumped"]
    assert the(changes, "documentation_changed").field == "roles[pos_analysts_emea].description"


def test_object_physical_name_is_still_the_pulled_table(tmp_path: Path) -> None:
    change = the(
        changes_after(tmp_path, lambda d: obj(d, "sales").__setitem__("physicalName", "verkauf")),
        "delivery_changed",
    )
    assert (change.severity, change.field, change.property) == (B, "physicalName", None)


def test_every_row_is_reported_by_a_walker() -> None:
    """No dead rows: each key is named by a walker, literally or by an f-string's shape."""
    import ast

    walkers = Path(__file__).resolve().parents[2] / "checks" / "diff"
    literals: set[str] = set()
    shapes: list[re.Pattern[str]] = []
    for path in walkers.glob("*.py"):
        if path.name == "catalogue.py":
            continue
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                literals.add(node.value)
            elif isinstance(node, ast.JoinedStr):
                fixed = [v.value for v in node.values if isinstance(v, ast.Constant)]
                if sum(map(len, fixed)) >= 4:  # a shape like f"{a}_{b}" would match anything
                    parts = [
                        re.escape(v.value) if isinstance(v, ast.Constant) else r"\w+" for v in node.values
                    ]
                    shapes.append(re.compile("".join(parts)))
    directions = ("narrowed", "widened", "tightened", "loosened", "changed")
    literals |= {f"{prefix}_{d}" for prefix, _ in VALUE_SETS.values() for d in directions}
    unused = [key for key in CATALOGUE if key not in literals and not any(s.fullmatch(key) for s in shapes)]
    assert unused == []
