"""`shelfguard demo-data`: write deterministic demo deliveries into SHELFGUARD_HOME."""

from __future__ import annotations

import argparse
from collections import Counter
from datetime import date, datetime
from typing import TYPE_CHECKING

from shelfguard.cli import UsageError

if TYPE_CHECKING:
    from shelfguard.demo_data import GenerationReport


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from shelfguard.demo_data import (
        DEFAULT_DAYS,
        DEFAULT_PRODUCTS,
        DEFAULT_SEED,
        DEFAULT_STORES,
    )

    parser.add_argument(
        "--days", type=int, default=DEFAULT_DAYS, help=f"business days (default {DEFAULT_DAYS})"
    )
    parser.add_argument(
        "--stores", type=int, default=DEFAULT_STORES, help=f"stores per retailer (default {DEFAULT_STORES})"
    )
    parser.add_argument(
        "--products",
        type=int,
        default=DEFAULT_PRODUCTS,
        help=f"products in the catalogue (default {DEFAULT_PRODUCTS})",
    )
    parser.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})"
    )
    parser.add_argument(
        "--faults",
        default="",
        metavar="a,b,…|all",
        help="faults to inject, comma-separated, or all (default: none); see docs/demo-data.md",
    )
    parser.add_argument(
        "--start",
        metavar="YYYY-MM-DD",
        help="a fixed first business date (default $SHELFGUARD_DEMO_START, else the calendar ends today)",
    )
    add_as_of_argument(parser)
    parser.add_argument(
        "--retailer",
        action="extend",
        nargs="+",
        metavar="CODE",
        help="only these retailers (default: every active retailer contract)",
    )


def run(args: argparse.Namespace) -> int:
    from checks.contract import ContractError
    from shelfguard.demo_data import REPORT_FILE, generate
    from shelfguard.settings import DataHome

    try:
        start = date.fromisoformat(args.start) if args.start else None
    except ValueError:
        raise UsageError(f"--start {args.start!r} is not a date (YYYY-MM-DD)") from None
    as_of = parsed_as_of(args)
    home = DataHome.from_env()
    try:
        report = generate(
            home,
            days=args.days,
            stores=args.stores,
            products=args.products,
            seed=args.seed,
            faults=parse_faults(args.faults),
            start=start,
            as_of=as_of,
            retailers=args.retailer,
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    except ContractError as exc:
        raise UsageError(exc.location_message()) from None
    print(summary(report))
    print(f"wrote {len(report.deliveries)} deliveries under {home.root}; report: {home.root / REPORT_FILE}")
    return 0


def add_as_of_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--as-of",
        metavar="YYYY-MM-DD[THH:MM]",
        help="the demo's reference moment: its calendar ends that day and nothing arriving later is "
        "written (default $SHELFGUARD_DEMO_AS_OF, else now; a date alone is its midnight UTC)",
    )


def parsed_as_of(args: argparse.Namespace) -> datetime | None:
    from shelfguard.demo_data import parse_moment

    try:
        return parse_moment(args.as_of) if args.as_of else None
    except ValueError as exc:
        raise UsageError(f"--as-of {exc}") from None


def parse_faults(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def summary(report: GenerationReport) -> str:
    """A table: per retailer, its channel, deliveries, rows and the faults it got."""
    deliveries = Counter(d.retailer for d in report.deliveries)
    rows: Counter[str] = Counter()
    channels: dict[str, str] = {}
    for delivery in report.deliveries:
        rows[delivery.retailer] += delivery.rows
        channels[delivery.retailer] = delivery.channel
    faults: dict[str, list[str]] = {}
    for injection in report.injections:
        label = injection.fault + (f":{injection.variant}" if injection.variant else "")
        faults.setdefault(injection.retailer, [])
        if label not in faults[injection.retailer]:
            faults[injection.retailer].append(label)
    lines = [f"{'retailer':<10} {'channel':<10} {'deliveries':>10} {'rows':>8}  faults"]
    for retailer in sorted(deliveries):
        lines.append(
            f"{retailer:<10} {channels[retailer]:<10} {deliveries[retailer]:>10} {rows[retailer]:>8}  "
            f"{', '.join(faults.get(retailer, [])) or '-'}"
        )
    for label, reason in report.not_injected.items():
        lines.append(f"not injected: {label}: {reason}")
    lines.extend(skipped_lines(report))
    return "\n".join(lines)


def skipped_lines(report: GenerationReport) -> list[str]:
    """One warning line per retailer the generator could not follow (the others were written)."""
    return [f"warning: skipped {code}: {reason}" for code, reason in report.skipped.items()]
