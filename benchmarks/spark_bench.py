"""Spark benchmark: the gate on large Parquet files (pandera streamed vs spark), and one large
retailer end to end through its pipeline at two sizes.

    nice uv run python benchmarks/spark_bench.py [--gate-rows 10000000,50000000] [--engines pandera,spark]
        [--e2e-rows 10000000,50000000] [--retailer nwg_us] [--rows-per-day 500000] [--keep DIR]
        [--skip-gate] [--skip-e2e]

(a) Gate: N rows of POS sales (`gate_bench`'s generator and `pos_sales_bench.odcs.yaml`, 25 rules,
about 1 % faulty rows) written as one Parquet file, judged by the whole `shelfguard check --engine E`
process for each engine: pandera (Polars' streaming engine over a scan) and spark (Sail started in
that process; Spark reads the file itself). Seconds, rows/s and the peak RSS of the process tree
(Sail runs inside the process, so its memory is the process's; children are added up, sampled every
50 ms, and the largest process's exact high-water mark from wait4 is the floor). The engines'
numbers (every rule's violating rows, the quarantined rows, the verdict) are compared first.

(b) End to end: the retailer's demo deliveries (`shelfguard demo-data`, one day of
`--rows-per-day` sales lines, then the same day's file copied to earlier days with its dates moved,
so that N rows cost minutes to write, not the generator's hour) run through the pipeline steps the
Dagster assets run — bronze ingestion and gate, silver, gold MERGE — in a fresh process per
execution engine (`--e2e-engines`, the contract's `executionEngine` set per run; polars is the
baseline beside spark); wall time of the steps (the Spark session is started before the clock, as
a deployment's is), seconds per million delivered rows, peak RSS of the process tree, gold rows.

Targets (issue 25, a 2-core machine): 50 M rows end to end within 8 GB of process-tree RSS; the
cost per row at the larger size at most 1.2x the cost at the smaller. Data written under `--keep`
is reused by a later run with the same sizes and seed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
from gate_bench import CONTRACT, OBJECT, check_command, sales_chunks, spawn  # noqa: E402

RSS_TARGET_GB = 8.0
SCALING_TARGET = 1.2
"""Seconds per million rows at the larger size over the smaller one, at most."""


# -- (a) the gate --------------------------------------------------------------------------------


def write_sales_parquet(path: Path, rows: int, seed: int) -> None:
    """The benchmark's sales rows as one Parquet file (a row group per generated chunk)."""
    import pyarrow.parquet as pq

    partial = path.with_suffix(".partial")
    writer = None
    try:
        for chunk in sales_chunks(rows, seed):
            table = chunk.to_arrow()
            writer = writer or pq.ParquetWriter(partial, table.schema)
            writer.write_table(table)
    finally:
        if writer is not None:
            writer.close()
    partial.rename(path)


def gate_runs(folder: Path, sizes: list[int], engines: list[str], seed: int) -> list[dict[str, Any]]:
    """Each engine's `shelfguard check` process on each size; a run that cannot be made is reported
    with its reason (e.g. an engine this checkout does not have), never dropped."""
    runs = []
    for rows in sizes:
        data = folder / f"pos_sales_{rows}_{seed}.parquet"
        if not data.exists():
            started = time.perf_counter()
            write_sales_parquet(data, rows, seed)
            print(f"wrote {rows:,} rows ({data.stat().st_size / 1e6:,.0f} MB of Parquet) in "
                  f"{time.perf_counter() - started:.0f} s", flush=True)
        results = {}
        for engine in engines:
            try:
                seconds, rss_mb, status, stdout = spawn(check_command(data, engine))
            except RuntimeError as exc:
                reason = str(exc).rsplit("): ", 1)[-1].strip().splitlines()[-1]  # the process's last line
                runs.append({"rows": rows, "engine": engine, "not_measured": reason})
                print(f"{engine} on {rows:,} rows: not measured: {runs[-1]['not_measured']}", flush=True)
                continue
            results[engine] = json.loads(stdout)
            runs.append({"rows": rows, "engine": engine, "seconds": seconds, "peak_rss_mb": rss_mb,
                         "exit_status": status, "verdict": results[engine]["verdict"],
                         "rows_quarantined": results[engine]["rows_quarantined"]})
            print(f"{engine} on {rows:,} rows: {seconds:.1f} s, {rss_mb:,.0f} MB", flush=True)
        found = disagreements(results)
        if found:
            raise SystemExit(f"the engines disagree on {rows:,} rows:\n  " + "\n  ".join(found))
    return runs


