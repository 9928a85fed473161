"""Gate benchmark: every engine against a hand-written single-pass Polars floor, on N rows of POS sales.

    uv run python benchmarks/gate_bench.py [--rows 2000000] [--engines pandera,soda,gx] [--seed 7]
                                           [--format csv|parquet|delta|csv,parquet,...|all] [--keep DIR]

It writes a CSV of N sales lines (about 1 % of them faulty: bad GTINs and GLNs, unknown currencies
and store formats, duplicate lines and transaction ids) in chunks, so `--rows 10000000` fits in
memory, and judges it with `pos_sales_bench.odcs.yaml` (25 rules). With `--format parquet` or
`delta` the same rows (every column text, as the CSV is read) are written as a Parquet file or a
Delta table and everything below reads that instead (several formats: each in turn, in one run,
then a summary line per format). Each measurement runs in a fresh process so
that its peak RSS is its own:
- the floor: the same rules written by hand as one Polars `select` over the batch (duplicates: the
  members of duplicated keys, then the kept row chosen among those few rows), plus the split into
  published and quarantined rows;
- each engine through `checks.gate.run_gate` on the same in-memory batch (read time excluded);
- the whole `shelfguard check --engine E` process for each engine, which scans the file and streams
  it (pandera: Polars' streaming engine; Soda: into a DuckDB table that spills to disk; GX: chunk by
  chunk), versus a process that only reads the file and runs the floor (each run `--repeat` times
  in turns, the best time counts). Its peak RSS shows what a file larger than memory would cost.
- start-up: `shelfguard check` on a 10-row file of the same format against `python -c "import
  polars"` (the best of `--repeat` runs each);
- contract load: `checks.contract.load_contract` of a generated 3,000-line nested contract
  (`large_contract.py`) in a fresh process, with the libraries it loads on first use.
Start-up and contract load are also given in CPU seconds, which a loaded machine inflates far less
than wall time.
Every engine's numbers are compared with the floor's before any time is reported.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import psutil

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CONTRACT = HERE / "pos_sales_bench.odcs.yaml"
OBJECT = "pos_sales"
CHUNK_ROWS = 1_000_000
from large_contract import large_contract_text  # noqa: E402  (this folder, run as a script)

TARGETS = {"pandera": 1.3, "soda": 3.0, "check": 1.5}
STARTUP_TARGET_SECONDS = 1.0
"""`shelfguard check` on 10 rows at most this much above `python -c "import polars"`."""
CONTRACT_LOAD_TARGET_SECONDS = 0.5
CONTRACT_LINES = 3_000
FORMATS_WRITTEN = ("csv", "parquet", "delta")

FAULTS = {  # share of rows per fault kind, about 1 % in all
    "bad_gtin": 0.003, "bad_gln": 0.002, "bad_currency": 0.0015, "bad_store_format": 0.001,
    "duplicate_line": 0.0015, "duplicate_transaction": 0.001,
}
STORES = 2_000
PRODUCTS = 50_000
FORMATS = ["SUPERCENTER", "MARKET", "EXPRESS"]
COLUMNS = ["transaction_id", "sale_date", "store_gln", "gtin", "product_id", "description", "units_sold",
           "net_sales", "currency", "store_format", "on_hand_units", "promo_flag", "updated_at"]


# -- data ------------------------------------------------------------------------------------------


def write_sales_csv(path: Path, rows: int, seed: int) -> None:
    """N rows of POS sales lines with about 1 % faults, written chunk by chunk."""
    with path.open("wb") as out:
        for number, chunk in enumerate(sales_chunks(rows, seed)):
            chunk.write_csv(out, include_header=number == 0)


def sales_chunks(rows: int, seed: int) -> Iterator[pl.DataFrame]:
    """The N rows (every column text) in chunks of `CHUNK_ROWS`, the same for a seed however written."""
    rng = np.random.default_rng(seed)
    store_gln = pl.Series(np.char.mod("%013d", 4_012_345_000_000 + np.arange(STORES) * 7_919))
    store_format = pl.Series(np.array(FORMATS)[rng.integers(0, len(FORMATS), STORES)])
    gtin = pl.Series(np.char.mod("%013d", 5_000_000_000_000 + np.arange(PRODUCTS) * 104_729))
    for offset in range(0, rows, CHUNK_ROWS):
        yield _sales_chunk(rng, offset, min(CHUNK_ROWS, rows - offset), store_gln, store_format, gtin)


def _sales_chunk(rng: np.random.Generator, offset: int, n: int, store_gln: pl.Series,
                 store_format: pl.Series, gtin: pl.Series) -> pl.DataFrame:
    """One chunk of sales lines; a faulty line gets one fault, a duplicate copies another line's key."""
    c = pl.col
    draws = pl.DataFrame({
        "row": np.arange(offset, offset + n), "store": rng.integers(0, STORES, n),
        "product": rng.integers(0, PRODUCTS, n), "units": rng.integers(1, 13, n),
        "day": rng.integers(0, 28, n),
        "second": rng.integers(0, 86_400, n), "price_cents": rng.integers(99, 2_000, n),
        "on_hand": rng.integers(0, 500, n), "on_hand_missing": rng.random(n) < 0.2,
        "promo": rng.random(n) < 0.1, "description_roll": rng.random(n), "source": rng.integers(0, n, n),
        "fault": rng.choice([*FAULTS, "none"], n, p=[*FAULTS.values(), 1 - sum(FAULTS.values())]),
    })
    sale_date = pl.date(2024, 1, 1) + pl.duration(days=c("day"))
    roll = c("description_roll")
    sales = draws.select(
        transaction_id=pl.lit("T") + c("row").cast(pl.String).str.zfill(10),
        sale_date=sale_date.dt.strftime("%Y-%m-%d"),
        store_gln=store_gln.gather(draws["store"]),
        gtin=gtin.gather(draws["product"]),
        product_id=pl.lit("P") + c("product").cast(pl.String),
        description=pl.when(roll < 0.01).then(None).when(roll < 0.02).then(pl.lit(""))
        .when(roll < 0.03).then(pl.lit("N/A")).otherwise(pl.lit("Product ") + c("product").cast(pl.String)),
        units_sold=c("units").cast(pl.String),
        net_sales=(c("units") * c("price_cents") / 100).cast(pl.String),
        currency=pl.lit("USD"),
        store_format=store_format.gather(draws["store"]),
        on_hand_units=pl.when(c("on_hand_missing")).then(None).otherwise(c("on_hand").cast(pl.String)),
        promo_flag=pl.when(c("promo")).then(pl.lit("true")).otherwise(pl.lit("false")),
        updated_at=(sale_date.cast(pl.Datetime) + pl.duration(days=1, seconds=c("second")))
        .dt.strftime("%Y-%m-%d %H:%M:%S"),
        fault=c("fault"), source=c("source"),
    )
    copied = ["transaction_id", "sale_date", "store_gln", "gtin"]
    sales = sales.with_columns(sales.select(pl.col(copied).gather(c("source")).name.prefix("source_")))

    def fault(kind: str) -> pl.Expr:
        return c("fault") == kind

    def faulted(column: str, kind: str, value: pl.Expr) -> pl.Expr:
        return pl.when(fault(kind)).then(value).otherwise(c(column)).alias(column)

    key_copied = {name: faulted(name, "duplicate_line", c(f"source_{name}"))
                  for name in ("sale_date", "store_gln", "gtin")}
    return sales.with_columns(
        faulted("transaction_id", "duplicate_transaction", c("source_transaction_id")),
        key_copied["sale_date"],
        pl.when(fault("bad_gln")).then(c("store_gln").str.slice(1)).otherwise(key_copied["store_gln"])
        .alias("store_gln"),
        pl.when(fault("bad_gtin")).then(pl.lit("ABC") + c("gtin").str.slice(3)).otherwise(key_copied["gtin"])
        .alias("gtin"),
        faulted("currency", "bad_currency", pl.lit("usd")),
        faulted("store_format", "bad_store_format", pl.lit("KIOSK")),
    ).select(COLUMNS)


