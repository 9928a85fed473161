"""The Soda and GX engines on small batches, against numbers computed by hand from gate-semantics.md.

Every test runs on both engines (the `engine` fixture). The conformance suite (tests/gates) compares
all three engines on the contract cases; these tests cover what is particular to the Soda and GX
translations: nulls, full matches, the kept duplicate, text comparison of typed columns,
identifiers and values that SQL or Soda's YAML could misread, and a regex that backtracks.
"""

from __future__ import annotations

import time
from typing import Any

import polars as pl
import pytest

from checks.engines.base import ROW_NUMBER, BatchContext, Engine, Measurement
from checks.rules import OrderColumn, Rule, RuleKind

OBJECT = "pos sales"


def rule(rule_id: str, kind: RuleKind = RuleKind.LIBRARY, **fields: Any) -> Rule:
    return Rule(id=rule_id, object=OBJECT, kind=kind, threshold={"mustBe": 0}, **fields)


def measure(engine: Engine, columns: dict[str, list[Any]], rules: list[Rule], schema: dict | None = None,
            **context: Any) -> dict[str, Measurement]:
    batch = pl.DataFrame(columns, schema=schema, strict=False).with_row_index(ROW_NUMBER)
    object_name = context.pop("object_name", OBJECT)
    found = engine.measure(batch, rules, BatchContext(object_name=object_name, **context))
    assert [m.rule_id for m in found] == [r.id for r in rules]
    return {m.rule_id: m for m in found}


def type_rule(rule_id: str, column: str, logical_type: str) -> Rule:
    return rule(rule_id, RuleKind.TYPE, property=column, metric="invalidValues", logical_type=logical_type)


def rows(measurement: Measurement) -> list[int] | None:
    return None if measurement.violating_rows is None else measurement.violating_rows.to_list()


def test_nulls_are_null_values_not_invalid_values(engine: Engine) -> None:
    found = measure(engine, {"code": ["a", None, "", "b", None]}, [
        rule("nulls", property="code", metric="nullValues"),
        rule("missing", property="code", metric="missingValues"),  # default [null, ""]
        rule("missing_listed", property="code", metric="missingValues", arguments={"missingValues": ["b"]}),
        rule("invalid", property="code", metric="invalidValues", arguments={"validValues": ["a"]}),
        rule("invalid_null_listed", property="code", metric="invalidValues",
             arguments={"validValues": [None, "a"]}),
    ])
    assert (found["nulls"].count, rows(found["nulls"])) == (2, [1, 4])
    assert (found["missing"].count, rows(found["missing"])) == (3, [1, 2, 4])
    # null is always missing, whatever the list
    assert (found["missing_listed"].count, rows(found["missing_listed"])) == (3, [1, 3, 4])
    assert (found["invalid"].count, rows(found["invalid"])) == (2, [2, 3])  # "" and "b"; nulls never invalid
    assert rows(found["invalid_null_listed"]) == [2, 3]


def test_patterns_must_match_the_whole_value(engine: Engine) -> None:
    gtins = ["12345678", "123456789", "x12345678", "1234567890123", None, "12345678\n"]
    found = measure(engine, {"gtin": gtins}, [
        rule("gtin_format", property="gtin", metric="invalidValues",
             arguments={"pattern": "[0-9]{8}|[0-9]{12,14}"}),
        rule("both", property="gtin", metric="invalidValues",
             arguments={"pattern": "[0-9]+", "validValues": ["12345678", "x12345678"]}),
    ])
    assert rows(found["gtin_format"]) == [1, 2, 5]  # 9 digits, a prefix, a trailing newline
    assert rows(found["both"]) == [1, 2, 3, 5]  # not listed, or listed but not all digits