def disagreements(results: dict[str, dict[str, Any]]) -> list[str]:
    """Where an engine's numbers differ from the first engine's (there must be none)."""
    if len(results) < 2:
        return []
    (first, reference), *others = results.items()
    expected = {r["id"]: (r["violating_rows"], r["outcome"]) for r in reference["rules"]}
    found = []
    for engine, result in others:
        for rule in result["rules"]:
            if expected.get(rule["id"]) != (rule["violating_rows"], rule["outcome"]):
                found.append(f"{rule['id']}: {engine} {rule['violating_rows']} ({rule['outcome']}) != "
                             f"{first} {expected.get(rule['id'])}")
        for key in ("verdict", "rows_quarantined", "rows_published"):
            if result[key] != reference[key]:
                found.append(f"{key}: {engine} {result[key]} != {first} {reference[key]}")
    return found


# -- (b) end to end --------------------------------------------------------------------------------


@dataclass(frozen=True)
class DailyFileLayout:
    """How a one-file-per-day retailer names its file and writes its dates (to copy a day)."""

    file_name: str
    """strftime pattern of the file name."""
    date_columns: dict[str, str]
    """column → strftime format of the dates and timestamps that move with the day."""


LAYOUTS = {
    "nwg_us": DailyFileLayout("nwg_pos_%Y%m%d.csv",
                              {"business_date": "%m/%d/%Y", "last_modified": "%Y-%m-%d %H:%M:%S"}),
}


def prepare_retailer(home: Path, retailer: str, rows: int, rows_per_day: int, seed: int) -> int:
    """The retailer's deliveries of `rows` sales lines: one generated day, copied to earlier days.
    Returns the rows written (whole days)."""
    layout = LAYOUTS[retailer]
    landing = home / "landing" / retailer
    days = max(1, round(rows / rows_per_day))
    marker = home / "prepared.json"
    if marker.exists() and json.loads(marker.read_text()) == {"retailer": retailer, "days": days,
                                                              "rows_per_day": rows_per_day, "seed": seed}:
        return sum(_data_rows(p) for p in landing.iterdir())
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    stores = max(1, int((rows_per_day / 2) ** 0.5))  # every store sells every product: stores x products
    products = max(1, rows_per_day // stores)
    generate = [sys.executable, "-m", "shelfguard.cli", "demo-data", "--days", "1", "--stores", str(stores),
                "--products", str(products), "--seed", str(seed), "--retailer", retailer]
    done = subprocess.run(generate, cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, "SHELFGUARD_HOME": str(home)})
    if done.returncode != 0:
        raise SystemExit(f"demo-data failed:\n{done.stderr[-3000:]}")
    *earlier, base = sorted(landing.iterdir())  # the newest generated day is the one copied
    for path in earlier:
        path.unlink()
    first_day = datetime.strptime(base.name, layout.file_name).date()
    frame = pl.read_csv(base, infer_schema=False)
    for back in range(1, days):
        day = first_day - timedelta(days=back)
        moved = frame.with_columns(
            pl.col(column).str.strptime(pl.Datetime, fmt).sub(pl.duration(days=back)).dt.strftime(fmt)
            for column, fmt in layout.date_columns.items())
        moved.write_csv(landing / day.strftime(layout.file_name))
    marker.write_text(json.dumps({"retailer": retailer, "days": days, "rows_per_day": rows_per_day,
                                  "seed": seed}))
    return frame.height * days


def _data_rows(path: Path) -> int:
    return pl.scan_csv(path, infer_schema=False).select(pl.len()).collect().item()


