"""`shelfguard check`: run a contract's gate on a data file and print the verdict.

The stable interface for CI and scripts (gate-semantics.md): exit 0 pass/warn/quarantine, 1 blocked,
2 the input could not be judged (unreadable or invalid contract, unreadable data, unknown object or
engine), with one line on stderr naming the file. `--format json` prints exactly one JSON document,
the `GateResult`. The data file is scanned, not loaded (except Excel and JSON arrays), so large files
are streamed through every engine.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from checks.engines import DEFAULT_ENGINE, ENGINES
from shelfguard.cli import UsageError

if TYPE_CHECKING:
    import polars as pl

    from checks.contract import Contract
    from checks.result import GateResult


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--contract", required=True, metavar="PATH", help="the ODCS contract (YAML)")
    parser.add_argument("--data", required=True, metavar="PATH",
                        help="CSV/text, Parquet, JSON (lines, one object or an array), .xlsx file, a Delta "
                        "table folder, or a glob (data/*.csv) or folder of such files (one batch)")
    parser.add_argument("--object", metavar="NAME",
                        help="the contract's schema object (needed when it has several)")
    parser.add_argument("--server", metavar="NAME",
                        help="the contract's server the data comes from, for its format hints (default: the "
                        "server the deliveryServer customProperty names, else the first)")
    parser.add_argument("--engine", default=DEFAULT_ENGINE, metavar="|".join(ENGINES),
                        help=f"engine for the library and schema rules (default: {DEFAULT_ENGINE})")
    parser.add_argument("--format", default="text", choices=["json", "text"],
                        help="output format (default: text)")
    parser.add_argument("--reference", action="append", default=[], metavar="OBJECT=PATH",
                        help="a table relationship rules point at (e.g. site_dim=site_dim.parquet); "
                        "repeatable; without it those rules are not evaluated (verdict at least warn)")


def run(args: argparse.Namespace) -> int:
    import polars as pl

    from checks.contract import ContractError, format_hints, load_contract
    from checks.engines import ENGINES, EngineUnavailableError
    from checks.errors import one_line
    from checks.gate import GateError, run_gate
    from checks.readers import (
        IN_PLACE,
        DataReadError,
        arrow_dataset,
        delta_version,
        detect_format,
        explain_scan_error,
    )
    from checks.result import Verdict

    try:
        contract = load_contract(args.contract)
    except ContractError as exc:
        raise UsageError(exc.location_message()) from None
    object_name = _object_name(contract, args.contract, args.object)
    if args.engine not in ENGINES:
        raise UsageError(f"unknown engine {args.engine!r}; choose one of {', '.join(ENGINES)}")
    try:
        hints = format_hints(contract, args.server)
    except ContractError as exc:
        raise UsageError(f"{args.contract}: --server: {exc.message}") from None
    data = Path(args.data)
    kind = hints["format"]
    references = _references(args.reference)
    try:
        kind = detect_format(data, hints["format"])
        columns = [p["name"] for p in contract.object(object_name).get("properties") or []]
        version = delta_version(data) if kind == "delta" else None  # one version for every reader
        with (_opened(args.engine, data, format=kind, delimiter=hints["delimiter"],
                      encoding=hints["encoding"], sheet=hints["sheet"], header=hints["header"],
                      column_names=columns, version=version) as batch,
              contextlib.redirect_stdout(sys.stderr)):  # only the JSON document goes to stdout
            in_place = partial(arrow_dataset, data, kind, version=version) \
                if kind in IN_PLACE and args.engine != "spark" else None  # Spark runs the queries itself
            gate = run_gate(contract, object_name, batch, engine=args.engine, references=references,
                            decimal_separator=hints["decimal_separator"], dataset=in_place)
    except ContractError as exc:  # a contract the gate cannot compile (e.g. a composite relationship)
        raise UsageError(exc.location_message()) from None
    except DataReadError as exc:
        raise UsageError(str(exc)) from None
    except pl.exceptions.PolarsError as exc:
        raise UsageError(str(explain_scan_error(data, exc, format=kind, delimiter=hints["delimiter"],
                                                encoding=hints["encoding"]))) from None
    except (GateError, EngineUnavailableError) as exc:
        raise UsageError(f"{data}: cannot judge: {exc}") from None
    except Exception as exc:  # CI reads exit 2 and one line, never a traceback
        if type(exc).__module__.startswith("pyspark."):  # Spark found it reading: name file and line
            raise UsageError(str(explain_scan_error(data, exc, format=kind, delimiter=hints["delimiter"],
                                                    encoding=hints["encoding"]))) from None
        raise UsageError(f"{data}: cannot judge: {type(exc).__name__}: {one_line(exc)}") from None
    result = gate.result.model_copy(update={"contract": gate.result.contract.model_copy(
        update={"path": args.contract})})
    if args.format == "json":
        print(result.model_dump_json(indent=2))
    else:
        print(render_text(result))
    return 1 if result.verdict == Verdict.BLOCK else 0


@contextlib.contextmanager
def _opened(engine: str, data: Path, **options: Any) -> Iterator[Any]:
    """The batch as the engine reads it: Spark reads it itself for the spark engine (kept in Spark,
    never collected, after the same header, format and encoding checks as for every engine); every
    other engine gets a Polars scan (size limits checked first)."""
    from checks.readers import check_sizes, open_batch

    with open_batch(data, **options) as batch:
        if engine == "spark":
            from checks.engines.spark_engine import read_batch

            options.pop("sheet")
            yield read_batch(data, **options)
            return
        check_sizes(data, batch)
        yield batch


def _references(options: list[str]) -> dict[str, pl.DataFrame]:
    """The `--reference OBJECT=PATH` tables, read whole (relationship rules look values up in them)."""
    from checks.readers import DataReadError, read_batch

    tables = {}
    for option in options:
        name, sep, path = option.partition("=")
        if not (sep and name and path):
            raise UsageError(f"--reference {option!r}: expected OBJECT=PATH")
        try:
            tables[name] = read_batch(path)
        except DataReadError as exc:
            raise UsageError(str(exc)) from None
    return tables


def _object_name(contract: Contract, contract_path: str, requested: str | None) -> str:
    names = contract.object_names
    if requested is not None:
        if requested not in names:
            raise UsageError(f"{contract_path}: unknown object {requested!r}; "
                             f"the contract has: {', '.join(names)}")
        return requested
    if len(names) != 1:
        raise UsageError(f"{contract_path}: the contract has {len(names)} objects; choose one with --object: "
                         f"{', '.join(names)}")
    return names[0]


def render_text(result: GateResult) -> str:
    """The result as a table for people: a summary line, then one line per rule."""
    header = ("rule", "property", "metric", "action", "value", "threshold", "rows", "outcome", "message")
    lines = [(r.id, r.property or "", r.metric, r.on_violation, _number(r.value), _threshold(r.threshold),
              str(r.violating_rows), r.outcome.value, r.message) for r in result.rules]
    widths = [max(len(row[i]) for row in [header, *lines]) for i in range(len(header) - 1)]

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=False)) + "  " + cells[-1]

    summary = (f"{result.verdict.value.upper()}  {result.object} ({result.contract.id} "
               f"{result.contract.version}, {result.contract.path})  engine {result.engine}: "
               f"{result.rows} rows, {result.rows_published} published, "
               f"{result.rows_quarantined} quarantined")
    return "\n".join([summary, "", line(header), *(line(row).rstrip() for row in lines)])


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    return str(int(value)) if float(value).is_integer() else f"{value:.4g}"


def _threshold(threshold: dict) -> str:
    return ", ".join(f"{name} {value}" for name, value in threshold.items())
