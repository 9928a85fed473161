"""`shelfguard demo`: the end-to-end demo, one step after another.

For now: write demo deliveries with a few faults, then lint the contracts. The ingestion and
gate steps are added here as they land; each step is one function that prints what it did.
"""

from __future__ import annotations

import argparse
import importlib.util

from shelfguard.cli import UsageError
from shelfguard.settings import CONTRACTS_DIR, DataHome

DEMO_FAULTS = ("invalid_codes", "duplicate_keys", "redelivered_file", "restated_file", "late_delivery")
"""Faults that show the gates and the delivery ledger at work without blocking every retailer."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--days", type=int, default=14, help="business days of demo data (default 14)")
    parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")


def run(args: argparse.Namespace) -> int:
    home = DataHome.from_env()
    generate_demo_data(home, days=args.days, seed=args.seed)
    lint_contracts()
    return 0


def generate_demo_data(home: DataHome, *, days: int, seed: int) -> None:
    """Step 1: deliveries for every retailer, with `DEMO_FAULTS` injected."""
    from checks.contract import ContractError
    from shelfguard.commands.demo_data import summary
    from shelfguard.demo_data import generate

    try:
        report = generate(home, days=days, seed=seed, faults=DEMO_FAULTS)
    except (ValueError, ContractError) as exc:
        raise UsageError(str(exc)) from None
    print(
        f"1. demo data: {len(report.deliveries)} deliveries of {len(report.retailers)} retailers "
        f"({report.start} to {report.end}) under {home.root}, faults: {', '.join(DEMO_FAULTS)}"
    )
    print(summary(report))


def lint_contracts() -> None:
    """Step 2: lint every contract (when the linter is installed in this checkout)."""
    if importlib.util.find_spec("checks.lint") is None:
        print("2. contract lint: skipped (checks.lint is not available)")
        return
    from checks.lint import lint_paths

    problems = lint_paths([CONTRACTS_DIR])
    print(f"2. contract lint: {len(problems)} problem(s) in {CONTRACTS_DIR}")
    for problem in problems:
        print(f"   {problem.location_message()}")