def read_batch(path: Path) -> pl.DataFrame:
    """The file as delivered: every column text, an empty field null (as the gate reads CSV); a
    Parquet file or a Delta table (a folder) as written by `write_data`."""
    if path.is_dir():
        return pl.read_delta(str(path))
    if path.suffix == ".parquet":
        return pl.read_parquet(path)
    return pl.read_csv(path, infer_schema=False)


def write_data(folder: Path, rows: int, seed: int, data_format: str) -> Path:
    """The benchmark's input in `data_format`: the CSV, or its rows as Parquet or a Delta table."""
    csv = folder / f"pos_sales_{rows}_{seed}.csv"
    write_sales_csv(csv, rows, seed)
    if data_format == "csv":
        return csv
    target = csv.with_suffix(".parquet" if data_format == "parquet" else "")
    frame = pl.scan_csv(csv, infer_schema=False)
    if data_format == "parquet":
        frame.sink_parquet(target)
    else:
        frame.collect().write_delta(str(target))
    csv.unlink()
    return target


def data_size_mb(path: Path) -> float:
    files = path.rglob("*") if path.is_dir() else [path]
    return sum(f.stat().st_size for f in files if f.is_file()) / 1e6


# -- the floor: the benchmark contract's rules, written by hand as one Polars pass -----------------

