"""What a check says in the UI: names that keep their letters, descriptions that name the column and
the rule, the failing delivery's own numbers, and blocking in every layer where the rule blocks."""

from __future__ import annotations

import dagster as dg
import polars as pl

from assets.definitions import build_definitions
from assets.definitions.gating import CheckedBatch, check_description, check_name, check_names, check_results
from checks.contract import HOLDS_DATA_BACK
from checks.result import ContractRef, GateResult, Outcome, RuleResult
from checks.rules import Rule, RuleKind
from tests.conftest import CONTRACTS_DIR


def _rule(rule_id: str, **fields) -> Rule:
    return Rule(id=rule_id, object="verkauf", kind=RuleKind.LIBRARY,
                metric=fields.pop("metric", "nullValues"), threshold=fields.pop("threshold", {"mustBe": 0}),
                **fields)


def test_check_names_keep_their_letters_and_are_unique():
    assert check_name("Änderungsdatum_nullValues") == "Aenderungsdatum_nullValues"
    assert check_name("Größe-Menge") == "Groesse_Menge"
    assert check_name("kjøpt_på") == "kjoept_paa"
    assert check_name("café") == "cafe"
    names = check_names([_rule("Menge-x"), _rule("Menge_x"), _rule("Menge x")])
    assert list(names.values()) == ["Menge_x", "Menge_x_2", "Menge_x_3"]


def test_a_description_names_the_column_the_rule_and_what_a_failure_does():
    rule = _rule("Menge_nullValues", property="Menge", description="The column is never null.",
                 on_violation="quarantine")
    text = check_description(rule)
    assert text.startswith("Column Menge of verkauf: The column is never null.")
    assert "nullValues must be 0 rows" in text and "quarantined" in text
    table = check_description(_rule("verkauf_rowCount", metric="rowCount",
                                    threshold={"mustBeGreaterThan": 0}))
    assert table.startswith("Table verkauf:") and "rowCount must be greater than 0" in table


def _batch(delivery: str, value: float, violating: int, *, source: str) -> CheckedBatch:
    outcome = Outcome.FAIL if violating else Outcome.PASS
    result = RuleResult(id="Menge_nullValues", property="Menge", metric="nullValues", on_violation="block",
                        value=value, threshold={"mustBe": 0}, violating_rows=violating,
                        passed=not violating, outcome=outcome, message=f"{violating} null(s)")
    gate = GateResult(contract=ContractRef(id="c", version="1", path="c.yaml"), object="verkauf",
                      engine="pandera", verdict="block" if violating else "pass", rows=100,
                      rows_published=0 if violating else 100, rows_quarantined=100 if violating else 0,
                      rules=[result])
    return CheckedBatch(delivery, gate, pl.DataFrame(), f"/q/{delivery}" if violating else "", source)


def test_the_failing_delivery_s_numbers_are_the_ones_shown():
    rule = _rule("Menge_nullValues", property="Menge")
    batches = [_batch("d1", 0, 0, source="/l/a.csv"), _batch("d2", 1, 1, source="/l/b.csv"),
               _batch("d3", 0, 0, source="/l/c.csv")]
    (result,) = check_results([rule], batches, build_definitions_contract(), "pandera")
    assert result.passed is False
    meta = {k: getattr(v, "value", v) for k, v in result.metadata.items()}
    assert (meta["value"], meta["violating_rows"], meta["delivery_id"]) == (1, 1, "d2")
    assert meta["source_file"] == "/l/b.csv" and meta["quarantine_path"] == "/q/d2"
    assert meta["batches"] == 3 and meta["batches_failed"] == 1
    assert "| d2 | b.csv | fail | 1.0 | 1 | /q/d2 |" in meta["by_delivery"]
    assert result.description.startswith("d2 (b.csv) failed: value 1.0, 1 violating row(s)")


def build_definitions_contract():
    from assets.plan import build_plan

    return build_plan(CONTRACTS_DIR).canonical


def test_every_rule_check_has_an_ascii_name_and_a_description_and_blocks_where_the_rule_blocks():
    """In every layer (the UI labels a check with blocking=True "blocking"); the automation runs keep
    one retailer's blocked batch from stopping another's (tests/silver_gold)."""
    graph = build_definitions(CONTRACTS_DIR).get_repository_def().asset_graph
    layers = set()
    for key in graph.asset_check_keys:
        spec = graph.get_check_spec(key)
        on_violation = spec.metadata.get("on_violation")
        if on_violation is None:
            continue
        assert spec.description and key.name.isascii(), key
        assert spec.blocking is (on_violation in HOLDS_DATA_BACK), key
        layers.add((key.asset_key.path[0], spec.blocking))
    assert layers == {(layer, blocks) for layer in ("bronze", "silver", "gold") for blocks in (True, False)}
    reconciliation = dg.AssetCheckKey(dg.AssetKey(["gold", "daily_store_fact"]), "reconciliation_with_silver")
    assert graph.get_check_spec(reconciliation).blocking
    products = dg.AssetKey(["bronze", "alp_de__products"])
    alp = {k.name for k in graph.asset_check_keys if k.asset_key == products}
    assert "Aenderungsdatum_type" in alp
