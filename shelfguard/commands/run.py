"""`shelfguard run`: process every delivery that has landed or can be pulled now, through the same
Dagster jobs and gates as the sensors, in-process on the data home's instance.

Per retailer it lists what is waiting (landed files the delivery ledger has not recorded, the same
judgement as the retailer's sensor: `assets.definitions.deliveries.waiting_files`), runs the
retailer's ingest job over them and prints each delivery's verdict; then one run takes every
accepted delivery on to silver and gold, and the demo's report closes. What the ledger already
holds is never taken in again, so a second call adds nothing. Blocked deliveries are an outcome,
not an error: the exit status is 1 only when the pipeline itself failed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from contextlib import nullcontext
from pathlib import Path

from checks.engines import DEFAULT_ENGINE, ENGINES
from shelfguard.cli import UsageError
from shelfguard.settings import DataHome


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--retailer", action="extend", nargs="+", metavar="CODE",
                        help="only these retailers (default: every active retailer contract)")
    parser.add_argument("--until-idle", action="store_true",
                        help="after a pass, look again and keep going until nothing is waiting "
                             "(files that land meanwhile, pulls that return more rows)")
    parser.add_argument("--demo-sources", action="store_true",
                        help="serve the demo's retailer databases and APIs from the data home, as "
                             "`shelfguard demo` does (otherwise a pull needs the contract's variables)")
    parser.add_argument("--engine", default=DEFAULT_ENGINE, choices=sorted(ENGINES), help="gate engine")


def run(args: argparse.Namespace) -> int:
    from shelfguard.commands.demo import lint_contracts

    home = DataHome.from_env().ensure()
    if not lint_contracts():
        return 1
    from assets.plan import build_plan
    from shelfguard.settings import CONTRACTS_DIR

    plan = build_plan(CONTRACTS_DIR)
    codes = _selected(plan, args.retailer)
    from shelfguard.dagster_home import open_instance
    from shelfguard.demo_sources import demo_sources

    sources = demo_sources(home, retailers=codes) if args.demo_sources else nullcontext()
    with sources, open_instance(home) as instance:
        errors = process(home, plan, codes, instance=instance, engine=args.engine, until_idle=args.until_idle)
    from shelfguard.demo_report import print_pipeline_report

    print_pipeline_report(home, first_step=4)
    if errors:
        print("\nThe pipeline itself failed:", *errors, sep="\n  ", file=sys.stderr)
        return 1
    return 0


def _selected(plan, requested: list[str] | None) -> list[str]:
    from assets.plan import retailer_code

    active = [retailer_code(c) for c in plan.retailers]
    unknown = sorted(set(requested or []) - set(active))
    if unknown:
        raise UsageError(f"unknown retailer {', '.join(unknown)}; active retailers: {', '.join(active)}")
    return [code for code in active if requested is None or code in requested]


def missing_pull_settings(contract) -> list[str]:
    """The environment variables a pull retailer's contract names that are not set."""
    from assets.plan import server_options

    options = server_options(contract)
    names = [str(options[o]) for o in ("urlEnv", "tokenEnv") if options.get(o)]
    return [name for name in names if not os.environ.get(name)]


def process(home: DataHome, plan, codes: list[str], *, instance, engine: str, until_idle: bool) -> list[str]:
    """Bronze per retailer, then silver and gold; again while `until_idle` and a pass took something in."""
    from shelfguard.pipeline import downstream_behind, run_downstream, step_errors, warm_up_engines

    warm_up_engines([_key(node) for code in codes for node in plan.retailer_nodes(code, "bronze")], engine)
    errors: list[str] = []
    step = 2
    while True:
        print(f"{step}. bronze: deliveries waiting per retailer", flush=True)
        taken = 0
        for code in codes:
            count, failed = ingest(home, plan, code, instance=instance, engine=engine)
            taken += count
            errors.extend(failed)
        behind = codes if taken else downstream_behind(home, codes)
        if not behind:
            print(f"{step + 1}. silver and gold: up to date, nothing to promote", flush=True)
            return errors
        print(f"{step + 1}. silver and gold for {', '.join(behind)} …", flush=True)
        started = time.monotonic()
        downstream = run_downstream(home, behind, engine=engine, instance=instance, log_level="CRITICAL")
        failed = step_errors(downstream)
        errors.extend(failed)
        state = "failed" if failed else "done"
        print(f"   {state} in {time.monotonic() - started:.1f} s", flush=True)
        if not until_idle or not taken or errors:
            return errors
        step = 2
        print("   looking again (--until-idle)", flush=True)


def _key(node):
    import dagster as dg

    return dg.AssetKey(list(node.key))


def ingest(home: DataHome, plan, code: str, *, instance, engine: str) -> tuple[int, list[str]]:
    """One retailer's waiting deliveries through its ingest job; prints each one's verdict."""
    import polars as pl

    from assets.bronze.ledger import HELD_BACK_VERDICTS, read_ledger
    from assets.definitions.deliveries import waiting_files
    from assets.intake import LANDING, channel_of
    from assets.plan import retailer_code
    from shelfguard.pipeline import ingest_retailer, step_errors

    contract = next(c for c in plan.retailers if retailer_code(c) == code)
    nodes = plan.retailer_nodes(code, "bronze")
    channel = channel_of(contract)
    before = read_ledger(home.warehouse)
    if channel == LANDING:
        files: dict[str, list[Path]] = {}
        for landed in waiting_files(home, contract, nodes, before, {}):
            files.setdefault(landed.object_name, []).append(landed.path)
        if not files:
            print(f"   {code:<8} nothing waiting", flush=True)
            return 0, []
        waiting = ", ".join(f"{name} {len(paths)}" for name, paths in files.items())
        print(f"   {code:<8} {sum(map(len, files.values()))} file(s) waiting ({waiting}) …", flush=True)
    else:
        missing = missing_pull_settings(contract)
        if missing:
            print(f"   {code:<8} skipped: pulling its {channel} needs {' and '.join(missing)} "
                  "(or --demo-sources for the demo's)", flush=True)
            return 0, []
        files = {node.object: [] for node in nodes}
        print(f"   {code:<8} pulling {', '.join(files)} from its {channel} …", flush=True)
    started = time.monotonic()
    result = ingest_retailer(home, code, files, engine=engine, instance=instance, log_level="CRITICAL")
    after = read_ledger(home.warehouse)
    new = after.join(before.select("delivery_id", "attempt"), on=["delivery_id", "attempt"], how="anti")
    for entry in new.sort("ingested_at", "delivery_id").iter_rows(named=True):
        source = Path(entry["source"]).name if entry["channel"] == LANDING else entry["channel"]
        held = entry["verdict"] in HELD_BACK_VERDICTS
        accepted = f"{entry['rows_published']:,} accepted, {entry['rows_quarantined']:,} quarantined"
        detail = (entry["blocking_rules"] or entry["reason"][:80]) if held else accepted
        print(f"   {'':<8} {entry['object']:<14} {source:<32} {entry['verdict']:<10} "
              f"{entry['rows']:>8,} rows  {detail}", flush=True)
    if channel == LANDING:
        repeated = sum(map(len, files.values())) - new.filter(pl.col("channel") == LANDING).height
        if repeated > 0:
            print(f"   {'':<8} {repeated} file(s) with the same content as another delivery: taken in once")
    elif new.is_empty():
        print(f"   {'':<8} nothing new", flush=True)
    print(f"   {'':<8} {new.height} deliveries in {time.monotonic() - started:.1f} s", flush=True)
    return new.height, step_errors([result])