def test_duplicates_keep_the_latest_row_and_nulls_are_equal(engine: Engine) -> None:
    order = OrderColumn(name="updated_at", logical_type="timestamp", type_format="yyyy-MM-dd HH:mm:ss")
    columns = {
        "store": ["s1", "s1", "s1", None, None, "s2", "s2"],
        "product": ["p", "p", "p", None, None, "p", "q"],
        "updated_at": ["2024-01-02 00:00:00", "2024-01-03 00:00:00", "2024-01-03 00:00:00",
                       "not a time", "2024-01-01 00:00:00", "2024-01-01 00:00:00", None],
    }
    found = measure(engine, columns, [
        rule("latest", metric="duplicateValues", properties=["store", "product"], keep_latest_by=order),
        rule("first", metric="duplicateValues", properties=["store", "product"]),
        rule("single", kind=RuleKind.UNIQUE, metric="duplicateValues", property="store"),
    ])
    # (s1, p): rows 1 and 2 are the latest (tie) -> row 1 kept; (null, null): row 3 unparseable, row 4 kept
    assert (found["latest"].count, rows(found["latest"])) == (3, [0, 2, 3])
    assert rows(found["first"]) == [1, 2, 4]
    assert (found["single"].count, rows(found["single"])) == (4, [1, 2, 4, 6])


def test_typed_columns_compare_as_text_and_cast_by_their_kind(engine: Engine) -> None:
    columns = {"qty": [1, 2, None, 4, 12], "ratio": [1.0, 1.5, None, float("nan"), 2.0],
               "flag": [True, False, None, True, False]}
    found = measure(engine, columns, [
        rule("qty_listed", property="qty", metric="invalidValues", arguments={"validValues": [1, "2", 12]}),
        rule("qty_digits", property="qty", metric="invalidValues", arguments={"pattern": "[0-9]"}),
        rule("qty_missing", property="qty", metric="missingValues",
             arguments={"missingValues": [None, "", 4]}),
        type_rule("ratio_integer", "ratio", "integer"),
        rule("flag_listed", property="flag", metric="invalidValues", arguments={"validValues": [True]}),
        rule("ratio_nulls", property="ratio", metric="nullValues"),
        rule("qty_unique", kind=RuleKind.UNIQUE, property="qty", metric="duplicateValues"),
    ])
    assert rows(found["qty_listed"]) == [3]
    assert rows(found["qty_digits"]) == [4]  # "12"
    assert rows(found["qty_missing"]) == [2, 3]
    assert rows(found["ratio_integer"]) == [1, 3]  # 1.5 and NaN are not integral
    assert rows(found["flag_listed"]) == [1, 4]  # "false" is not "true"
    assert rows(found["ratio_nulls"]) == [2]  # NaN is a value, not null
    assert rows(found["qty_unique"]) == []


def test_castability_of_delivered_text(engine: Engine) -> None:
    columns = {"day": ["2024-01-31", "2024-1-31", "2024-02-30", " 2024-01-31", None],
               "units": ["12", "+3", " 4", "1.0", "99999999999999999999"],
               "amount": ["12,50", "-0,5", "1.5", "1e3", ""],
               "promo": ["TRUE", "false", "1", "yes", "0"]}
    found = measure(engine, columns, [
        type_rule("day_type", "day", "date"),
        type_rule("units_type", "units", "integer"),
        type_rule("amount_type", "amount", "number"),
        type_rule("promo_type", "promo", "boolean"),
    ], decimal_separator=",")
    assert rows(found["day_type"]) == [1, 2, 3]  # one-digit month, 30 February, a leading blank
    assert rows(found["units_type"]) == [2, 3]  # blank, decimal point; size is not judged
    assert rows(found["amount_type"]) == [2, 4]  # "." is not the separator; "" is not a number
    assert rows(found["promo_type"]) == [3]


def test_identifiers_and_values_are_quoted_never_pasted(engine: Engine) -> None:
    columns = {'unit "net" price': ["O'Brien", "x", None], "store id": ["${env.HOME}", "$HOME", "a"]}
    found = measure(engine, columns, [
        rule("quoted_column", property='unit "net" price', metric="invalidValues",
             arguments={"validValues": ["O'Brien"]}),
        rule("quoted_nulls", property='unit "net" price', metric="nullValues"),
        rule("variable_like_value", property="store id", metric="invalidValues",
             arguments={"validValues": ["${env.HOME}", "a"]}),
        rule("key", metric="duplicateValues", properties=['unit "net" price', "store id"]),
    ], object_name='pos "sales"; DROP TABLE x')
    assert rows(found["quoted_column"]) == [1]
    assert rows(found["quoted_nulls"]) == [2]
    assert rows(found["variable_like_value"]) == [1]  # "${env.HOME}" is a value, not an environment variable
    assert found["key"].count == 0