def e2e_child(home: Path, retailer: str, execution_engine: str) -> dict[str, Any]:
    """In a fresh process: the retailer's pipeline steps, bronze to gold, on its landed deliveries,
    with its contract's `executionEngine` set to `execution_engine` (the steps the Dagster assets
    run, without the orchestration around them)."""
    from assets.bronze.ingest import ingest
    from assets.gold.publish import publish_gold
    from assets.intake.landing import landing_delivery, landing_files
    from assets.plan import CANONICAL_OBJECTS, fed_objects
    from assets.silver.publish import publish_silver, read_master
    from assets.storage import tables
    from checks import spark_session
    from checks.contract import load_contract
    from shelfguard.settings import CONTRACTS_DIR, DataHome

    data_home = DataHome(home).ensure()
    os.environ["SHELFGUARD_HOME"] = str(home)
    contract = load_contract(CONTRACTS_DIR / "retailers" / retailer / f"{retailer}.odcs.yaml")
    custom = [p for p in contract.document.get("customProperties") or []
              if p.get("property") != "executionEngine"]
    contract.document["customProperties"] = [*custom, {"property": "executionEngine",
                                                       "value": execution_engine}]
    canonical = load_contract(CONTRACTS_DIR / "canonical" / "pos_canonical.odcs.yaml")
    master = load_contract(CONTRACTS_DIR / "canonical" / "corporate_master.odcs.yaml")
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    if execution_engine == "spark":
        spark_session.spark_session()  # started before the clock of the steps, as a deployment's is
    seconds["spark_start"] = time.perf_counter() - started
    started = time.perf_counter()
    for object_name in contract.object_names:
        for path in landing_files(data_home, contract, object_name):
            ingest(data_home, contract, landing_delivery(contract, object_name, path))
    seconds["bronze"] = time.perf_counter() - started
    started = time.perf_counter()
    master_data = read_master(data_home, master)
    silver = [publish_silver(data_home, contract, canonical, master, canonical_object,
                             master_data=master_data) for canonical_object in fed_objects(contract)]
    seconds["silver"] = time.perf_counter() - started
    started = time.perf_counter()
    gold = [outcome for canonical_object in CANONICAL_OBJECTS
            for outcome in publish_gold(data_home, canonical, canonical_object, [retailer])]
    seconds["gold"] = time.perf_counter() - started
    target = spark_session.current_target()
    rows = {t: tables.row_count(data_home.table("gold", t))
            for t in ("daily_store_fact", "weekly_store_fact")}
    return {"engine": execution_engine, "seconds": seconds["bronze"] + seconds["silver"] + seconds["gold"],
            "steps_seconds": {k: round(v, 1) for k, v in seconds.items()},
            "spark": target.address if target else None, "gold_rows": rows,
            "actions": sorted({f"{o.canonical_object}: {o.action}" for o in [*silver, *gold]})}


def e2e_runs(folder: Path, sizes: list[int], retailer: str, engines: list[str], rows_per_day: int,
             seed: int) -> list[dict]:
    """Each execution engine at each size, every run a fresh load of the same deliveries."""
    runs = []
    for rows in sizes:
        home = folder / f"e2e_{retailer}_{rows}"
        started = time.perf_counter()
        delivered = prepare_retailer(home, retailer, rows, rows_per_day, seed)
        print(f"{retailer}: {delivered:,} delivered rows ready in {time.perf_counter() - started:.0f} s",
              flush=True)
        for engine in engines:
            for state in ("warehouse", "bronze", "silver", "gold", "quarantine", "locks"):
                shutil.rmtree(home / state, ignore_errors=True)
            command = [sys.executable, str(Path(__file__).resolve()), "--e2e-child", "--home", str(home),
                       "--retailer", retailer, "--execution-engine", engine]
            _, rss_mb, _, stdout = spawn(command)
            found = json.loads(stdout.strip().splitlines()[-1])
            runs.append({"rows": delivered, "peak_rss_mb": rss_mb, **found})
            print(f"{retailer} on {engine}, {delivered:,} rows: {found['seconds']:.0f} s "
                  f"{found['steps_seconds']}, {rss_mb:,.0f} MB; {', '.join(found['actions'])}", flush=True)
    return runs


# -- report ------------------------------------------------------------------------------------------