DATE = r"[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
TIMESTAMP = DATE + r" (?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
INTEGER = r"[+-]?[0-9]+"
NUMBER = r"[+-]?(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"


def floor(batch: pl.DataFrame) -> dict[str, Any]:
    """Every rule's count and the published/quarantined split: one pass over the batch, then the
    kept row of each duplicate group chosen among the few rows of duplicated keys."""
    c = pl.col

    def mismatch(column: str, pattern: str) -> pl.Expr:
        return c(column).is_not_null() & ~c(column).str.contains(f"^(?:{pattern})$")

    def not_in(column: str, values: list[str]) -> pl.Expr:
        return c(column).is_not_null() & ~c(column).is_in(values)

    updated_at = pl.when(c("updated_at").str.contains(f"^(?:{TIMESTAMP})$")).then(
        c("updated_at").str.strptime(pl.Datetime("us"), "%Y-%m-%d %H:%M:%S", strict=False))
    sale_date = c("sale_date").str.strptime(pl.Datetime("us"), "%Y-%m-%d", strict=False)
    duplicate_keys = {"transaction_id_duplicateValues": ["transaction_id"],
                      "pos_sales_duplicate_lines": ["sale_date", "store_gln", "gtin"]}
    quarantine_rules = {
        "transaction_id_nullValues": c("transaction_id").is_null(),
        "store_gln_format": mismatch("store_gln", "[0-9]{13}"),
        "gtin_format": mismatch("gtin", "[0-9]{8}|[0-9]{12,14}"),
        "currency_known": not_in("currency", ["USD", "CAD", "MXN"]),
        "store_format_known": not_in("store_format", FORMATS),
        **{name: pl.struct(keys).is_duplicated() for name, keys in duplicate_keys.items()},
    }
    other_rules = {
        "sale_date_type": mismatch("sale_date", DATE) | (c("sale_date").is_not_null() & sale_date.is_null()),
        "units_sold_type": mismatch("units_sold", INTEGER),
        "net_sales_type": mismatch("net_sales", NUMBER),
        "on_hand_units_type": mismatch("on_hand_units", INTEGER),
        "promo_flag_type": mismatch("promo_flag", "(?i:true|false|1|0)"),
        "updated_at_type": c("updated_at").is_not_null() & updated_at.is_null(),
        "description_missing": c("description").is_null() | c("description").is_in(["", "N/A"]),
        "on_hand_units_reported": c("on_hand_units").is_null(),
        **{f"{name}_nullValues": c(name).is_null() for name in (
            "sale_date", "store_gln", "product_id", "units_sold", "net_sales", "currency", "updated_at")},
    }
    rules = {**quarantine_rules, **other_rules}
    numbered = batch.with_row_index("__row")
    flags = numbered.lazy().select("__row", **{name: rule.fill_null(False) for name, rule in rules.items()})
    flags = flags.collect()
    for name, keys in duplicate_keys.items():  # of each group of equal keys, the latest row is kept
        members = numbered.filter(flags.get_column(name))
        kept = (members.sort([updated_at, c("__row")], descending=[True, False], nulls_last=True)
                .filter(pl.struct(keys).is_first_distinct()).get_column("__row"))
        flags = flags.with_columns(c(name) & ~c("__row").is_in(kept.implode()))
    counts = flags.select(pl.len().alias("pos_sales_not_empty"), *(c(name).sum() for name in rules))
    quarantined = flags.select(pl.any_horizontal(list(quarantine_rules))).to_series()
    quarantined_rows, published_rows = batch.filter(quarantined), batch.filter(~quarantined)
    return {"counts": counts.row(0, named=True), "quarantined": quarantined_rows.height,
            "published": published_rows.height}


