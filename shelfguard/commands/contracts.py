"""`shelfguard contracts lint|review|upgrade`: check contracts before they are merged.

`lint` prints one `path:line:column: message` line per problem (what editors and CI annotations
understand; warnings as `path:line:column: warning: message`) and exits 1 if there is any error;
`review` reports what a contract change does; `upgrade` rewrites ODCS v3.0.x contracts as v3.1.0,
keeping comments and key order.
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
    upgrade = sub.add_parser("upgrade", help="rewrite ODCS v3.0.x contracts as v3.1.0, keeping comments")
    upgrade.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="contract files or folders")
    upgrade.add_argument("--check", action="store_true",
                         help="write nothing; exit 1 if a contract would be upgraded")
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
        from shelfguard.commands.contract_review import run_review

        return run_review(args)
    if args.action == "upgrade":
        return upgrade(args.paths, check=args.check)
    return lint(args.paths or [CONTRACTS_DIR])


def lint(paths: list[Path]) -> int:
    from checks.lint import lint_paths

    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise UsageError(f"no such file or folder: {', '.join(missing)}")
    problems = lint_paths(paths, with_warnings=True)
    for problem in problems:
        prefix = "" if problem.is_error else "warning: "
        print(f"{_shown(problem.path)}:{problem.line}:{problem.column}: {prefix}{problem.message}")
    return 1 if any(p.is_error for p in problems) else 0


def upgrade(paths: list[Path], *, check: bool) -> int:
    """Upgrade every v3.0.x contract under `paths` in place (atomically), listing each change at
    its line. A contract invalid against its own version's schema is not touched (exit 2)."""
    import os
    import tempfile

    from checks.contract import ContractError, contract_files, read_contract_text, read_document
    from checks.upgrade import needs_upgrade, upgrade_tree, upgraded_text

    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise UsageError(f"no such file or folder: {', '.join(missing)}")
    pending = False
    for path in contract_files(paths):
        try:
            read = read_document(path)
        except ContractError as exc:
            raise UsageError(exc.location_message()) from None
        errors = [p for p in read.problems if p.is_error]
        if errors:
            raise UsageError(f"{errors[0].location_message()} (not upgraded)")
        if not needs_upgrade(read.api_version):
            print(f"{_shown(path)}: apiVersion {read.api_version}, nothing to upgrade")
            continue
        from checks.contract import parse_yaml_tree

        text = read_contract_text(path)
        tree = parse_yaml_tree(path, text)
        upgrade_tree(tree)
        for change in read.changes:
            line, _ = read.positions.get(change.path, (1, 1))
            print(f"{_shown(path)}:{line}: {change.message}")
        pending = True
        if check:
            continue
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(upgraded_text(text, tree))
            os.chmod(temporary, path.stat().st_mode & 0o777)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        print(f"{_shown(path)}: upgraded {read.api_version} -> v3.1.0 ({len(read.changes)} change(s))")
    return 1 if check and pending else 0


def _shown(path: Path) -> Path:
    """Paths relative to the working directory when they are under it, as editors expect."""
    try:
        return path.resolve().relative_to(Path.cwd())
    except ValueError:
        return path
