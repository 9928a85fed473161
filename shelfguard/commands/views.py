"""`shelfguard views --dialect databricks`: the gold access policy as SQL, from the contracts.

For Databricks the output is what a platform team applies in CI after every contract change
(idempotent: CREATE OR REPLACE VIEW, GRANT, SET TAGS); see docs/access.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from shelfguard.cli import UsageError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dialect", choices=("databricks", "duckdb"), default="databricks")
    parser.add_argument("--catalog", default="pos", help="Unity Catalog catalog of the gold tables (pos)")
    parser.add_argument("--schema", default="gold", help="schema of the gold tables (gold)")
    parser.add_argument("--suffix", default="_v", help="view name = table name + suffix (_v)")
    parser.add_argument("--contracts", metavar="DIR", help="contracts folder (default: the project's)")


def run(args: argparse.Namespace) -> int:
    from assets.gold.views import databricks_policy_sql, duckdb_views_sql
    from assets.plan import build_plan
    from checks.contract import ContractError
    from shelfguard.settings import CONTRACTS_DIR

    try:
        plan = build_plan(Path(args.contracts) if args.contracts else CONTRACTS_DIR)
    except (ContractError, OSError) as exc:
        raise UsageError(str(exc)) from None
    if args.dialect == "databricks":
        print(databricks_policy_sql(plan.canonical, plan.retailers, catalog=args.catalog,
                                    schema=args.schema, suffix=args.suffix), end="")
    else:
        print(duckdb_views_sql(plan.canonical, plan.retailers), end="")
    return 0
