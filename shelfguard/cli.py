"""`shelfguard` command line: a thin dispatcher over one module per command.

Each command module is imported only when that command runs, so `shelfguard --help` and light
commands never pay for Dagster, Great Expectations or Soda. A command module provides
`add_arguments(parser)` and `run(args) -> int`. An unexpected error is one line on stderr and exit
status 2 like bad input (`SHELFGUARD_DEBUG=1` shows its traceback).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

# name -> (module under shelfguard.commands, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("demo", "run the end-to-end demo: demo data, landing -> bronze -> silver -> gold"),
    "run": ("run", "process every landed or pullable delivery: bronze -> silver -> gold, with a report"),
    "demo-data": ("demo_data", "write deterministic demo deliveries for the nine retailers"),
    "check": ("check", "run a contract's gate on a data file and print the verdict"),
    "contracts": ("contracts", "lint contracts, or review contract changes between git revisions"),
    "replay": ("replay", "replay a blocked delivery after its contract or data was fixed"),
    "freshness": ("freshness", "show each retailer's delivery SLA status"),
    "lineage": ("lineage", "browse OpenLineage lineage from the local event file"),
    "ui": ("ui", "start the Dagster UI and daemon on the data home's instance"),
    "sql": ("sql", "query the gold views as a reader (row-level security and antitrust masking)"),
    "views": ("views", "print the gold views' access policy as SQL (Databricks Unity Catalog, DuckDB)"),
}


DEBUG_VARIABLE = "SHELFGUARD_DEBUG"
"""Set to show the traceback of an unexpected error instead of its one line."""


class UsageError(Exception):
    """Bad input from the user: printed as one line (redacted and bounded), exit status 2."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="shelfguard",
        description="Data contracts and quality gates for retailer point-of-sale data.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_, help_text) in COMMANDS.items():
        sub.add_parser(name, help=help_text, add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in COMMANDS:
        parser = _parser()
        if not argv or argv[0] in ("-h", "--help"):
            parser.print_help()
            return 0
        parser.print_usage(sys.stderr)
        print(f"shelfguard: error: unknown command {argv[0]!r}", file=sys.stderr)
        return 2
    name = argv[0]
    module = importlib.import_module(f"shelfguard.commands.{COMMANDS[name][0]}")
    parser = argparse.ArgumentParser(prog=f"shelfguard {name}", description=COMMANDS[name][1])
    module.add_arguments(parser)
    args = parser.parse_args(argv[1:])
    try:
        return int(module.run(args) or 0)
    except UsageError as exc:
        from checks.errors import safe_message

        print(f"shelfguard {name}: {safe_message(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`shelfguard … | head`): not our error. Point stdout at devnull so
        # the interpreter's final flush does not raise again (the Python docs' recipe).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # never a traceback: one line, redacted and bounded, exit 2
        if os.environ.get(DEBUG_VARIABLE):
            raise
        from checks.errors import one_line

        print(f"shelfguard {name}: {type(exc).__name__}: {one_line(exc)} (set {DEBUG_VARIABLE}=1 for the "
              "traceback)", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
