"""The Unity Catalog SQL of the policy, parsed back with sqlglot's Databricks dialect: hostile role,
group, key, catalog and classification names stay literals and identifiers, nothing else."""

from __future__ import annotations

import copy
import dataclasses

import pytest
import sqlglot
from sqlglot import exp

from assets.gold.views import databricks_policy_sql
from assets.plan import CANONICAL_OBJECTS, build_plan
from checks.access import groups
from shelfguard.cli import main
from shelfguard.settings import CONTRACTS_DIR

HOSTILE = [
    "grp\\' OR TRUE OR \\'",
    "it's",
    "back\\slash\\",
    "tick`) TO `everyone",
    "semi'; DROP TABLE pos.gold.daily_store_fact; --",
    "new\nline",
    "ümlaut \u2028 sep",
]


def with_custom(document: dict, name: str, value: object) -> None:
    items = document.setdefault("customProperties", [])
    items[:] = [i for i in items if i.get("property") != name] + [{"property": name, "value": value}]


@pytest.fixture(scope="module")
def hostile():
    """The shipped contracts with hostile group names (canonical and retailer roles), a hostile
    secure group key, and a hostile classification."""
    plan = build_plan(CONTRACTS_DIR)
    canonical = copy.deepcopy(plan.canonical.document)
    canonical["roles"] += [
        {"role": name, "access": "read", "customProperties": [
            {"property": "grantRule", "value": "activeRetailers"},
            {"property": "readsAs", "value": "competition"}]}
        for name in HOSTILE
    ]
    for obj in canonical["schema"]:
        for prop in obj["properties"]:
            if prop["name"] == "net_sales":
                prop["classification"] = "restr'icted\\"
    retailers = []
    for contract in plan.retailers:
        document = copy.deepcopy(contract.document)
        if contract.custom["retailerCode"] == "nwg_us":
            document["roles"] = [{"role": name, "access": "read"} for name in HOSTILE]
            with_custom(document, "secureGroupKey", "SG_'\\NWG")
        retailers.append(dataclasses.replace(contract, document=document))
    return dataclasses.replace(plan.canonical, document=canonical), retailers


def strings(statement: exp.Expression) -> list[str]:
    return [literal.this for literal in statement.find_all(exp.Literal) if literal.is_string]


def test_hostile_names_parse_back_as_the_same_literals(hostile) -> None:
    canonical, retailers = hostile
    sql = databricks_policy_sql(canonical, retailers, catalog="p`os", schema="go'ld")
    statements = [s for s in sqlglot.parse(sql, read="databricks") if s is not None]
    views = [s for s in statements if isinstance(s, exp.Create)]
    grants = [s for s in statements if isinstance(s, exp.Grant)]
    tags = [s for s in statements if isinstance(s, exp.Command)]
    assert len(views) == len(CANONICAL_OBJECTS)
    assert len(grants) == len(CANONICAL_OBJECTS) * len(groups(canonical, retailers))
    assert len(statements) == len(views) + len(grants) + len(tags), "no statement smuggled in"
    for view in views:
        members = {call.expressions[0].this for call in view.find_all(exp.Anonymous)
                   if call.name.lower() == "is_account_group_member"}
        assert set(HOSTILE) <= members
        assert "SG_'\\NWG" in strings(view)
        assert view.this.find(exp.Table).catalog == "p`os" and view.this.find(exp.Table).db == "go'ld"
        assert not list(view.find_all(exp.Drop))
    assert {g.args["principals"][0].this.this for g in grants} >= set(HOSTILE), "principals as identifiers"
    assert len(tags) == 4, "units_sold and net_sales of both facts: sqlglot's fallback for SET TAGS"


def test_set_tags_statements_tokenize_to_their_literals(hostile) -> None:
    """sqlglot parses ALTER … SET TAGS as a raw command; its tokens still show the literals."""
    canonical, retailers = hostile
    sql = databricks_policy_sql(canonical, retailers, catalog="pos", schema="gold")
    tags = [s for s in sql.split(";\n\n") if "SET TAGS" in s]
    assert tags
    for statement in tags:
        tokens = sqlglot.tokenize(statement, read="databricks")
        literals = [t.text for t in tokens if t.token_type == sqlglot.TokenType.STRING]
        assert literals[0] == "classification" and literals[1] in ("restricted", "restr'icted\\")
        assert len(literals) == 2


def test_views_command_prints_the_databricks_policy(capsys) -> None:
    assert main(["views", "--dialect", "databricks", "--catalog", "pos", "--schema", "gold"]) == 0
    sql = capsys.readouterr().out
    statements = sqlglot.parse(sql, read="databricks")
    assert sum(isinstance(s, exp.Create) for s in statements) == len(CANONICAL_OBJECTS)
    assert "GRANT SELECT ON TABLE `pos`.`gold`.`daily_store_fact_v` TO `pos_access_pending`;" in sql
    assert "ALTER TABLE `pos`.`gold`.`daily_store_fact` ALTER COLUMN `net_sales` SET TAGS " \
           "('classification' = 'restricted');" in sql
    assert "GRANT SELECT ON TABLE `pos`.`gold`.`daily_store_fact` " not in sql
