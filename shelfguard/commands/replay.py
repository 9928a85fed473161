"""`shelfguard replay DELIVERY_ID…`: gate blocked deliveries again after a fix.

Runs the delivery's bronze asset in Dagster with `replay` config, so the new attempt shows in the
UI and is appended to the delivery ledger like any other gate run.
"""

from __future__ import annotations

import argparse

from assets.bronze.ledger import HELD_BACK_VERDICTS
from checks.engines import DEFAULT_ENGINE, ENGINES
from shelfguard.cli import UsageError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "delivery_ids",
        nargs="+",
        metavar="DELIVERY_ID",
        help="delivery id as printed by the demo or shown in the ledger, e.g. alp_de:sales:3f2a…",
    )
    parser.add_argument("--engine", default=DEFAULT_ENGINE, choices=sorted(ENGINES))


def run(args: argparse.Namespace) -> int:
    import dagster as dg
    import polars as pl

    from assets.bronze.ledger import latest_attempts, ledger_path, read_ledger
    from assets.definitions import build_definitions
    from assets.definitions.bronze import bronze_run_config
    from assets.plan import bronze_key
    from shelfguard.dagster_home import open_instance
    from shelfguard.settings import DataHome

    home = DataHome.from_env().ensure()
    ledger = latest_attempts(read_ledger(home.warehouse))
    defs = build_definitions()
    instance = open_instance(home)
    status = 0
    for delivery_id in args.delivery_ids:
        rows = ledger.filter(pl.col("delivery_id") == delivery_id)
        if rows.is_empty():
            raise UsageError(
                f"unknown delivery {delivery_id!r}; see the ledger at {ledger_path(home.warehouse)}"
            )
        entry = rows.row(0, named=True)
        key = dg.AssetKey(list(bronze_key(entry["retailer_code"], entry["object"])))
        job = defs.resolve_implicit_global_asset_job_def()
        result = job.execute_in_process(
            run_config=bronze_run_config(key, replay=[delivery_id], engine=args.engine),
            instance=instance,
            asset_selection=[key],
            raise_on_error=False,
        )
        after = (
            latest_attempts(read_ledger(home.warehouse))
            .filter(pl.col("delivery_id") == delivery_id)
            .row(0, named=True)
        )
        print(
            f"{delivery_id}: attempt {after['attempt']} verdict {after['verdict']}"
            f" (published {after['rows_published']}, quarantined {after['rows_quarantined']})"
            + (f" blocked by {after['blocking_rules']}" if after["blocking_rules"] else "")
        )
        if not result.success or after["verdict"] in HELD_BACK_VERDICTS:
            status = 1
    return status
