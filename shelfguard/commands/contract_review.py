"""`shelfguard contracts review`: compare the contracts of two git revisions and print the review.

Exit status: 0 no breaking change, 1 at least one breaking change, 2 the review could not judge
(a bad revision, an invalid contract on either side).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from shelfguard.cli import UsageError
from shelfguard.review.dry_run import DEFAULT_LAST
from shelfguard.review.git import ReviewError
from shelfguard.review.report import error_document, to_json, to_markdown
from shelfguard.review.runner import review
from shelfguard.settings import DataHome


def run_review(args: argparse.Namespace) -> int:
    """Entry point of the `review` action (arguments: see `shelfguard.commands.contracts`)."""
    if not args.base:
        raise UsageError("review needs --base REF, the revision to compare against (e.g. origin/main)")
    last = DEFAULT_LAST if args.last is None else args.last
    if last < 0:
        raise UsageError(f"--last must be 0 or more, not {last}")
    home = DataHome(Path(args.data).resolve()) if args.data else DataHome.from_env()
    try:
        result = review(Path.cwd(), args.base, args.head, home=home, last=last)
    except ReviewError as exc:
        print(error_document(exc.lines, args.format))
        if not exc.located:
            raise UsageError(exc.lines[0]) from None
        for line in exc.lines:
            print(line, file=sys.stderr)
        return 2
    print((to_json(result) if args.format == "json" else to_markdown(result)).rstrip("\n"))
    return 1 if result.breaking else 0
