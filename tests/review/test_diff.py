"""`checks.diff`: every kind of contract change is classified from both sides (ADR 0012)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from checks.contract import Contract, load_contract
from checks.diff import Change, Severity, accepted_values, compare_thresholds, diff_contracts
from tests.review.contract_edits import (
    ALP_DE,
    CANONICAL,
    Edit,
    edited_text,
    obj,
    prop,
    remove,
    rule,
    set_custom,
    set_threshold,
)

B, R, S = Severity.BREAKING, Severity.RISKY, Severity.SAFE
PRODUCER, CONSUMER, BOTH, NOBODY = ["producer"], ["consumer"], ["producer", "consumer"], []


@cache
def _loaded(path: Path) -> Contract:
    return load_contract(path)


def changes_after(tmp_path: Path, edit: Edit, source: Path = ALP_DE) -> list[Change]:
    head = tmp_path / source.name
    head.write_text(edited_text(source, edit), "utf-8")
    return diff_contracts(
        _loaded(source), load_contract(head), path=source.name, canonical=_loaded(CANONICAL)
    )


def the(changes: list[Change], kind: str) -> Change:
    matches = [c for c in changes if c.change == kind]
    assert len(matches) == 1, f"expected one {kind}, got {[(c.change, c.field) for c in changes]}"
    return matches[0]


def _add_property(doc: dict, object_name: str, definition: dict) -> None:
    obj(doc, object_name)["properties"].append(definition)


def _add_rule(doc: dict, object_name: str, prop_name: str, on_violation: str) -> None:
    quality = {
        "id": "alp_products_marke_known",
        "metric": "invalidValues",
        "arguments": {"validValues": ["Milka", "Haribo"]},
        "mustBe": 0,
        "customProperties": [{"property": "onViolation", "value": on_violation}],
    }
    prop(doc, object_name, prop_name).setdefault("quality", []).append(quality)


def _primary_key_with(doc: dict) -> None:
    marke = prop(doc, "products", "Marke")
    marke["primaryKey"] = True
    marke["primaryKeyPosition"] = 2


def _enforced_regions(values: list[str]) -> Edit:
    def edit(doc: dict) -> None:
        quality = rule(doc, "alp_stores_bundesland_known")
        quality["arguments"]["validValues"] = values
        set_custom(quality, "onViolation", "quarantine")

    return edit


REGIONS = ["BW", "BY", "BE", "BB", "HB", "HH", "HE", "MV", "NI", "NW", "RP", "SL", "SN", "ST", "SH", "TH"]

CASES: list[tuple[str, Edit, str, Severity, list[str], str | None, str | None]] = [
    (
        "property removed",
        lambda d: remove(obj(d, "products")["properties"], prop(d, "products", "Warengruppe")),
        "property_removed",
        B,
        CONSUMER,
        "products",
        "Warengruppe",
    ),
    (
        "property renamed",
        lambda d: prop(d, "products", "Marke").__setitem__("name", "Hersteller"),
        "property_renamed",
        B,
        BOTH,
        "products",
        "Hersteller",
    ),
    (
        "property added",
        lambda d: _add_property(d, "products", {"name": "Aktion", "logicalType": "boolean"}),
        "property_added",
        B,
        PRODUCER,
        "products",
        "Aktion",
    ),
    (
        "object renamed",
        lambda d: obj(d, "stores").__setitem__("name", "filialen"),
        "object_renamed",
        B,
        CONSUMER,
        "filialen",
        None,
    ),
    (
        "object removed",
        lambda d: remove(d["schema"], obj(d, "stores")),
        "object_removed",
        B,
        CONSUMER,
        "stores",
        None,
    ),
    (
        "object added",
        lambda d: d["schema"].append(
            {"name": "aktionen", "properties": [{"name": "Aktion", "logicalType": "string"}]}
        ),
        "object_added",
        S,
        NOBODY,
        "aktionen",
        None,
    ),
    (
        "type narrowed",
        lambda d: prop(d, "sales", "Umsatz").__setitem__("logicalType", "integer"),
        "type_narrowed",
        B,
        PRODUCER,
        "sales",
        "Umsatz",
    ),
    (
        "type widened within the canonical type",
        lambda d: prop(d, "sales", "Menge").__setitem__("logicalType", "number"),
        "type_widened",
        R,
        CONSUMER,
        "sales",
        "Menge",
    ),
    (
        "type widened beyond the canonical type",
        lambda d: prop(d, "sales", "Menge").__setitem__("logicalType", "string"),
        "type_widened",
        B,
        CONSUMER,
        "sales",
        "Menge",
    ),
    (
        "type changed",
        lambda d: prop(d, "sales", "Datum").__setitem__("logicalType", "boolean"),
        "type_changed",
        B,
        BOTH,
        "sales",
        "Datum",
    ),
    (
        "date format changed",
        lambda d: prop(d, "sales", "Datum")["logicalTypeOptions"].__setitem__("format", "yyyy-MM-dd"),
        "type_format_changed",
        B,
        PRODUCER,
        "sales",
        "Datum",
    ),
    (
        "required added",
        lambda d: prop(d, "products", "Marke").__setitem__("required", True),
        "required_added",
        B,
        PRODUCER,
        "products",
        "Marke",
    ),
    (
        "required removed",
        lambda d: prop(d, "products", "Bezeichnung").__delitem__("required"),
        "required_removed",
        B,
        CONSUMER,
        "products",
        "Bezeichnung",
    ),
    (
        "required dropped on a key column",
        lambda d: prop(d, "products", "EAN").__delitem__("required"),
        "required_changed",
        S,
        NOBODY,
        "products",
        "EAN",
    ),
    (
        "unique added",
        lambda d: prop(d, "stores", "GLN").__setitem__("unique", True),
        "unique_changed",
        B,
        PRODUCER,
        "stores",
        "GLN",
    ),
    (
        "unique removed",
        lambda d: prop(d, "stores", "Filiale").__delitem__("unique"),
        "unique_changed",
        B,
        CONSUMER,
        "stores",
        "Filiale",
    ),
    (
        "primary key removed",
        lambda d: prop(d, "products", "EAN").__delitem__("primaryKey"),
        "primary_key_changed",
        B,
        CONSUMER,
        "products",
        None,
    ),
    ("primary key changed", _primary_key_with, "primary_key_changed", B, BOTH, "products", None),
    (
        "valid values narrowed on a warn rule",
        lambda d: rule(d, "alp_stores_bundesland_known")["arguments"].__setitem__(
            "validValues", REGIONS[:-1]
        ),
        "valid_values_narrowed",
        S,
        NOBODY,
        "stores",
        "Bundesland",
    ),
    (
        "valid values narrowed",
        _enforced_regions(REGIONS[:-1]),
        "valid_values_narrowed",
        R,
        PRODUCER,
        "stores",
        "Bundesland",
    ),
    (
        "valid values widened",
        _enforced_regions([*REGIONS, "XX"]),
        "valid_values_widened",
        R,
        CONSUMER,
        "stores",
        "Bundesland",
    ),
    (
        "pattern narrowed",
        lambda d: rule(d, "alp_sales_ean_format")["arguments"].__setitem__("pattern", "[0-9]{13}"),
        "pattern_narrowed",
        R,
        PRODUCER,
        "sales",
        "EAN",
    ),
    (
        "pattern widened",
        lambda d: rule(d, "alp_sales_ean_format")["arguments"].__setitem__(
            "pattern", "[0-9]{8}|[0-9]{12}|[0-9]{13}"
        ),
        "pattern_widened",
        R,
        CONSUMER,
        "sales",
        "EAN",
    ),
    (
        "pattern changed",
        lambda d: rule(d, "alp_stores_gln_format")["arguments"].__setitem__("pattern", "[0-9]{12,13}"),
        "pattern_changed",
        R,
        BOTH,
        "stores",
        "GLN",
    ),
    (
        "threshold tightened",
        lambda d: set_threshold(rule(d, "alp_sales_ean_format"), "mustBeLessThan", 1),
        "threshold_tightened",
        R,
        PRODUCER,
        "sales",
        "EAN",
    ),
    (
        "threshold loosened",
        lambda d: set_threshold(rule(d, "alp_sales_ean_format"), "mustBeLessThan", 5),
        "threshold_loosened",
        R,
        CONSUMER,
        "sales",
        "EAN",
    ),
    (
        "lower bound raised",
        lambda d: set_threshold(rule(d, "alp_sales_not_empty"), "mustBeGreaterThan", 100),
        "threshold_tightened",
        R,
        PRODUCER,
        "sales",
        None,
    ),
    (
        "operator changed, same meaning",
        lambda d: set_threshold(rule(d, "alp_products_ean_format"), "mustBeLessThan", 1),
        "documentation_changed",
        S,
        NOBODY,
        "products",
        "EAN",
    ),
    (
        "threshold unit changed",
        lambda d: rule(d, "alp_sales_menge_not_negative").__delitem__("unit"),
        "threshold_unit_changed",
        R,
        BOTH,
        "sales",
        "Menge",
    ),
    (
        "onViolation warn to block",
        lambda d: set_custom(rule(d, "alp_sales_bestand_reported"), "onViolation", "block"),
        "on_violation_stricter",
        R,
        PRODUCER,
        "sales",
        "Bestand",
    ),
    (
        "onViolation quarantine to warn",
        lambda d: set_custom(rule(d, "alp_products_ean_format"), "onViolation", "warn"),
        "on_violation_relaxed",
        R,
        CONSUMER,
        "products",
        "EAN",
    ),
    (
        "blocking rule added",
        lambda d: _add_rule(d, "products", "Marke", "block"),
        "rule_added",
        R,
        PRODUCER,
        "products",
        "Marke",
    ),
    (
        "warn rule added",
        lambda d: _add_rule(d, "products", "Marke", "warn"),
        "rule_added",
        S,
        NOBODY,
        "products",
        "Marke",
    ),
    (
        "rule removed",
        lambda d: prop(d, "stores", "GLN").__delitem__("quality"),
        "rule_removed",
        R,
        CONSUMER,
        "stores",
        "GLN",
    ),
    (
        "SLA tightened",
        lambda d: d["slaProperties"][0].update({"value": 12, "unit": "h"}),
        "sla_tightened",
        R,
        PRODUCER,
        None,
        None,
    ),
    (
        "SLA loosened",
        lambda d: d["slaProperties"][0].__setitem__("value", 2),
        "sla_loosened",
        R,
        CONSUMER,
        None,
        None,
    ),
    (
        "SLA deadline later",
        lambda d: d["slaProperties"][0].__setitem__("schedule", "0 9 * * *"),
        "sla_loosened",
        R,
        CONSUMER,
        None,
        None,
    ),
    (
        "mapping lost",
        lambda d: set_custom(prop(d, "products", "Warengruppe"), "canonical", None),
        "mapping_changed",
        B,
        CONSUMER,
        "products",
        "Warengruppe",
    ),
    (
        "mapping gained",
        lambda d: set_custom(
            prop(d, "stores", "Filialname"), "canonical", ["site_dim.name", "site_dim.store_format"]
        ),
        "mapping_changed",
        R,
        CONSUMER,
        "stores",
        "Filialname",
    ),
    (
        "transform added",
        lambda d: set_custom(prop(d, "sales", "Umsatz"), "transform", "cents_to_units"),
        "mapping_changed",
        B,
        CONSUMER,
        "sales",
        "Umsatz",
    ),
    (
        "secure group key changed",
        lambda d: set_custom(d, "secureGroupKey", "SG_ALP_AT"),
        "access_changed",
        B,
        CONSUMER,
        None,
        None,
    ),
    (
        "role added",
        lambda d: d["roles"].append({"role": "pos_analysts_apac", "access": "read"}),
        "access_changed",
        B,
        CONSUMER,
        None,
        None,
    ),
    (
        "delimiter changed",
        lambda d: set_custom(d["servers"][0], "delimiter", ","),
        "format_changed",
        B,
        PRODUCER,
        None,
        None,
    ),
    (
        "file format changed",
        lambda d: d["servers"][0].__setitem__("format", "parquet"),
        "delivery_changed",
        B,
        PRODUCER,
        None,
        None,
    ),
    (
        "file pattern changed",
        lambda d: set_custom(obj(d, "sales"), "filePattern", "sales_*.csv"),
        "delivery_changed",
        B,
        PRODUCER,
        "sales",
        None,
    ),
    (
        "status no longer active",
        lambda d: d.__setitem__("status", "draft"),
        "status_changed",
        B,
        CONSUMER,
        None,
        None,
    ),
    (
        "owners changed",
        lambda d: d["team"]["members"][0].__setitem__("username", "emea@shelfguard.example"),
        "owners_changed",
        S,
        NOBODY,
        None,
        None,
    ),
]


@pytest.mark.parametrize(
    ("edit", "kind", "severity", "breaks_for", "object_name", "property_name"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_change_is_classified(
    tmp_path: Path,
    edit: Edit,
    kind: str,
    severity: Severity,
    breaks_for: list[str],
    object_name: str | None,
    property_name: str | None,
) -> None:
    change = the(changes_after(tmp_path, edit), kind)
    assert (change.severity, change.breaks_for) == (severity, breaks_for), change.reason
    assert (change.object, change.property) == (object_name, property_name)
    assert change.contract == "urn:shelfguard:retailer:alp_de" and change.reason


def test_unchanged_contract_has_no_changes(tmp_path: Path) -> None:
    assert changes_after(tmp_path, lambda d: None) == []


def test_encoding_alias_is_no_change(tmp_path: Path) -> None:
    """latin-1 and ISO-8859-1 are one codec: the reader sees no difference, so neither does the review."""
    assert changes_after(tmp_path, lambda d: set_custom(d["servers"][0], "encoding", "ISO-8859-1")) == []


def test_rename_keeps_rules_paired(tmp_path: Path) -> None:
    """A renamed column is one change, not a removal plus an addition of the column and its rules."""

    def edit(doc: dict) -> None:
        prop(doc, "sales", "EAN")["name"] = "GTIN"
        rule(doc, "alp_sales_duplicate_lines")["arguments"]["properties"] = ["Datum", "Filiale", "GTIN"]

    changes = changes_after(tmp_path, edit)
    assert [c.change for c in changes if c.severity != S] == ["property_renamed", "version_not_bumped"]
    renamed = the(changes, "property_renamed")
    assert (renamed.before, renamed.after) == ("EAN", "GTIN")


def test_rule_change_names_the_rule_and_values(tmp_path: Path) -> None:
    change = the(
        changes_after(
            tmp_path, lambda d: set_threshold(rule(d, "alp_sales_ean_format"), "mustBeLessThan", 1)
        ),
        "threshold_tightened",
    )
    assert change.rules == ["alp_sales_ean_format"]
    assert change.field == "quality[alp_sales_ean_format].threshold"
    assert (change.before, change.after) == ("mustBeLessThan 2 %", "mustBeLessThan 1 %")


def test_unit_change_says_where_the_limits_cross(tmp_path: Path) -> None:
    change = the(
        changes_after(tmp_path, lambda d: rule(d, "alp_sales_menge_not_negative").__delitem__("unit")),
        "threshold_unit_changed",
    )
    assert "stricter than before for batches over 100 rows" in change.reason


def test_deadline_shift_is_measured(tmp_path: Path) -> None:
    change = the(
        changes_after(tmp_path, lambda d: d["slaProperties"][0].__setitem__("schedule", "0 5 * * *")),
        "sla_tightened",
    )
    assert "2h earlier" in change.reason


def test_version_must_be_bumped(tmp_path: Path) -> None:
    changes = changes_after(
        tmp_path, lambda d: d["description"].__setitem__("purpose", "Alpenmarkt sell-out.")
    )
    assert [(c.change, c.severity) for c in changes] == [
        ("documentation_changed", S),
        ("version_not_bumped", R),
    ]


def test_documentation_with_version_bump_is_safe(tmp_path: Path) -> None:
    def edit(doc: dict) -> None:
        doc["description"]["purpose"] = "Alpenmarkt sell-out."
        doc["version"] = "1.0.1"

    assert {c.severity for c in changes_after(tmp_path, edit)} == {S}


def test_breaking_change_needs_a_major_version(tmp_path: Path) -> None:
    def edit(doc: dict) -> None:
        prop(doc, "products", "Marke")["required"] = True
        doc["version"] = "1.1.0"

    assert the(changes_after(tmp_path, edit), "major_version_not_bumped").severity == R


def test_added_and_removed_contracts() -> None:
    contract = _loaded(ALP_DE)
    (added,) = diff_contracts(None, contract, path="x")
    (removed,) = diff_contracts(contract, None, path="x")
    assert (added.change, added.severity) == ("contract_added", S)
    assert (removed.change, removed.severity, removed.breaks_for) == ("contract_removed", B, CONSUMER)


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (lambda d: set_custom(d, "maskingHorizonDays", 30), "customProperties.maskingHorizonDays"),
        (
            lambda d: set_custom(prop(d, "daily_store_fact", "net_sales"), "antitrustMasked", False),
            "customProperties.antitrustMasked",
        ),
        (
            lambda d: d["roles"][1]["customProperties"][0]["value"].append("SG_NWG_US"),
            "roles[pos_analysts_emea]",
        ),
    ],
    ids=["masking horizon", "measure unmasked", "group granted another retailer"],
)
def test_canonical_access_changes_are_breaking(tmp_path: Path, edit: Edit, field: str) -> None:
    change = the(changes_after(tmp_path, edit, CANONICAL), "access_changed")
    assert (change.severity, change.field) == (B, field)


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        ({"mustBeLessThan": 5}, {"mustBeLessThan": 3}, "tightened"),
        ({"mustBeLessThan": 5}, {"mustBeLessOrEqualTo": 5}, "loosened"),
        ({"mustBeGreaterThan": 0}, {"mustBeGreaterThan": 1}, "tightened"),
        ({"mustBeGreaterOrEqualTo": 10}, {"mustBeGreaterThan": 5}, "loosened"),
        ({"mustBeBetween": [0, 10]}, {"mustBeBetween": [2, 8]}, "tightened"),
        ({"mustBeBetween": [0, 10]}, {"mustBeBetween": [5, 20]}, "changed"),
        ({"mustNotBeBetween": [3, 5]}, {"mustNotBeBetween": [2, 6]}, "tightened"),
        ({"mustBe": 0}, {"mustBeLessThan": 1}, "same"),
        ({"mustNotBe": 0}, {"mustBeGreaterThan": 0}, "same"),
        ({"mustBe": 0}, {"mustBeLessOrEqualTo": 2}, "loosened"),
        ({"mustBe": 3}, {"mustNotBe": 3}, "changed"),
    ],
)
def test_threshold_direction_for_every_operator(before: dict, after: dict, expected: str) -> None:
    assert compare_thresholds(before, after, counts=True, integers=True) == expected


def test_percent_thresholds_are_not_whole_numbers() -> None:
    """`mustBeLessThan: 1` percent accepts 0.5 %; `mustBe: 0` does not."""
    assert compare_thresholds({"mustBeLessThan": 1}, {"mustBe": 0}, counts=True) == "tightened"
    assert accepted_values({"mustBeLessThan": 1}, counts=True, integers=True) == [(0, True, 0, True)]