def test_catastrophic_pattern_finishes_fast(engine: Engine) -> None:
    evil = "a" * 30_000 + "!"
    started = time.perf_counter()
    found = measure(engine, {"code": [evil, "aaab", None] * 50}, [
        rule("evil", property="code", metric="invalidValues", arguments={"pattern": "(a+)+b"}),
    ])
    assert time.perf_counter() - started < 20  # Python's re would not finish; linear engines take ms
    assert found["evil"].count == 50


def test_patterns_only_one_regex_engine_understands_are_not_evaluated(engine: Engine) -> None:
    found = measure(engine, {"code": ["ab"]}, [
        rule("lookahead", property="code", metric="invalidValues", arguments={"pattern": "(?=a)ab"}),
        rule("fine", property="code", metric="invalidValues", arguments={"pattern": "ab"}),
    ])
    assert found["lookahead"].count is None and "look-around" in found["lookahead"].message
    assert found["fine"].count == 0


def test_relationships_compare_text_forms(engine: Engine) -> None:
    references = {"prod_dim": pl.DataFrame({"product_sk": [1, 2, None]})}
    found = measure(engine, {"product_sk": ["1", "3", None, "2", "01"]}, [
        rule("fk", kind=RuleKind.RELATIONSHIP, property="product_sk", metric="invalidValues",
             references="prod_dim.product_sk"),
        rule("fk_unknown", kind=RuleKind.RELATIONSHIP, property="product_sk", metric="invalidValues",
             references="site_dim.site_sk"),
    ], references=references)
    assert rows(found["fk"]) == [1, 4]
    assert found["fk_unknown"].count is None


def test_columns_present_and_extra_columns(engine: Engine) -> None:
    listed = ["a", "b", "gone"]
    found = measure(engine, {"a": [1], "b": [2], "x": [3], "y y": [4]}, [
        rule("present", kind=RuleKind.COLUMNS_PRESENT, metric="columnsPresent", properties=listed),
        rule("extra", kind=RuleKind.EXTRA_COLUMNS, metric="extraColumns", properties=listed),
    ])
    assert (found["present"].count, found["present"].message) == (1, "missing columns: gone")
    assert (found["extra"].count, found["extra"].message) == (2, "columns not in the contract (kept): x, y y")


def test_empty_batch(engine: Engine) -> None:
    found = measure(engine, {"code": [], "updated_at": []}, [
        rule("rows", metric="rowCount"),
        rule("nulls", property="code", metric="nullValues"),
        rule("pattern", property="code", metric="invalidValues", arguments={"pattern": "[a-z]+"}),
        rule("dups", kind=RuleKind.UNIQUE, metric="duplicateValues", property="code",
             keep_latest_by=OrderColumn(name="updated_at", logical_type="timestamp")),
        type_rule("date", "code", "date"),
    ], schema={"code": pl.String, "updated_at": pl.String})
    counts = {rule_id: m.count for rule_id, m in found.items()}
    assert counts == {"rows": 0, "nulls": 0, "pattern": 0, "dups": 0, "date": 0}
    assert rows(found["nulls"]) == []


@pytest.mark.parametrize("missing_column_rule", ["nullValues", "invalidValues"])
def test_a_rule_on_a_missing_column_is_not_evaluated(engine: Engine, missing_column_rule: str) -> None:
    found = measure(engine, {"a": [1]}, [
        rule("r", property="nope", metric=missing_column_rule, arguments={"validValues": [1]}),
    ])
    assert found["r"].count is None and "nope" in found["r"].message


def test_a_key_hash_collision_is_not_a_duplicate() -> None:
    """Duplicate candidates are found by key hashes; rows that only share a hash (a collision,
    simulated here by handing distinct keys over as candidates) are not duplicates."""
    from checks.engines.pandera_engine import _Duplicates

    candidates = pl.DataFrame({ROW_NUMBER: [0, 1, 2, 3], "k": ["a", "b", "a", None]})
    assert _Duplicates(["k"]).not_kept(candidates).to_list() == [2]
    assert _Duplicates(["k"]).not_kept(candidates.slice(0, 2)).to_list() == []
