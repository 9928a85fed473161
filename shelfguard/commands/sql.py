"""`shelfguard sql --as USER ["SELECT …"]`: query the gold views as a reader.

The connection is the one `assets.gold.views.connect` gives the Python entry point: only the views
exist on it, evaluated for the user's groups (from `SHELFGUARD_HOME/access/directory.yaml`) and
today's date before the first statement; files, network, extensions and settings are off limits.
Without a query it reads statements from standard input (`;`-terminated; a prompt on a terminal).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path
from typing import Any

from shelfguard.cli import UsageError

PROMPT = "sql> "


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--as", dest="user", required=True, metavar="USER",
                        help="the reader (user or service principal) whose groups decide what is visible")
    parser.add_argument("query", nargs="?", help="one SQL statement; without it, statements from stdin")
    parser.add_argument("--format", choices=("table", "csv", "json"), default="table")
    parser.add_argument("--directory", metavar="PATH",
                        help="reader directory YAML (default: SHELFGUARD_HOME/access/directory.yaml)")


def run(args: argparse.Namespace) -> int:
    import duckdb

    from assets.gold.views import DirectoryError, connect, load_directory
    from shelfguard.settings import DataHome

    home = DataHome.from_env()
    path = Path(args.directory) if args.directory else home.directory_file
    if not path.is_file():
        print(f"warning: no reader directory at {path}: {args.user} has no groups and sees nothing "
              "(docs/access.md)", file=sys.stderr)
    try:
        directory = load_directory(path)
    except DirectoryError as exc:
        raise UsageError(str(exc)) from None
    con = connect(args.user, home=home, directory=directory)
    try:
        if args.query is not None:
            try:
                _print(con, args.query, args.format)
            except duckdb.Error as exc:
                raise UsageError(_first_line(exc)) from None
            return 0
        return _interactive(con, args.format)
    finally:
        con.close()


def _interactive(con: Any, fmt: str) -> int:
    import duckdb

    prompt = sys.stdin.isatty()
    failed = False
    pending: list[str] = []
    while True:
        if prompt:
            print(PROMPT if not pending else "...> ", end="", flush=True)
        line = sys.stdin.readline()
        if not line:
            break
        pending.append(line)
        statement = "".join(pending).strip()
        if not statement.endswith(";"):
            continue
        pending.clear()
        try:
            _print(con, statement, fmt)
        except duckdb.Error as exc:
            failed = True
            print(f"error: {_first_line(exc)}", file=sys.stderr)
    if "".join(pending).strip():
        print("error: statement not terminated by ';'", file=sys.stderr)
        failed = True
    return 2 if failed and not prompt else 0


def _print(con: Any, statement: str, fmt: str) -> None:
    cursor = con.execute(statement)
    if cursor.description is None:
        return
    names = [column[0] for column in cursor.description]
    rows = cursor.fetchall()
    if fmt == "json":
        print(json.dumps([dict(zip(names, row, strict=True)) for row in rows], default=str, indent=2))
    elif fmt == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(names)
        writer.writerows(rows)
    else:
        print(_table(names, rows))


def _table(names: list[str], rows: list[tuple]) -> str:
    cells = [names, *[["NULL" if v is None else str(v) for v in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(names))]
    lines = [" | ".join(v.ljust(width) for v, width in zip(row, widths, strict=True)) for row in cells]
    lines.insert(1, "-+-".join("-" * width for width in widths))
    return "\n".join([*lines, f"({len(rows)} row{'s' if len(rows) != 1 else ''})"])


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
