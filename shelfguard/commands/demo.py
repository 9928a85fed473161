"""`shelfguard demo`: the end-to-end demo on the embedded default (local Delta, Polars, DuckDB).

Lints the contracts, writes deterministic deliveries for the nine demo retailers with faults
injected, runs landing → bronze → silver → gold in-process through the generated Dagster assets on
the data home's instance, and prints what happened per retailer. Blocked deliveries are an
expected outcome of the demo, not an error: the exit status is 0 whenever the pipeline itself
worked.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime

from checks.engines import DEFAULT_ENGINE, ENGINES
from shelfguard.cli import UsageError
from shelfguard.settings import CONTRACTS_DIR, DataHome

DEMO_FAULTS = (
    "nulls",
    "invalid_codes",
    "negative_units",
    "duplicate_keys",
    "missing_column",
    "truncated_file",
    "redelivered_file",
    "restated_file",
    "late_delivery",
)
"""Faults that show every gate outcome: quarantined rows, blocked and unreadable deliveries,
re-delivery, restatement and lateness, while most deliveries still flow to gold."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--days", type=int, default=14, help="business days of demo data (default 14)")
    parser.add_argument("--stores", type=int, default=5, help="stores per retailer (default 5)")
    parser.add_argument("--products", type=int, default=20, help="products in the catalogue (default 20)")
    parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    parser.add_argument("--engine", default=DEFAULT_ENGINE, choices=sorted(ENGINES), help="gate engine")
    from shelfguard.commands.demo_data import add_as_of_argument

    add_as_of_argument(parser)


def run(args: argparse.Namespace) -> int:
    from shelfguard.commands.demo_data import parsed_as_of

    as_of = parsed_as_of(args)
    home = DataHome.from_env().ensure()
    if not lint_contracts():
        return 1
    generate_demo_data(home, days=args.days, stores=args.stores, products=args.products, seed=args.seed,
                       as_of=as_of)
    errors = run_demo_pipeline(home, engine=args.engine)
    from shelfguard.demo_report import print_pipeline_report

    print_pipeline_report(home, first_step=4)
    print(
        "\nOpen the Dagster UI on this run's instance with `uv run shelfguard ui` "
        f"(DAGSTER_HOME={home.dagster_home}); lineage: `uv run shelfguard lineage --help`; "
        "SLA status: `uv run shelfguard freshness`."
    )
    print_demo_readers(home)
    if errors:
        print("\nThe pipeline itself failed:", *errors, sep="\n  ", file=sys.stderr)
        return 1
    return 0


def lint_contracts() -> bool:
    from checks.lint import lint_paths

    problems = lint_paths([CONTRACTS_DIR])
    print(f"1. contracts: {len(problems)} lint problem(s) in {CONTRACTS_DIR}")
    for problem in problems:
        print(f"   {problem.location_message()}")
    return not problems


def generate_demo_data(home: DataHome, *, days: int, stores: int, products: int, seed: int,
                       as_of: datetime | None = None) -> None:
    from checks.contract import ContractError
    from shelfguard.demo_data import generate

    try:
        report = generate(home, days=days, stores=stores, products=products, seed=seed, faults=DEMO_FAULTS,
                          as_of=as_of)
    except (ValueError, ContractError) as exc:
        raise UsageError(str(exc)) from None
    print(
        f"2. demo data: {len(report.deliveries)} deliveries of {len(report.retailers)} retailers "
        f"({report.start} to {report.end}, as of {report.as_of:%Y-%m-%d %H:%M} UTC) under {home.root}"
    )
    for injection in report.injections:
        print(f"   fault {injection.fault:<17} {injection.retailer}/{injection.object}: {injection.effect}")
    from shelfguard.commands.demo_data import skipped_lines

    for line in skipped_lines(report):
        print(f"   {line}")


def run_demo_pipeline(home: DataHome, *, engine: str) -> list[str]:
    from shelfguard.demo_sources import demo_sources
    from shelfguard.pipeline import run_pipeline

    print("3. pipeline: landing → bronze → silver → gold (in-process Dagster runs) …", flush=True)
    with demo_sources(home):
        # Blocked batches are expected here: the report below and the alerts tell them, not Dagster's
        # step-failure tracebacks; a real failure comes back from `errors()` and is printed.
        run = run_pipeline(home, engine=engine, log_level="CRITICAL")
    return run.errors()


def print_demo_readers(home: DataHome) -> None:
    """Give the demo one reader per group (unless a directory exists) and say how to read as one."""
    from assets.gold.views import load_directory, write_demo_directory
    from assets.plan import build_plan
    from checks.access import access_grants, groups

    plan = build_plan(CONTRACTS_DIR)
    write_demo_directory(home, groups(plan.canonical, plan.retailers))
    granted = {grant.group for grant in access_grants(plan.canonical, plan.retailers)}
    # Readers whose groups are granted something first: the example should show rows.
    users = sorted(load_directory(home.directory_file).items(), key=lambda u: (not granted & set(u[1]), u[0]))
    if users:
        print(f"Gold through the views as a reader ({home.directory_file}): "
              f"`uv run shelfguard sql --as {users[0][0]} \"SELECT ...\"`; "
              f"readers: {', '.join(user for user, _ in users)}.")