# -- one measurement per process --------------------------------------------------------------------


def worker(kind: str, data: Path, repeat: int) -> dict[str, Any]:
    """Runs in a fresh process: read the file, warm up on 1,000 rows (imports, GX's context: paid
    once per process, not per batch), then time the floor or one engine through the gate; the best
    of `repeat` runs, since other load on the machine only ever adds time."""
    started = time.perf_counter()
    batch = read_batch(data)
    read_seconds = time.perf_counter() - started
    measure = floor if kind == "floor" else partial(run_engine, kind)
    started = time.perf_counter()
    measure(batch.head(1_000))
    startup_seconds = time.perf_counter() - started
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = measure(batch)
        timings.append(time.perf_counter() - started)
    return {"kind": kind, "rows": batch.height, "read_seconds": read_seconds,
            "startup_seconds": startup_seconds, "seconds": min(timings), "timings": timings, **result}


def read_and_floor(data: Path) -> None:
    """What `shelfguard check` is compared with: a process that reads the file and runs the floor."""
    floor(read_batch(data))


def run_engine(engine: str, batch: pl.DataFrame) -> dict[str, Any]:
    from checks.contract import load_contract
    from checks.gate import run_gate

    result = run_gate(load_contract(CONTRACT), OBJECT, batch, engine=engine).result
    counts = {rule.id: rule.value if rule.metric == "rowCount" else rule.violating_rows
              for rule in result.rules if rule.value is not None}
    return {"counts": counts, "quarantined": result.rows_quarantined, "published": result.rows_published,
            "verdict": result.verdict.value}


def spawn(argv: list[str]) -> tuple[float, float, int, str]:
    """Run a process: its wall time, the peak RSS in MB of it and its children (the GX worker, ADR
    0013), exit status and stdout (`run_process`)."""
    run = run_process(argv)
    return run["seconds"], run["peak_rss_mb"], run["status"], run["stdout"]