def report(gates: list[dict], ends: list[dict], retailer: str) -> str:
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    lines = [f"{date.today().isoformat()}, {os.cpu_count()} cores, load average at the end {load}", ""]
    if gates:
        lines += ["Gate, the whole `shelfguard check` process on one Parquet file "
                  f"({OBJECT}, {CONTRACT.name}):", "",
                  "| rows | engine | seconds | rows/s | peak RSS MB (tree) | verdict |",
                  "|---:|---|---:|---:|---:|---|"]
        for run in gates:
            if "not_measured" in run:
                lines.append(f"| {run['rows']:,} | {run['engine']} | not measured: "
                             f"{run['not_measured']} | | | |")
            else:
                lines.append(f"| {run['rows']:,} | {run['engine']} | {run['seconds']:.1f} | "
                             f"{run['rows'] / run['seconds']:,.0f} | {run['peak_rss_mb']:,.0f} | "
                             f"{run['verdict']} |")
    if ends:
        lines += ["", f"End to end, {retailer} bronze → silver → gold (the pipeline steps, contract "
                  "`executionEngine` set per run):", "",
                  "| delivered rows | engine | seconds | bronze / silver / gold s | s per M rows | "
                  "peak RSS GB (tree) | gold daily rows |", "|---:|---|---:|---|---:|---:|---:|"]
        for run in ends:
            steps = run["steps_seconds"]
            per_million = run["seconds"] / (run["rows"] / 1e6)
            lines.append(f"| {run['rows']:,} | {run['engine']} | {run['seconds']:.0f} | "
                         f"{steps['bronze']:.0f} / {steps['silver']:.0f} / {steps['gold']:.0f} | "
                         f"{per_million:.1f} | {run['peak_rss_mb'] / 1024:.2f} | "
                         f"{run['gold_rows'].get('daily_store_fact')} |")
        for engine in dict.fromkeys(run["engine"] for run in ends):
            mine = [run for run in ends if run["engine"] == engine]
            if len(mine) < 2:
                continue
            small, large = mine[0], mine[-1]
            ratio = (large["seconds"] / large["rows"]) / (small["seconds"] / small["rows"])
            largest_gb = max(r["peak_rss_mb"] for r in mine) / 1024
            lines.append(f"\n{engine}: cost per row at {large['rows']:,} / at {small['rows']:,} rows: "
                         f"{ratio:.2f} "
                         f"(target <= {SCALING_TARGET}: {'met' if ratio <= SCALING_TARGET else 'MISSED'}); "
                         f"largest peak RSS {largest_gb:.2f} GB (target <= {RSS_TARGET_GB:.0f} GB: "
                         f"{'met' if largest_gb <= RSS_TARGET_GB else 'MISSED'})")
    return "\n".join(lines)


def sizes(text: str) -> list[int]:
    return [int(float(part)) for part in text.split(",") if part.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gate-rows", type=sizes, default=sizes("10000000,50000000"))
    parser.add_argument("--engines", default="pandera,spark")
    parser.add_argument("--e2e-rows", type=sizes, default=sizes("10000000,50000000"))
    parser.add_argument("--retailer", default="nwg_us", choices=sorted(LAYOUTS))
    parser.add_argument("--e2e-engines", default="polars,spark",
                        help="execution engines run end to end at each size (polars is the baseline)")
    parser.add_argument("--rows-per-day", type=int, default=500_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", type=Path, help="write the data into this folder, keep and reuse it")
    parser.add_argument("--skip-gate", action="store_true")
    parser.add_argument("--skip-e2e", action="store_true")
    parser.add_argument("--prepare-only", action="store_true",
                        help="write the data into --keep and stop (to measure later on a quieter machine)")
    parser.add_argument("--e2e-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--home", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--execution-engine", default="spark", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    os.environ.setdefault("SODA_CORE_TELEMETRY_ENABLED", "false")
    os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")
    if args.e2e_child:
        print(json.dumps(e2e_child(args.home, args.retailer, args.execution_engine)))
        return 0
    if args.prepare_only:
        if not args.keep:
            parser.error("--prepare-only needs --keep")
        args.keep.mkdir(parents=True, exist_ok=True)
        for rows in [] if args.skip_gate else args.gate_rows:
            data = args.keep / f"pos_sales_{rows}_{args.seed}.parquet"
            if not data.exists():
                write_sales_parquet(data, rows, args.seed)
        for rows in [] if args.skip_e2e else args.e2e_rows:
            prepare_retailer(args.keep / f"e2e_{args.retailer}_{rows}", args.retailer, rows,
                             args.rows_per_day, args.seed)
        return 0
    folder = args.keep or Path(tempfile.mkdtemp(prefix="spark_bench_"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        engines = [e.strip() for e in args.engines.split(",") if e.strip()]
        gates = [] if args.skip_gate else gate_runs(folder, args.gate_rows, engines, args.seed)
        e2e_engines = [e.strip() for e in args.e2e_engines.split(",") if e.strip()]
        ends = [] if args.skip_e2e else e2e_runs(folder, args.e2e_rows, args.retailer, e2e_engines,
                                                 args.rows_per_day, args.seed)
        print(report(gates, ends, args.retailer))
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
