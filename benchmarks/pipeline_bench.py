"""Pipeline benchmark: landing → bronze → silver → gold for N retailers, then one more day for one.

    uv run python benchmarks/pipeline_bench.py --retailers 9 --days 90 --stores 50 --products 200
                                               [--seed 7] [--engine pandera] [--keep DIR]

1. Writes the demo deliveries (`shelfguard demo-data`, no faults) for the first N retailers.
2. Full load: the generated Dagster assets, bronze then silver and gold (`shelfguard.pipeline`),
   with the pull channels served locally (`shelfguard.demo_sources`) and Dagster's run storage in
   memory (`--instance persistent`: the data home's SQLite instance); wall time, fact rows per
   second (rows that reached gold `daily_store_fact` and `weekly_store_fact` from the retailers'
   deliveries) and the run's peak RSS, and that of the Great Expectations worker process beside it
   (ADR 0013).
3. Incremental: the same generator writes day D+1 for one landing retailer (deterministic, so the
   first D days come out identical), only the new file is dropped into its landing folder, and the
   pipeline runs for that retailer; wall time and its share of the full load.

Each step runs in a fresh process so that its peak RSS is its own. The clock covers the pipeline's
runs only: generation, the Dagster instance, the loaded definitions and the retailers' servers
exist before a run, as in a deployment. The peak RSS of the process tree is the run's process's
plus its Great Expectations worker's (each one's own high-water mark, so an upper bound).
Results are printed as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
INCREMENTAL_RETAILER = "nwg_us"
TARGETS = {"full_load_seconds": 600, "peak_rss_tree_gb": 2.0, "incremental_share": 0.02}


def _child(step: str, home: Path, engine: str, retailers: list[str], instance_kind: str) -> dict:
    """Run one pipeline step in this process (called in a fresh interpreter) and measure it."""
    import dagster as dg

    from assets.definitions import build_definitions
    from assets.storage import tables
    from checks.engines import gx_worker
    from shelfguard.dagster_home import open_instance
    from shelfguard.demo_sources import demo_sources
    from shelfguard.pipeline import run_pipeline
    from shelfguard.settings import CONTRACTS_DIR, DataHome

    data_home = DataHome(home).ensure()
    os.environ["SHELFGUARD_HOME"] = str(home)
    instance = dg.DagsterInstance.ephemeral() if instance_kind == "ephemeral" else open_instance(data_home)
    build_definitions(CONTRACTS_DIR)  # a code server has its definitions loaded before a run
    with demo_sources(data_home, retailers=retailers):
        started = time.perf_counter()
        run = run_pipeline(data_home, engine=engine, retailers=retailers, instance=instance)
        seconds = time.perf_counter() - started
    gx_worker.stop()  # waited for, so that its peak RSS is in RUSAGE_CHILDREN
    gold = {}
    for table in ("daily_store_fact", "weekly_store_fact", "prod_dim", "site_dim"):
        rows = tables.row_count(data_home.table("gold", table))
        if rows is not None:
            gold[table] = rows
    layers = {}
    for name, results in (("bronze", [run.bronze]), ("silver_gold", run.downstream)):
        spans = [instance.get_run_stats(result.run_id) for result in results]
        if spans:
            layers[name] = round(max(s.end_time for s in spans) - min(s.start_time for s in spans), 1)
    return {
        "step": step,
        "seconds": seconds,
        "layers_seconds": layers,
        "errors": run.errors(),
        "gold_rows": gold,
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "worker_peak_rss_bytes": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024,
    }


def _run_child(step: str, home: Path, args: argparse.Namespace, retailers: list[str]) -> dict:
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        step,
        "--home",
        str(home),
        "--engine",
        args.engine,
        "--instance",
        args.instance,
        "--only",
        ",".join(retailers),
    ]
    done = subprocess.run(
        command,
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, "DAGSTER_DISABLE_TELEMETRY": "1", "SODA_CORE_TELEMETRY_ENABLED": "false"},
    )
    if done.returncode != 0:
        raise SystemExit(f"{step} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _generate(home: Path, days: int, stores: int, products: int, seed: int, retailers: list[str]) -> float:
    started = time.perf_counter()
    command = [
        sys.executable,
        "-m",
        "shelfguard.cli",
        "demo-data",
        "--days",
        str(days),
        "--stores",
        str(stores),
        "--products",
        str(products),
        "--seed",
        str(seed),
        "--retailer",
        *retailers,
    ]
    done = subprocess.run(
        command, cwd=REPO, capture_output=True, text=True, env={**os.environ, "SHELFGUARD_HOME": str(home)}
    )
    if done.returncode != 0:
        raise SystemExit(f"demo-data failed:\n{done.stderr[-4000:]}")
    return time.perf_counter() - started


def _retailers(count: int) -> list[str]:
    from assets.plan import load_retailer_contracts, retailer_code
    from shelfguard.settings import CONTRACTS_DIR

    codes = [retailer_code(c) for c in load_retailer_contracts(CONTRACTS_DIR)]
    if not 1 <= count <= len(codes):
        raise SystemExit(f"--retailers must be between 1 and {len(codes)}")
    chosen = codes[:count]
    if INCREMENTAL_RETAILER not in chosen:
        chosen[-1] = INCREMENTAL_RETAILER
    return sorted(chosen)


def _new_day(home: Path, args: argparse.Namespace) -> list[str]:
    """Generate D+1 days for the incremental retailer elsewhere; drop only the files that are new."""
    with tempfile.TemporaryDirectory() as scratch:
        _generate(Path(scratch), args.days + 1, args.stores, args.products, args.seed, [INCREMENTAL_RETAILER])
        landing, generated = (
            home / "landing" / INCREMENTAL_RETAILER,
            Path(scratch) / "landing" / INCREMENTAL_RETAILER,
        )
        new = sorted(p.name for p in generated.iterdir() if not (landing / p.name).exists())
        for name in new:
            shutil.copy2(generated / name, landing / name)
    return new


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--retailers", type=int, default=9)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--stores", type=int, default=50)
    parser.add_argument("--products", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--engine", default="pandera")
    parser.add_argument(
        "--instance",
        choices=("ephemeral", "persistent"),
        default="ephemeral",
        help="Dagster instance: in memory (default) or the data home's SQLite one",
    )
    parser.add_argument("--keep", type=Path, help="data home to keep (default: a temporary folder)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--home", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--only", default="", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args.child, args.home, args.engine, args.only.split(","), args.instance)))
        return 0

    retailers = _retailers(args.retailers)
    home = args.keep or Path(tempfile.mkdtemp(prefix="shelfguard-bench-"))
    home.mkdir(parents=True, exist_ok=True)
    generation = _generate(home, args.days, args.stores, args.products, args.seed, retailers)
    full = _run_child("full", home, args, retailers)
    new_files = _new_day(home, args)
    incremental = _run_child("incremental", home, args, [INCREMENTAL_RETAILER])
    fact_rows = full["gold_rows"].get("daily_store_fact", 0) + full["gold_rows"].get("weekly_store_fact", 0)
    report = {
        "retailers": retailers,
        "days": args.days,
        "stores": args.stores,
        "products": args.products,
        "engine": args.engine,
        "instance": args.instance,
        "generation_seconds": round(generation, 1),
        "load_average_at_end": [round(x, 1) for x in os.getloadavg()],
        "full_load": {
            "seconds": round(full["seconds"], 1),
            "layers_seconds": full["layers_seconds"],
            "gold_rows": full["gold_rows"],
            "fact_rows_per_second": round(fact_rows / full["seconds"]),
            "peak_rss_gb": round(full["peak_rss_bytes"] / 1e9, 2),
            "gx_worker_peak_rss_gb": round(full["worker_peak_rss_bytes"] / 1e9, 2),
            "peak_rss_tree_gb": round((full["peak_rss_bytes"] + full["worker_peak_rss_bytes"]) / 1e9, 2),
            "errors": full["errors"],
        },
        "incremental": {
            "retailer": INCREMENTAL_RETAILER,
            "new_files": new_files,
            "seconds": round(incremental["seconds"], 1),
            "layers_seconds": incremental["layers_seconds"],
            "share_of_full_load": round(incremental["seconds"] / full["seconds"], 4),
            "gold_rows": incremental["gold_rows"],
            "peak_rss_gb": round(incremental["peak_rss_bytes"] / 1e9, 2),
            "gx_worker_peak_rss_gb": round(incremental["worker_peak_rss_bytes"] / 1e9, 2),
            "peak_rss_tree_gb": round(
                (incremental["peak_rss_bytes"] + incremental["worker_peak_rss_bytes"]) / 1e9, 2
            ),
            "errors": incremental["errors"],
        },
        "targets": TARGETS,
        "home": str(home),
    }
    print(json.dumps(report, indent=2))
    if not args.keep:
        shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