def run_process(argv: list[str]) -> dict[str, Any]:
    """Run a process: wall seconds, CPU seconds (user + system, with the children it waited for:
    the figure a loaded machine inflates least), peak RSS in MB of it and its children, exit status
    and stdout. wait4 gives the peak of the largest of them exactly; their sum is sampled every
    50 ms, and the larger of the two counts."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(argv, stdout=out, stderr=err, cwd=REPO)
        tree_peak = 0
        while True:
            ended, status, usage = os.wait4(process.pid, os.WNOHANG)
            if ended:
                break
            tree_peak = max(tree_peak, tree_rss(process.pid))
            time.sleep(0.05)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if process.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(argv[:4])} failed ({process.returncode}): {stderr[-2000:]}")
    return {"seconds": seconds, "cpu_seconds": usage.ru_utime + usage.ru_stime,
            "peak_rss_mb": max(tree_peak / 2**20, usage.ru_maxrss / 1024), "status": process.returncode,
            "stdout": stdout}


def tree_rss(pid: int) -> int:
    """Resident bytes of a process and its descendants now (0 once it has ended)."""
    try:
        root = psutil.Process(pid)
        return sum(p.memory_info().rss for p in [root, *root.children(recursive=True)])
    except psutil.Error:
        return 0


def this_script(*arguments: str) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), *arguments]


def measure_in_process(kind: str, data: Path, repeat: int) -> dict[str, Any]:
    _, rss, _, stdout = spawn(this_script("--worker", kind, "--data", str(data), "--repeat", str(repeat)))
    return {**json.loads(stdout.strip().splitlines()[-1]), "peak_rss_mb": rss}


def check_process(data: Path, repeat: int, engine: str) -> dict[str, Any]:
    """The whole `shelfguard check --engine ENGINE` process (as CI runs it: the file is scanned and
    streamed, never loaded whole), and for the default engine the read-and-floor process, run in
    turns `repeat` times; the best time of each, and its peak RSS."""
    command = check_command(data, engine)
    checks, floors = [], []
    for _ in range(repeat):
        checks.append(spawn(command))
        if engine == "pandera":
            floors.append(spawn(this_script("--read-and-floor", "--data", str(data))))
    seconds, rss, status, stdout = min(checks)
    found = {"engine": engine, "seconds": seconds, "peak_rss_mb": rss, "exit_status": status,
             "verdict": json.loads(stdout)["verdict"]}
    if floors:
        found["floor_seconds"], found["floor_peak_rss_mb"], _, _ = min(floors)
    return found


def check_command(data: Path, engine: str) -> list[str]:
    return [str(Path(sys.executable).with_name("shelfguard")), "check", "--contract", str(CONTRACT),
            "--data", str(data), "--object", OBJECT, "--format", "json", "--engine", engine]


def startup(folder: Path, data_format: str, repeat: int) -> dict[str, float]:
    """`shelfguard check` (default engine) on a 10-row file of the format against a process that
    only imports Polars, in turns; the best of each."""
    small_folder = folder / "startup"
    small_folder.mkdir(exist_ok=True)
    small = write_data(small_folder, 10, 7, data_format)
    checks, imports = [], []
    for _ in range(repeat):
        checks.append(run_process(check_command(small, "pandera")))
        imports.append(run_process([sys.executable, "-c", "import polars"]))
    return {"check_seconds": min(c["seconds"] for c in checks),
            "import_polars_seconds": min(i["seconds"] for i in imports),
            "check_cpu_seconds": min(c["cpu_seconds"] for c in checks),
            "import_polars_cpu_seconds": min(i["cpu_seconds"] for i in imports)}


def contract_load(folder: Path, repeat: int) -> dict[str, float]:
    """The first `load_contract` of a generated 3,000-line nested contract in a fresh process
    (the libraries it loads on first use included, `checks.contract` imported before); the best
    of `repeat` processes, wall and CPU seconds."""
    path = folder / "large_contract.odcs.yaml"
    path.write_text(large_contract_text(CONTRACT_LINES))
    loads = [json.loads(spawn(this_script("--load-contract", "--data", str(path)))[3]) for _ in range(repeat)]
    return {"lines": path.read_text().count("\n"), "seconds": min(load["seconds"] for load in loads),
            "cpu_seconds": min(load["cpu_seconds"] for load in loads)}


def load_contract_once(path: Path) -> dict[str, float]:
    from checks.contract import load_contract

    started, cpu_started = time.perf_counter(), time.process_time()
    load_contract(path)
    return {"seconds": time.perf_counter() - started, "cpu_seconds": time.process_time() - cpu_started}


def differences(run: dict[str, Any], reference: dict[str, Any]) -> list[str]:
    """Where an engine's numbers differ from the floor's (there must be none)."""
    found = [f"{rule}: {run['counts'].get(rule)} != floor {count}"
             for rule, count in reference["counts"].items() if run["counts"].get(rule) != count]
    if run["quarantined"] != reference["quarantined"]:
        found.append(f"quarantined rows: {run['quarantined']} != floor {reference['quarantined']}")
    return found


def report(rows: int, data_format: str, runs: dict[str, dict[str, Any]], checks: list[dict[str, Any]],
           started: dict[str, float], loaded: dict[str, float]) -> str:
    """The figures as Markdown tables (what docs/performance.md shows)."""
    floor_seconds = runs["floor"]["seconds"]
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    lines = [f"{rows:,} rows, {len(runs['floor']['counts'])} rule counts compared, {os.cpu_count()} cores "
             f"(load average at the end {load}), best of {len(runs['floor']['timings'])} runs; reading the "
             f"{data_format} (all text): {runs['floor']['read_seconds']:.2f} s",
             "",
             "| run | start-up s | seconds | rows/s | peak RSS MB | x floor | target |",
             "|---|---:|---:|---:|---:|---:|---|"]
    for kind, run in runs.items():
        ratio = run["seconds"] / floor_seconds
        target = TARGETS.get(kind)
        judged = "" if target is None else f"<= {target} {'met' if ratio <= target else 'MISSED'}"
        lines.append(f"| {kind} | {run['startup_seconds']:.2f} | {run['seconds']:.2f} | "
                     f"{rows / run['seconds']:,.0f} | {run['peak_rss_mb']:,.0f} | {ratio:.2f} | {judged} |")
    if checks:
        lines += ["", "The whole `shelfguard check` process per engine, the file scanned and streamed (read "
                  "time included):", "",
                  "| process | seconds | rows/s | peak RSS MB | x read + floor | target |",
                  "|---|---:|---:|---:|---:|---|"]
        default = next((c for c in checks if "floor_seconds" in c), None)
        for check in checks:
            ratio, judged = "", ""
            if default is not None:
                ratio = f"{check['seconds'] / default['floor_seconds']:.2f}"
            if check is default:
                met = check["seconds"] / default["floor_seconds"] <= TARGETS["check"]
                judged = f"<= {TARGETS['check']} {'met' if met else 'MISSED'}"
            lines.append(f"| `check --engine {check['engine']}` (verdict {check['verdict']}) | "
                         f"{check['seconds']:.2f} | {rows / check['seconds']:,.0f} | "
                         f"{check['peak_rss_mb']:,.0f} | {ratio} | {judged} |")
        if default is not None:
            lines.append(f"| read + floor process | {default['floor_seconds']:.2f} | "
                         f"{rows / default['floor_seconds']:,.0f} | {default['floor_peak_rss_mb']:,.0f} | "
                         "1.00 | |")
    above = started["check_seconds"] - started["import_polars_seconds"]
    lines += ["", "| start-up and contract load | seconds | target |", "|---|---:|---|",
              f"| `check` on 10 rows ({data_format}) | {started['check_seconds']:.2f} | |",
              f"| `python -c \"import polars\"` | {started['import_polars_seconds']:.2f} | |",
              f"| `check` above `import polars` | {above:.2f} | <= {STARTUP_TARGET_SECONDS} "
              f"{'met' if above <= STARTUP_TARGET_SECONDS else 'MISSED'} |",
              f"| CPU: `check` on 10 rows, `import polars` | {started['check_cpu_seconds']:.2f}, "
              f"{started['import_polars_cpu_seconds']:.2f} | |",
              f"| load a {loaded['lines']:,}-line nested contract | {loaded['seconds']:.2f} | "
              f"<= {CONTRACT_LOAD_TARGET_SECONDS} "
              f"{'met' if loaded['seconds'] <= CONTRACT_LOAD_TARGET_SECONDS else 'MISSED'} |"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--engines", default="pandera,soda,gx")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per engine; the best counts")
    parser.add_argument("--format", dest="data_formats", default="csv",
                        help="the input every run reads: csv, parquet or delta (the same rows), several "
                        "separated by commas, or all; each is measured in turn in this one run")
    parser.add_argument("--keep", type=Path, help="write the data into this folder and keep it")
    parser.add_argument("--no-check", action="store_true", help="skip the `shelfguard check` process run")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--read-and-floor", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--load-contract", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.load_contract:
        print(json.dumps(load_contract_once(args.data)))
        return 0
    if args.worker:
        print(json.dumps(worker(args.worker, args.data, args.repeat)))
        return 0
    if args.read_and_floor:
        read_and_floor(args.data)
        return 0
    formats = FORMATS_WRITTEN if args.data_formats == "all" else \
        [name.strip() for name in args.data_formats.split(",") if name.strip()]
    unknown = [name for name in formats if name not in FORMATS_WRITTEN]
    if unknown:
        parser.error(f"unknown --format {', '.join(unknown)}; choose from {', '.join(FORMATS_WRITTEN)}, all")
    os.environ["SODA_CORE_TELEMETRY_ENABLED"] = "false"
    with tempfile.TemporaryDirectory(prefix="gate_bench_") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        loaded = contract_load(folder, args.repeat)
        measured = {}
        for data_format in formats:
            measured[data_format] = measure_format(folder / data_format, data_format, args)
            if measured[data_format] is None:
                return 1
            print(report(args.rows, data_format, *measured[data_format], loaded), flush=True)
        print(summary(args.rows, measured, loaded))
    return 0


def measure_format(folder: Path, data_format: str, args: argparse.Namespace) -> tuple[Any, ...] | None:
    """Every measurement of one format: the in-memory runs, the `check` processes and start-up
    (None when an engine disagrees with the floor)."""
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    data = write_data(folder, args.rows, args.seed, data_format)
    print(f"wrote {data_size_mb(data):,.0f} MB of {data_format} in {time.perf_counter() - started:.1f} s",
          flush=True)
    runs = {"floor": measure_in_process("floor", data, args.repeat)}
    for engine in [name.strip() for name in args.engines.split(",") if name.strip()]:
        runs[engine] = measure_in_process(engine, data, args.repeat)
        found = differences(runs[engine], runs["floor"])
        if found:
            print(f"{engine} disagrees with the floor:\n  " + "\n  ".join(found), file=sys.stderr)
            return None
        print(f"{engine}: {runs[engine]['seconds']:.2f} s, the same numbers as the floor", flush=True)
    engines = [name for name in runs if name != "floor"]
    checks = [] if args.no_check else [check_process(data, args.repeat, engine) for engine in engines]
    return runs, checks, startup(folder, data_format, args.repeat)


def summary(rows: int, measured: dict[str, tuple[Any, ...]], loaded: dict[str, float]) -> str:
    """One line per format: the default engine's `check` process against read + floor, start-up
    against `import polars`, and the contract load (measured once), each beside its target."""
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    lines = ["", f"Summary, {rows:,} rows (load average at the end {load}; contract load measured once):", "",
             "| format | `check` s | read + floor s | x | target <= 1.5 | `check` on 10 rows s | "
             "`import polars` s | above | target <= 1 s | CPU s: `check` on 10 rows, `import polars` |",
             "|---|---:|---:|---:|---|---:|---:|---:|---|---|"]
    for data_format, (_, checks, started) in measured.items():
        default = next((c for c in checks if "floor_seconds" in c), None)
        cells = ["", "", "", ""]
        if default is not None:
            ratio = default["seconds"] / default["floor_seconds"]
            cells = [f"{default['seconds']:.2f}", f"{default['floor_seconds']:.2f}", f"{ratio:.2f}",
                     "met" if ratio <= TARGETS["check"] else "MISSED"]
        above = started["check_seconds"] - started["import_polars_seconds"]
        lines.append(f"| {data_format} | {' | '.join(cells)} | {started['check_seconds']:.2f} | "
                     f"{started['import_polars_seconds']:.2f} | {above:.2f} | "
                     f"{'met' if above <= STARTUP_TARGET_SECONDS else 'MISSED'} | "
                     f"{started['check_cpu_seconds']:.2f}, {started['import_polars_cpu_seconds']:.2f} |")
    met = "met" if loaded["seconds"] <= CONTRACT_LOAD_TARGET_SECONDS else "MISSED"
    lines.append(f"\nLoad of a {loaded['lines']:,}-line nested contract: {loaded['seconds']:.2f} s "
                 f"(target <= {CONTRACT_LOAD_TARGET_SECONDS} s: {met}), {loaded['cpu_seconds']:.2f} s of CPU")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
