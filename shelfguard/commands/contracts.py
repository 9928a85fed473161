"""`shelfguard contracts lint|review`: check contracts before they are merged.

`lint` prints one `path:line:column: message` line per problem (what editors and CI annotations
understand) and exits 1 if there is any; `review` reports what a contract change does.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from shelfguard.cli import UsageError
from shelfguard.settings import CONTRACTS_DIR


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    lint = sub.add_parser("lint", help="check contracts against the ODCS schema and our conventions")
    lint.add_argument("paths", nargs="*", type=Path, metavar="PATH",
                      help="contract files or folders (default: the project's contracts/ folder)")
    review = sub.add_parser("review", help="what a contract change between two git revisions does")
    review.add_argument("--base", metavar="REF", required=True,
                        help="revision to compare against, e.g. origin/main")
    review.add_argument("--head", metavar="REF", help="revision with the change (default: the working tree)")
    review.add_argument("--format", choices=("markdown", "json"), default="markdown",
                        help="markdown for a pull-request comment (default) or json")
    review.add_argument("--data", type=Path, metavar="PATH",
                        help="data home whose landing/<code>/ deliveries the rules are tried on "
                             "(default: SHELFGUARD_HOME)")
    review.add_argument("--last", type=int, metavar="N",
                        help="latest deliveries per object to try the rules on (default 10)")


def run(args: argparse.Namespace) -> int:
    if args.action == "review":
        from shelfguard.review import run_review

        return run_review(args)
    return lint(args.paths or [CONTRACTS_DIR])


def lint(paths: list[Path]) -> int:
    from checks.lint import lint_paths

    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise UsageError(f"no such file or folder: {', '.join(missing)}")
    problems = lint_paths(paths)
    for problem in problems:
        print(f"{_shown(problem.path)}:{problem.line}:{problem.column}: {problem.message}")
    return 1 if problems else 0


def _shown(path: Path) -> Path:
    """Paths relative to the working directory when they are under it, as editors expect."""
    try:
        return path.resolve().relative_to(Path.cwd())
    except ValueError:
        return path
