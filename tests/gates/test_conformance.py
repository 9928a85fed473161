"""Conformance: every engine gives the numbers gate-semantics.md gives, computed here by hand.

Each case is a contract snippet, a tiny batch and the expected numbers, counted by hand from the
semantics page (the comment next to a number says how). Every case runs on pandera, Soda and Great
Expectations; an engine whose module does not exist yet is skipped with that reason.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from checks.engines.base import ROW_NUMBER
from checks.gate import BLOCKED, BLOCKED_BY, QUARANTINE_REASONS, run_gate
from tests.gates.helpers import OBJECT, as_polars, contract, engine_params, on_violation, prop, rule

TS = {"logicalTypeOptions": {"format": "yyyy-MM-dd HH:mm:ss"}}


def opts(**options: Any) -> dict[str, Any]:
    return {"logicalTypeOptions": options}

WARN = on_violation("warn")


@dataclass
class Case:
    id: str
    properties: list[dict[str, Any]]
    rows: dict[str, list[Any]]
    expect: dict[str, tuple[float | None, int | None]]
    """rule id -> (value in the rule's unit, violating rows); value None = not_evaluated, violating
    None = not compared (custom rules may or may not name their rows)."""
    verdict: str
    quality: list[dict[str, Any]] = field(default_factory=list)
    quarantined: dict[int, list[str]] | None = None
    """row number -> reasons, when the case checks the quarantine exactly."""
    passed: dict[str, bool | None] = field(default_factory=dict)
    """rule id -> `passed` (false for a rule that cannot be evaluated and fails closed)."""
    messages: dict[str, str] = field(default_factory=dict)
    """rule id -> text its message must contain."""
    schema: dict[str, pl.DataType] | None = None
    references: dict[str, dict[str, list[Any]]] | None = None
    server_hints: dict[str, Any] | None = None
    object_name: str = OBJECT
    relationships: list[dict[str, Any]] = field(default_factory=list)
    """The object's table-level relationships (`from`/`to`)."""


CASES = [
    # -- rowCount, units, empty batches ------------------------------------------------------------
    Case("row_count", [prop("a")], {"a": ["x", "y", "z"]},
         {"n": (3, 0)}, "pass", quality=[rule("n", "rowCount", mustBeGreaterThan=2)]),
    Case("row_count_blocks", [prop("a")], {"a": ["x", "y", "z"]},
         {"n": (3, 0)}, "block", quality=[rule("n", "rowCount", mustBeGreaterThan=3)],
         quarantined={0: [BLOCKED], 1: [BLOCKED], 2: [BLOCKED]}),
    Case("blocked_rows_keep_their_own_rules", [
        prop("a", quality=[rule("a_nulls", "nullValues", mustBe=0)]),
        prop("b", quality=[rule("b_nulls", "nullValues", "warn", mustBe=0)])],
         {"a": ["x", None, "y"], "b": [None, None, "z"]}, {"a_nulls": (1, 1), "b_nulls": (2, 2)}, "block",
         quarantined={0: [BLOCKED], 1: [BLOCKED, "a_nulls"], 2: [BLOCKED]}),
    Case("empty_batch_blocks_on_row_count",
         [prop("a", quality=[rule("a_nulls", "nullValues", unit="percent", mustBe=0)])], {"a": []},
         {"n": (0, 0), "a_nulls": (0, 0)}, "block", schema={"a": pl.String},
         quality=[rule("n", "rowCount", mustBeGreaterThan=0)], quarantined={}),
    Case("percent_of_zero_rows_is_zero", [prop("a", quality=[rule("a_nulls", "nullValues", unit="percent",
                                                                  mustBeLessThan=1)])],
         {"a": []}, {"a_nulls": (0, 0)}, "pass", schema={"a": pl.String}),
    # -- nullValues and the exact threshold boundary ----------------------------------------------
    Case("null_values_rows", [prop("a", quality=[rule("a_nulls", "nullValues", mustBeLessThan=2)])],
         {"a": ["x", None, None, "y"]}, {"a_nulls": (2, 2)}, "block"),          # rows 1 and 2
    Case("boundary_inclusive_passes", [prop("a", quality=[rule("a_nulls", "nullValues", unit="percent",
                                                               mustBeLessOrEqualTo=50)])],
         {"a": ["x", None, None, "y"]}, {"a_nulls": (50.0, 2)}, "pass"),        # 2 * 100 / 4 = 50
    Case("boundary_exclusive_fails", [prop("a", quality=[rule("a_nulls", "nullValues", unit="percent",
                                                              mustBeLessThan=50)])],
         {"a": ["x", None, None, "y"]}, {"a_nulls": (50.0, 2)}, "block"),
    # -- missingValues ----------------------------------------------------------------------------
    Case("missing_values_default_list", [prop("a", quality=[rule("a_missing", "missingValues", "warn",
                                                                 mustBe=0)])],
         {"a": ["x", "", None, " ", "N/A"]}, {"a_missing": (2, 2)}, "warn"),    # "" and null; " " is a value
    Case("missing_values_custom_list", [prop("a", quality=[rule(
        "a_missing", "missingValues", "warn", arguments={"missingValues": ["N/A", "-"]}, mustBe=0)])],
         {"a": ["N/A", "-", None, "x", ""]}, {"a_missing": (3, 3)}, "warn"),   # N/A, -, and null always
    # -- invalidValues: validValues, pattern, both; nulls never invalid --------------------------
    Case("valid_values", [prop("a", quality=[rule("a_valid", "invalidValues", "warn",
                                                  arguments={"validValues": ["A", "B"]}, mustBe=0)])],
         {"a": ["A", "B", "c", None, "D"]}, {"a_valid": (2, 2)}, "warn"),       # c, D; null is not invalid
    Case("valid_values_compared_as_text", [prop("a", quality=[rule(
        "a_valid", "invalidValues", "warn", arguments={"validValues": [1, 2, True]}, mustBe=0)])],
         {"a": ["1", "4", "2", "true", "True"]}, {"a_valid": (2, 2)}, "warn"),  # 4 and True
    Case("pattern_is_a_full_match", [prop("a", quality=[rule("a_pattern", "invalidValues", "warn",
                                                             arguments={"pattern": "[0-9]{3}"}, mustBe=0)])],
         # 1234, 12a and x123 do not match as a whole
         {"a": ["123", "1234", "12a", None, "012", "x123"]}, {"a_pattern": (3, 3)}, "warn"),
    Case("pattern_alternation_anchored_as_a_whole", [prop("a", quality=[rule(
        "a_pattern", "invalidValues", "warn", arguments={"pattern": "[0-9]{8}|[0-9]{13}"}, mustBe=0)])],
         {"a": ["12345678", "1234567890123", "123456789", "12345678x"]}, {"a_pattern": (2, 2)}, "warn"),
    Case("valid_values_and_pattern", [prop("a", quality=[rule(
        "a_both", "invalidValues", "warn",
        arguments={"validValues": ["AB", "CD", "XYZ"], "pattern": "[A-Z]{2}"}, mustBe=0)])],
         # XYZ fails the pattern, EF the values
         {"a": ["AB", "XYZ", "EF", None, "CD"]}, {"a_both": (2, 2)}, "warn"),
    # -- all eight operators, on a value of 3 -----------------------------------------------------
    Case("all_eight_operators", [prop("a", quality=[
        rule(f"op_{name}_{'ok' if ok else 'no'}", "nullValues", "warn", **{name: threshold})
        for name, threshold, ok in [
            ("mustBe", 3, True), ("mustBe", 2, False), ("mustNotBe", 2, True), ("mustNotBe", 3, False),
            ("mustBeGreaterThan", 2, True), ("mustBeGreaterThan", 3, False),
            ("mustBeGreaterOrEqualTo", 3, True), ("mustBeGreaterOrEqualTo", 4, False),
            ("mustBeLessThan", 4, True), ("mustBeLessThan", 3, False),
            ("mustBeLessOrEqualTo", 3, True), ("mustBeLessOrEqualTo", 2, False),
            ("mustBeBetween", [3, 5], True), ("mustBeBetween", [4, 5], False),
            ("mustNotBeBetween", [4, 5], True), ("mustNotBeBetween", [1, 3], False),
        ]])],
         {"a": [None, "x", None, None, "y"]}, {}, "warn",
         passed={f"op_{name}_{suffix}": suffix == "ok" for name in (
             "mustBe", "mustNotBe", "mustBeGreaterThan", "mustBeGreaterOrEqualTo", "mustBeLessThan",
             "mustBeLessOrEqualTo", "mustBeBetween", "mustNotBeBetween") for suffix in ("ok", "no")}),
    Case("between_includes_both_bounds", [prop("a", quality=[
        rule("in_upper", "nullValues", "warn", mustBeBetween=[0, 2]),                # 2 ∈ [0, 2]: passes
        rule("not_in_upper", "nullValues", "warn", mustNotBeBetween=[1, 2])])],      # 2 ∈ [1, 2]: fails
         {"a": [None, "x", None]}, {"in_upper": (2, 2), "not_in_upper": (2, 2)}, "warn",
         passed={"in_upper": True, "not_in_upper": False}),
    # -- duplicates -------------------------------------------------------------------------------
    Case("duplicates_nulls_equal_first_kept", [prop("a")], {"a": ["x", "y", "x", None, None, "x"]},
         {"a_dups": (50.0, 3)}, "quarantine",  # 6 rows - 3 distinct (x, y, null) = 3, 50 %
         quality=[rule("a_dups", "duplicateValues", "quarantine", arguments={"properties": ["a"]},
                       unit="percent", mustBeLessThan=60)],
         quarantined={2: ["a_dups"], 4: ["a_dups"], 5: ["a_dups"]}),
    Case("duplicates_over_several_columns_nulls_equal", [prop("a"), prop("b")],
         {"a": ["1", "1", "1", None, "1", None, "2"], "b": ["x", None, "x", None, None, None, "x"]},
         {"ab_dups": (3, 3)}, "quarantine",                                     # 7 rows - 4 distinct pairs
         quality=[rule("ab_dups", "duplicateValues", "quarantine", arguments={"properties": ["a", "b"]},
                       mustBeLessOrEqualTo=3)],
         quarantined={2: ["ab_dups"], 4: ["ab_dups"], 5: ["ab_dups"]}),
    Case("duplicates_keep_latest_updated_at",
         [prop("a"), prop("updated_at", "timestamp", **TS, **on_violation("warn"))],
         {"a": ["k1", "k1", "k1", "k2", "k2", "k3", "k3", "k4", "k4"],
          # k1: row 1 is the latest; k2: null is the oldest; k3: a tie, the first delivered is kept;
          # k4: uncastable text is the oldest. 9 rows - 4 distinct keys = 5: rows 0, 2, 3, 6, 7
          "updated_at": ["2024-01-01 10:00:00", "2024-01-02 10:00:00", "2024-01-01 12:00:00",
                         None, "2024-01-01 00:00:00",
                         "2024-01-05 00:00:00", "2024-01-05 00:00:00",
                         "garbage", "2023-12-31 23:59:59"]},
         {"a_dups": (5, 5), "updated_at_type": (1, 1)}, "quarantine",
         quality=[rule("a_dups", "duplicateValues", "quarantine", arguments={"properties": ["a"]},
                       mustBeLessOrEqualTo=5)],
         quarantined={0: ["a_dups"], 2: ["a_dups"], 3: ["a_dups"], 6: ["a_dups"], 7: ["a_dups"]}),
    Case("duplicates_keep_latest_by_canonical_updated_at",
         [prop("a"), prop("last_modified", "timestamp", **TS, customProperties=[
             {"property": "canonical", "value": ["daily_store_fact.updated_at"]}])],
         {"a": ["k1", "k1"], "last_modified": ["2024-01-02 00:00:00", "2024-01-03 00:00:00"]},
         {"a_dups": (1, 1)}, "quarantine",
         quality=[rule("a_dups", "duplicateValues", "quarantine", arguments={"properties": ["a"]},
                       mustBeLessOrEqualTo=1)],
         quarantined={0: ["a_dups"]}),
    Case("duplicates_first_in_delivery_order_without_updated_at", [prop("a"), prop("b")],
         {"a": ["k1", "k1", "k1"], "b": ["2024-01-03", "2024-01-02", "2024-01-01"]},
         {"a_dups": (2, 2)}, "quarantine",
         quality=[rule("a_dups", "duplicateValues", "quarantine", arguments={"properties": ["a"]},
                       mustBeLessOrEqualTo=2)],
         quarantined={1: ["a_dups"], 2: ["a_dups"]}),
    Case("unique_with_quarantine_never_blocks", [prop("id", unique=True, **on_violation("quarantine"))],
         {"id": ["1", "2", "1", "1"]}, {"id_duplicateValues": (50.0, 2)}, "quarantine",
         quarantined={2: ["id_duplicateValues"], 3: ["id_duplicateValues"]}),
    Case("nulls_in_primary_key", [prop("id", primaryKey=True, primaryKeyPosition=1)],
         {"id": ["1", None, None, "2", "1"]},
         # 5 rows - 3 distinct keys (1, null, 2) = 2: rows 2 and 4
         {"id_nullValues": (2, 2), f"{OBJECT}_primary_key": (2, 2)}, "block"),
    Case("composite_primary_key", [prop("k1", primaryKey=True, primaryKeyPosition=1),
                                   prop("k2", primaryKey=True, primaryKeyPosition=2)],
         {"k1": ["a", "a", "b"], "k2": ["1", "2", "1"]}, {f"{OBJECT}_primary_key": (0, 0)}, "pass"),
    # -- actions and the verdict ------------------------------------------------------------------
    Case("row_failing_two_rules_quarantined_once", [
        prop("a", quality=[rule("a_format", "invalidValues", "quarantine", arguments={"pattern": "[0-9]+"},
                                mustBeLessOrEqualTo=100, unit="percent")]),
        prop("b", quality=[rule("b_known", "invalidValues", "quarantine", arguments={"validValues": ["x"]},
                                mustBeLessOrEqualTo=100, unit="percent")])],
         {"a": ["1", "no", "no", "4"], "b": ["x", "y", "x", "x"]},
         {"a_format": (50.0, 2), "b_known": (25.0, 1)}, "quarantine",
         quarantined={1: ["a_format", "b_known"], 2: ["a_format"]}),
    Case("quarantine_over_threshold_blocks", [prop("a", quality=[rule(
        "a_format", "invalidValues", "quarantine", arguments={"pattern": "[0-9]+"}, unit="percent",
        mustBeLessThan=20)])],
         {"a": ["1", "x", "3", "4"]}, {"a_format": (25.0, 1)}, "block",
         quarantined={0: [BLOCKED], 1: [BLOCKED, "a_format"], 2: [BLOCKED], 3: [BLOCKED]}),
    Case("warn_never_blocks", [prop("a", quality=[rule("a_nulls", "nullValues", "warn", mustBe=0)])],
         {"a": [None, None, None]}, {"a_nulls": (3, 3)}, "warn", quarantined={}),
    Case("severity_warning_means_warn", [prop("a", quality=[
        {"id": "a_nulls", "metric": "nullValues", "mustBe": 0, "severity": "warning"}])],
         {"a": [None, "x"]}, {"a_nulls": (1, 1)}, "warn", quarantined={}),
    Case("text_rules_are_not_evaluated", [prop("a")], {"a": ["x"]}, {"a_doc": (None, 0)}, "pass",
         quality=[{"id": "a_doc", "type": "text", "description": "Values are what the retailer sends."}]),
    Case("extra_columns_warn_with_their_number", [prop("a")], {"a": ["x"], "b": ["y"], "c": ["z"]},
         {f"{OBJECT}_extra_columns": (2, 0)}, "warn", messages={f"{OBJECT}_extra_columns": "b, c"}),
    Case("missing_column_blocks_naming_it", [prop("a"), prop("b", quality=[rule("b_nulls", "nullValues",
                                                                               mustBe=0)])],
         {"a": ["x", "y"]}, {f"{OBJECT}_columns_present": (1, 0), "b_nulls": (None, 0)}, "block",
         messages={f"{OBJECT}_columns_present": "b", "b_nulls": "missing"},
         quarantined={0: [BLOCKED], 1: [BLOCKED]}),
    # -- castability ------------------------------------------------------------------------------
    Case("integer_text", [prop("a", "integer", **on_violation("warn"))],
         {"a": ["1", "-2", "+3", "1.0", " 4", "x", None, "\u0663"]}, {"a_type": (4, 4)}, "warn"),
    Case("integer_native", [prop("i", "integer", **WARN), prop("f", "integer", **WARN)],
         {"i": [1, None, 3, 4], "f": [1.0, 1.5, None, float("inf")]},
         {"i_type": (0, 0), "f_type": (2, 2)}, "warn"),  # 1.5 and inf are not integral
    Case("number_with_decimal_comma", [prop("a", "number", **on_violation("warn"))],
         {"a": ["1,5", "2", "-3,25", "1.5", "1,", "1e3", ",5", "1.000,5"]}, {"a_type": (3, 3)}, "warn",
         server_hints={"decimalSeparator": ","}),                               # 1.5, "1,", 1.000,5
    Case("number_with_decimal_point", [prop("a", "number", **on_violation("warn"))],
         {"a": ["1.5", "1,5", "NaN", "inf", "12", "-0.5E-3"]}, {"a_type": (3, 3)}, "warn"),
    Case("date_with_format", [prop("a", "date", logicalTypeOptions={"format": "dd.MM.yyyy"},
                                   **on_violation("warn"))],
         {"a": ["31.01.2024", "29.02.2024", "29.02.2023", "1.2.2024", "32.01.2024", "2024-01-31",
                " 31.01.2024", None]},
         {"a_type": (5, 5)}, "warn"),
    Case("date_default_iso", [prop("a", "date", **on_violation("warn"))],
         {"a": ["2024-01-31", "2024-02-30", "20240131", "0000-01-01", "2024-1-31"]},
         {"a_type": (4, 4)}, "warn"),
    Case("date_compact_format", [prop("a", "date", logicalTypeOptions={"format": "yyyyMMdd"},
                                      **on_violation("warn"))],
         {"a": ["20240131", "2024013", "202401311", "20241301"]}, {"a_type": (3, 3)}, "warn"),
    Case("timestamp_with_format", [prop("a", "timestamp", **WARN,
                                        logicalTypeOptions={"format": "dd.MM.yyyy HH:mm:ss"})],
         {"a": ["31.01.2024 23:59:59", "31.01.2024 24:00:00", "31.01.2024 10:00", "31.01.2024 23:59:60"]},
         {"a_type": (3, 3)}, "warn"),
    Case("timestamp_default_iso", [prop("a", "timestamp", **on_violation("warn"))],
         {"a": ["2024-01-31T10:00:00", "2024-01-31 10:00:00", "2024-01-31T10:00:00.123456",
                "2024-01-31T10:00:00Z", "2024-02-30T10:00:00", "2024-01-31"]}, {"a_type": (3, 3)}, "warn"),
    Case("boolean_text", [prop("a", "boolean", **on_violation("warn"))],
         {"a": ["true", "FALSE", "1", "0", "yes", "t", None, "True"]}, {"a_type": (2, 2)}, "warn"),
    Case("boolean_native", [prop("b", "boolean", **WARN), prop("i", "boolean", **WARN)],
         {"b": [True, False, None], "i": [0, 1, 2]}, {"b_type": (0, 0), "i_type": (1, 1)}, "warn"),
    Case("nulls_are_never_type_violations", [prop("a", "integer"), prop("d", "date")],
         {"a": [None, None], "d": [None, None]}, {"a_type": (0, 0), "d_type": (0, 0)}, "pass",
         schema={"a": pl.String, "d": pl.String}),
    # -- rules the engines cannot evaluate fail closed ---------------------------------------------
    Case("look_around_pattern_blocks", [prop("a", quality=[rule(
        "a_ahead", "invalidValues", "quarantine", arguments={"pattern": "(?=x)x"}, unit="percent",
        mustBeLessOrEqualTo=100)])],
         {"a": ["x", "y"]}, {"a_ahead": (None, 0)}, "block", passed={"a_ahead": False},
         messages={"a_ahead": "cannot be evaluated"},
         quarantined={0: [BLOCKED], 1: [BLOCKED]}),
    Case("unsupported_date_format_blocks",
         [prop("d", "date", logicalTypeOptions={"format": "EEE dd MMM yyyy"})],
         {"d": ["Wed 31 Jan 2024"]}, {"d_type": (None, 0)}, "block", passed={"d_type": False},
         messages={"d_type": "'EEE' is not supported"}),
    # month names, 12-hour clock, offsets and fractions (the regex), the calendar on the rest
    Case("month_names_and_12_hour_clock", [prop("t", "timestamp",
                                                logicalTypeOptions={"format": "dd MMM yyyy hh:mm a"})],
         {"t": ["31 Jan 2024 01:30 PM", "30 Feb 2024 01:30 PM", "31 jan 2024 01:30 PM",
                "31 Jan 2024 13:30 PM", "31 Jan 2024 12:00 AM"]},
         {"t_type": (3, 3)}, "block"),                                       # 30 Feb, jan, 13 PM
    Case("zone_offsets", [prop("z", "timestamp", logicalTypeOptions={"format": "yyyy-MM-dd HH:mm:ssZ"}),
                          prop("x", "timestamp",
                               logicalTypeOptions={"format": "yyyy-MM-dd'T'HH:mm:ss.SSSXXX"})],
         {"z": ["2024-01-31 10:00:00+0100", "2024-01-31 10:00:00Z", "2024-02-30 10:00:00-0500", None],
          "x": ["2024-01-31T10:00:00.123Z", "2024-01-31T10:00:00.123+01:00", "2024-01-31T10:00:00.12Z",
                "2024-02-29T23:59:59.999-05:00"]},
         {"z_type": (2, 2), "x_type": (1, 1)}, "block"),                     # z: Z and 30 Feb; x: .12
    Case("time_of_day", [prop("t", "time"), prop("u", "time", logicalTypeOptions={"format": "HH:mm"})],
         {"t": ["10:00:00", "23:59:59.5", "24:00:00", "9:00:00"], "u": ["10:00", "10:00:00", "23:59", None]},
         {"t_type": (2, 2), "u_type": (1, 1)}, "block"),                     # 24:00:00, 9:00:00; 10:00:00
    Case("two_digit_year_of_a_warn_rule_warns", [prop("d", "date", logicalTypeOptions={"format": "dd.MM.yy"},
                                                      **WARN)],
         {"d": ["31.01.24"]}, {"d_type": (None, 0)}, "warn", passed={"d_type": False}, quarantined={}),
    Case("invalid_values_without_values_or_pattern_blocks", [prop("a", quality=[rule(
        "a_invalid", "invalidValues", mustBe=0)])],
         {"a": ["x"]}, {"a_invalid": (None, 0)}, "block", passed={"a_invalid": False},
         messages={"a_invalid": "validValues"}),
    # -- relationships ----------------------------------------------------------------------------
    Case("relationship", [prop("site_sk", relationships=[{"to": "site_dim.site_sk"}],
                               **on_violation("quarantine"))],
         {"site_sk": ["s1", "s3", None, "s2"]}, {"site_sk_relationship": (25.0, 1)}, "quarantine",
         references={"site_dim": {"site_sk": ["s1", "s2"]}}, quarantined={1: ["site_sk_relationship"]}),
    Case("relationship_without_its_table_warns",
         [prop("site_sk", relationships=[{"to": "site_dim.site_sk"}])],
         {"site_sk": ["s1"]}, {"site_sk_relationship": (None, 0)}, "warn",
         messages={"site_sk_relationship": "site_dim"}, passed={"site_sk_relationship": None}),
    Case("table_level_relationships", [prop("site_sk"), prop("store", **WARN)],
         {"site_sk": ["s1", "s3", None, "s2"], "store": ["s1", "s1", "s9", None]},
         # site_sk: s3 is not in site_dim (1 of 4 rows, 25 %); store: s9 (a warning)
         {"site_sk_relationship": (25.0, 1), "store_relationship": (1, 1)}, "quarantine",
         references={"site_dim": {"site_sk": ["s1", "s2"]}}, quarantined={1: ["site_sk_relationship"]},
         relationships=[{"from": f"{OBJECT}.site_sk", "to": "site_dim.site_sk", **on_violation("quarantine")},
                        {"type": "foreignKey", "from": [f"{OBJECT}.store"],
                         "to": ["schema/site_dim/properties/site_sk"]}]),
    # -- logicalTypeOptions (rules `<property>_<option>`; only castable values are judged) ---------
    Case("string_min_max_length", [prop("s", **opts(minLength=2, maxLength=3), **WARN)],
         {"s": ["ab", "a", "abcd", "äöü", "", None]},                         # characters, not bytes
         {"s_minLength": (2, 2), "s_maxLength": (1, 1)}, "warn"),              # a and ""; abcd
    Case("string_pattern_is_a_full_match", [prop("s", **opts(pattern="[A-Z]{2}[0-9]+"), **WARN)],
         {"s": ["AB1", "AB", "ab1", "XAB12", None, "AB12"]}, {"s_pattern": (3, 3)}, "warn"),
    Case("string_formats", [prop(name, **opts(format=fmt), **WARN) for name, fmt in [
        ("mail", "email"), ("id", "uuid"), ("link", "uri"), ("host", "hostname"), ("v4", "ipv4"),
        ("v6", "ipv6"), ("blob", "byte")]],
         {"mail": ["a.b@example.com", "x@localhost", "no-at", "a@b@c", "a @b.c", None],
          "id": ["123e4567-e89b-12d3-a456-426614174000", "123E4567-E89B-12D3-A456-426614174000",
                 "123e4567e89b12d3a456426614174000", "123e4567-e89b-12d3-a456-42661417400g", None, None],
          "link": ["https://example.com/a?b=c", "urn:isbn:0451450523", "example.com", "http://a b",
                   "1http://x", None],
          "host": ["example.com", "a-b.c", "-a.com", "a" * 64 + ".com", "a." * 126 + "abc", None],
          "v4": ["192.168.0.1", "255.255.255.255", "256.1.1.1", "01.2.3.4", "1.2.3", None],
          "v6": ["::1", "2001:db8::ff00:42:8329", "::ffff:192.0.2.128", "2001:db8:::1", "12345::", None],
          "blob": ["aGVsbG8=", "aGVsbG8", "aGk=", "", None, "a+/9"]},
         # mail: no-at, a@b@c, a blank; id: no hyphens, g; link: no scheme, a blank, a digit first;
         # host: leading hyphen, a 64-character label, 255 characters; v4: 256, 01, three parts;
         # v6: ::: and five digits; blob: no padding
         {"mail_format": (3, 3), "id_format": (2, 2), "link_format": (3, 3), "host_format": (3, 3),
          "v4_format": (3, 3), "v6_format": (2, 2), "blob_format": (1, 1)}, "warn"),
    Case("string_format_unknown_fails_closed", [prop("p", **opts(format="phone"))], {"p": ["+49 30 1234"]},
         {"p_format": (None, 0)}, "block", passed={"p_format": False}, messages={"p_format": "'phone'"}),
    Case("integer_bounds", [prop("i", "integer", **opts(minimum=2.5, exclusiveMaximum=10), **WARN)],
         {"i": ["3", "2", "10", "9", "+10", "x", None, "-5"]},
         # x >= 2.5 is x >= 3: 2 and -5; x < 10: 10 and +10; x is not an integer (only i_type counts it)
         {"i_type": (1, 1), "i_minimum": (2, 2), "i_exclusiveMaximum": (2, 2)}, "warn"),
    Case("integer_formats", [prop("a", "integer", **opts(format="i8"), **WARN),
                             prop("u", "integer", **opts(format="u8"), **WARN),
                             prop("big", "integer", **opts(format="i64"), **WARN),
                             prop("n", "integer", **opts(format="u16"), **WARN)],
         {"a": ["127", "128", "-128", "-129", "0", "007"],                   # 128, -129
          "u": ["255", "256", "-1", "-0", "0", "+255"],                       # 256, -1
          "big": ["9223372036854775807", "9223372036854775808", "-9223372036854775808",
                  "-9223372036854775809", "1" + "0" * 40, "-1" + "0" * 40],  # 2^63, -2^63-1, both beyond
          "n": [65535, 65536, -1, 0, None, 1]},                               # native: 65536, -1
         {"a_format": (2, 2), "u_format": (2, 2), "big_format": (4, 4), "n_format": (2, 2)}, "warn"),
    Case("integer_multiple_of", [prop("m", "integer", **opts(multipleOf=5), **WARN),
                                 prop("k", "integer", **opts(multipleOf=5), **WARN)],
         {"m": ["10", "-15", "7", "0", "1" + "0" * 40, None],                  # 7; beyond 128 bits
          "k": [10, 12, None, -5, 0, 3]},                                      # 12, 3
         {"m_multipleOf": (2, 2), "k_multipleOf": (2, 2)}, "warn"),
    Case("number_bounds_with_decimal_comma", [prop("p", "number", **opts(exclusiveMinimum=0, maximum=99.99),
                                                   **WARN)],
         {"p": ["0,01", "0", "-1,5", "99,99", "100", "1e2", "abc"]},
         {"p_type": (1, 1), "p_exclusiveMinimum": (2, 2), "p_maximum": (2, 2)}, "warn",
         server_hints={"decimalSeparator": ","}),                              # 0, -1,5; 100, 1e2
    Case("number_multiple_of_cents", [prop("price", "number", **opts(multipleOf=0.01), **WARN)],
         {"price": ["0.07", "19.99", "1.005", "3", "0.1", "1e-3"]}, {"price_multipleOf": (2, 2)}, "warn"),
    Case("number_formats", [prop("f", "number", **opts(format="f32"), **WARN),
                            prop("g", "number", **opts(format="f64"), **WARN)],
         {"f": ["3.4e38", "3.5e38", "-3.5e38", "1"], "g": ["1e308", "1e309", "-1e309", "0"]},
         {"f_format": (2, 2), "g_format": (2, 2)}, "warn"),
    Case("date_bounds_in_the_property_format_or_iso", [prop("d", "date", **WARN, **opts(
        format="dd.MM.yyyy", minimum="01.01.2024", exclusiveMaximum="2024-02-01"))],
         {"d": ["01.01.2024", "31.12.2023", "31.01.2024", "01.02.2024", "30.02.2024", None]},
         {"d_type": (1, 1), "d_minimum": (1, 1), "d_exclusiveMaximum": (1, 1)}, "warn"),
    Case("timestamp_bounds", [prop("t", "timestamp", **WARN, **opts(
        exclusiveMinimum="2024-01-01T00:00:00", maximum="2024-01-31 23:59:59"))],
         {"t": ["2024-01-01T00:00:00", "2024-01-01 00:00:01", "2024-02-01T00:00:00", "2024-01-31 23:59:59",
                "2023-06-01T12:00:00"]},
         {"t_exclusiveMinimum": (2, 2), "t_maximum": (1, 1)}, "warn"),
    Case("time_bounds", [prop("t", "time", **opts(minimum="08:00:00", exclusiveMaximum="20:00:00"), **WARN)],
         {"t": ["08:00:00", "07:59:59", "20:00:00", "19:59:59", "25:00:00", None]},
         {"t_type": (1, 1), "t_minimum": (1, 1), "t_exclusiveMaximum": (1, 1)}, "warn"),
    Case("timestamp_bounds_with_zone_offsets_fail_closed", [prop("t", "timestamp", **opts(
        format="yyyy-MM-dd'T'HH:mm:ssXXX", maximum="2024-01-31T23:59:59+00:00"))],
         {"t": ["2024-01-01T10:00:00+02:00"]}, {"t_maximum": (None, 0)}, "block", passed={"t_maximum": False},
         messages={"t_maximum": "zone offset"}),
    Case("native_date_bounds", [prop("d", "date", **opts(minimum="2024-01-01"), **WARN)],
         {"d": [date(2024, 1, 1), date(2023, 12, 31), None]}, {"d_minimum": (1, 1)}, "warn"),
    Case("array_options", [prop("tags", "array", **opts(minItems=1, maxItems=3, uniqueItems=True), **WARN)],
         {"tags": [["a"], [], ["a", "b", "c", "d"], ["a", "a"], None, ["x", None, None]]},
         # [] ; four items ; a twice, null twice (null items equal each other)
         {"tags_minItems": (1, 1), "tags_maxItems": (1, 1), "tags_uniqueItems": (2, 2)}, "warn",
         schema={"tags": pl.List(pl.String)}),
    Case("array_option_on_text_fails_closed", [prop("tags", "array", **opts(minItems=1))],
         {"tags": ['["a"]']},
         {"tags_minItems": (None, 0)}, "block", passed={"tags_minItems": False},
         messages={"tags_minItems": "not arrays"}),
    Case("object_options", [prop("addr", "object", **WARN, **opts(minProperties=2, maxProperties=2,
                                                                   required=["city"]))],
         {"addr": [{"city": "B", "zip": "1", "street": None}, {"city": None, "zip": "1", "street": "x"},
                   {"city": "B", "zip": None, "street": None}, {"city": "C", "zip": "2", "street": "y"},
                   None]},
         # non-null fields 2, 2, 1, 3: one too few, one too many; city null in the second
         {"addr_minProperties": (1, 1), "addr_maxProperties": (1, 1), "addr_required": (1, 1)}, "warn"),
    Case("type_option_quarantines_rows", [prop("code", **opts(maxLength=3), **on_violation("quarantine"))],
         {"code": ["abc", "abcd", "x"]}, {"code_maxLength": (100 / 3, 1)}, "quarantine",
         quarantined={1: ["code_maxLength"]}),
    # -- physicalName: a column delivered under its physical name is the property ---------------
    Case("physical_name_maps_to_the_property", [
        prop("store", physicalName="STORE_NO", required=True, **opts(maxLength=2), **WARN),
        prop("units", "integer", physicalName="QTY", **WARN)],
         {"STORE_NO": ["s1", None, "s100"], "QTY": ["1", "x", "3"]},
         {f"{OBJECT}_columns_present": (0, 0), f"{OBJECT}_extra_columns": (0, 0), "store_nullValues": (1, 1),
          "store_maxLength": (1, 1), "units_type": (1, 1)}, "warn"),
    Case("logical_name_wins_over_the_physical_one", [prop("store", physicalName="STORE_NO")],
         {"store": ["s1"], "STORE_NO": ["s2"]}, {f"{OBJECT}_extra_columns": (1, 0)}, "warn",
         messages={f"{OBJECT}_extra_columns": "STORE_NO"}),
    Case("self_reference_is_checked_against_the_batch", [
        prop("id", required=True), prop("parent", relationships=[{"to": f"{OBJECT}.id"}], **WARN)],
         {"id": ["a", "b", "c", "d"], "parent": [None, "a", "z", "d"]},      # z is no id of this batch
         {"parent_relationship": (1, 1)}, "warn"),
    # -- sql rules --------------------------------------------------------------------------------
    Case("sql_with_space_and_quote_in_identifiers", [prop('net "sales" eur', quality=[{
        "id": "zero_sales", "type": "sql", "query": "SELECT COUNT(*) FROM {object} WHERE {property} = '0'",
        "mustBeLessThan": 2, **on_violation("warn")}])],
         {'net "sales" eur': ["0", "1", "0", "0; DROP TABLE x"]}, {"zero_sales": (2, 0)}, "warn",
         object_name="pos sales \"daily\""),
    Case("sql_error_fails_closed", [prop("a", quality=[{
        "id": "broken", "type": "sql", "query": "SELECT COUNT(*) FROM {object} WHERE nope = 1",
        "mustBe": 0}])],
         {"a": ["x"]}, {"broken": (None, 0)}, "block", passed={"broken": False},
         messages={"broken": "query failed"}, quarantined={0: [BLOCKED]}),
    Case("sql_error_of_a_warn_rule_warns", [prop("a", quality=[{
        "id": "broken", "type": "sql", "query": "SELECT COUNT(*) FROM {object} WHERE nope = 1",
        "mustBe": 0, **WARN}])],
         {"a": ["x"]}, {"broken": (None, 0)}, "warn", passed={"broken": False}, quarantined={}),
    Case("sql_over_the_batch_typed_by_the_contract", [
        prop("units", "integer", **WARN), prop("price", "number", **WARN), prop("day", "date", **WARN),
        prop("promo", "boolean", **WARN), prop("note")],
        # CSV text: compared as numbers, dates and booleans; "x" is not castable, so NULL in SQL
        {"units": ["3", "12", "x", "7"], "price": ["1,5", "20", "2,25", None],
         "day": ["2024-01-31", "2024-02-01", "2024-02-30", "2024-01-01"],
         "promo": ["true", "FALSE", "1", "0"],
         "note": ["10", "9", "x", "y"]},
         {"big_units": (2, 0), "cheap": (2, 0), "february": (1, 0), "promos": (2, 0), "units_type": (1, 1),
          "notes_as_text": (1, 0)}, "warn", server_hints={"decimalSeparator": ","},
         quality=[{"id": i, "type": "sql", "query": q, "mustBe": 0, **WARN} for i, q in [
             ("big_units", f"SELECT COUNT(*) FROM {OBJECT} WHERE units > 5"),            # 12, 7
             ("cheap", f"SELECT COUNT(*) FROM {OBJECT} WHERE price < 3"),                # 1,5 and 2,25
             ("february", f"SELECT COUNT(*) FROM {OBJECT} WHERE day >= DATE '2024-02-01'"),  # 02-30: null
             ("promos", f"SELECT COUNT(*) FROM {OBJECT} WHERE promo"),                   # true, 1
             ("notes_as_text", f"SELECT COUNT(*) FROM {OBJECT} WHERE note < '2'")]]),    # "10" < "2" as text
    # -- custom rules run by their own engine, whatever the default -------------------------------
    Case("custom_soda_rule", [prop("status")], {"status": ["ok", "bad", "bad", "ok"]},
         {"no_bad_status": (2, None)}, "warn",
         quality=[{"id": "no_bad_status", "type": "custom", "engine": "soda", **on_violation("warn"),
                   "implementation": "failed_rows:\n  name: Bad status\n  query: |\n"
                                     f"    SELECT * FROM {OBJECT} WHERE status = 'bad'\n"}]),
    Case("custom_rules_see_the_batch_typed_by_the_contract", [prop("units", "integer", **WARN)],
         {"units": ["5", "12", "x", "50"]},                                   # CSV text; x is null when typed
         {"soda_big": (2, None), "gx_range": (2, None), "units_type": (1, 1)}, "warn",
         quality=[{"id": "soda_big", "type": "custom", "engine": "soda", **WARN,
                   "implementation": {"failed_rows": {"query": f"SELECT * FROM {OBJECT} WHERE units > 10"}}},
                  {"id": "gx_range", "type": "custom", "engine": "greatExpectations", **WARN,
                   "implementation": {"expectation": "expect_column_values_to_be_between",
                                      "kwargs": {"column": "units", "min_value": 0, "max_value": 10}}}]),
    Case("custom_gx_rule", [prop("units", "integer")], {"units": [1, 5, 50, None]},
         {"units_plausible": (1, None)}, "warn",
         quality=[{"id": "units_plausible", "type": "custom", "engine": "greatExpectations",
                   **on_violation("warn"),
                   "implementation": {"expectation": "expect_column_values_to_be_between",
                                      "kwargs": {"column": "units", "min_value": 0, "max_value": 10}}}]),
]


def _batch(case: Case) -> pl.DataFrame:
    if case.schema:
        return pl.DataFrame(case.rows, schema={**{c: None for c in case.rows}, **case.schema})
    return pl.DataFrame(case.rows, strict=False)


@pytest.mark.parametrize("form", ["eager", "lazy"])
@pytest.mark.parametrize("engine", engine_params())
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_engines_agree_with_the_semantics(case: Case, engine: str, form: str, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """`lazy`: the batch as a LazyFrame (what a scanned file is), and Great Expectations validating
    it in chunks of two rows, so duplicates, row counts and quarantines cross chunk boundaries."""
    gate_contract = contract(tmp_path, case.properties, case.quality, object_name=case.object_name,
                             server_hints=case.server_hints, relationships=case.relationships)
    references = {name: pl.DataFrame(columns) for name, columns in (case.references or {}).items()}
    batch: pl.DataFrame | pl.LazyFrame = _batch(case)
    if form == "lazy":
        monkeypatch.setenv("SHELFGUARD_GX_CHUNK_ROWS", "2")
        batch = batch.lazy()
    run = run_gate(gate_contract, case.object_name, batch, engine=engine, references=references)
    result = run.result
    by_id = {r.id: r for r in result.rules}
    custom = {q["id"] for q in case.quality if q.get("type") == "custom"}
    for rule_id, (value, violating) in case.expect.items():
        found = by_id[rule_id]
        if engine == "spark" and rule_id in custom:  # Soda and GX do not run on Spark batches: fail closed
            assert found.outcome.value == "not_evaluated" and found.passed is False, (rule_id, found)
            assert "cannot run this rule on a Spark batch" in found.message
        elif value is None:
            assert found.outcome.value == "not_evaluated", (rule_id, found)
            assert found.value is None
        else:
            assert found.value == pytest.approx(value), (rule_id, found)
            assert violating is None or found.violating_rows == violating, (rule_id, found)
    for rule_id, passed in case.passed.items():
        assert by_id[rule_id].passed is passed, (rule_id, by_id[rule_id])
    for rule_id, text in case.messages.items():
        assert text in by_id[rule_id].message, (rule_id, by_id[rule_id].message)
    assert result.verdict.value == case.verdict, [r for r in result.rules if r.passed is False]
    rows = len(next(iter(case.rows.values())))
    assert result.rows == rows
    assert result.rows_published + result.rows_quarantined == rows
    published, quarantined = as_polars(run.published), as_polars(run.quarantined)
    assert published.height == result.rows_published
    assert quarantined.height == result.rows_quarantined
    if case.quarantined is not None:
        found_reasons = dict(zip(quarantined[ROW_NUMBER].to_list(),
                                 quarantined[QUARANTINE_REASONS].to_list(), strict=True))
        assert found_reasons == case.quarantined
    blocked_by = list(result.blocking_rule_ids) if result.verdict.value == "block" else []
    assert all(found == blocked_by for found in quarantined[BLOCKED_BY].to_list())


@pytest.mark.parametrize("engine", engine_params())
def test_catastrophic_regex_finishes_fast(engine: str, tmp_path: Path) -> None:
    """`(a+)+$` against 'aaa…ab' backtracks for ages in Python's `re`; linear-time engines do not care."""
    gate_contract = contract(tmp_path, [prop("a", quality=[rule("evil", "invalidValues", "warn",
                                                                arguments={"pattern": "(a+)+$"}, mustBe=0)])])
    batch = pl.DataFrame({"a": ["a" * 50_000 + "b", "aaaa", None]})
    started = time.perf_counter()
    result = run_gate(gate_contract, OBJECT, batch, engine=engine).result
    assert time.perf_counter() - started < 20
    evil = next(r for r in result.rules if r.id == "evil")
    assert (evil.value, evil.violating_rows) == (1, 1)


def test_string_formats_of_any_value_are_documentation(tmp_path: Path) -> None:
    """`password` and `binary` say how to treat a value, not which values are valid: no rule."""
    gate_contract = contract(tmp_path, [prop("pw", **opts(format="password")),
                                        prop("raw", **opts(format="binary"))])
    result = run_gate(gate_contract, OBJECT, pl.DataFrame({"pw": ["x"], "raw": ["y"]})).result
    assert [r.id for r in result.rules] == [f"{OBJECT}_columns_present", f"{OBJECT}_extra_columns"]
    assert result.verdict.value == "pass"
