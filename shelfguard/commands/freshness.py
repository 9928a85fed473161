"""`shelfguard freshness`: each retailer's delivery SLA status, per bronze asset.

Reads the last deliveries from the delivery ledger and the Dagster instance under
`SHELFGUARD_HOME/dagster` and judges them with the same rule as the freshness sensor, so the
command and the UI agree. Without an instance yet, no instance is created; without a ledger entry
either, an asset is "never delivered".
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from shelfguard.cli import UsageError
from shelfguard.settings import CONTRACTS_DIR, DataHome

if TYPE_CHECKING:
    import dagster as dg

    from assets.definitions.freshness import AssetDeliveryStatus


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("--contracts", type=Path, default=CONTRACTS_DIR, metavar="DIR",
                        help="contracts folder holding retailers/ (default: the project's contracts/)")


def run(args: argparse.Namespace) -> int:
    from assets.definitions.freshness import delivery_statuses, utc_now
    from assets.plan import load_retailer_contracts
    from checks.contract import ContractError

    if not (args.contracts / "retailers").is_dir():
        raise UsageError(f"no retailers/ folder under {args.contracts}")
    try:
        contracts = load_retailer_contracts(args.contracts)
    except ContractError as exc:
        raise UsageError(exc.location_message()) from None
    timezones = {c.id: str(c.custom.get("timezone") or "UTC") for c in contracts}
    with _instance(DataHome.from_env().dagster_home) as instance:
        statuses = delivery_statuses(contracts, instance, utc_now())
    if args.format == "json":
        print(json.dumps([s.model_dump(mode="json") for s in statuses], indent=2))
    else:
        _print_table(statuses, timezones)
    return 0


def _instance(dagster_home: Path) -> dg.DagsterInstance:
    """The instance in `dagster_home`, or an in-memory empty one when nothing was ever stored there."""
    import dagster as dg

    if (dagster_home / "dagster.yaml").is_file() or (dagster_home / "storage").is_dir():
        return dg.DagsterInstance.from_config(str(dagster_home))
    return dg.DagsterInstance.ephemeral()


def _print_table(statuses: Sequence[AssetDeliveryStatus], timezones: dict[str, str]) -> None:
    from assets.definitions.freshness import format_duration

    header = ("RETAILER", "ASSET", "SLA", "LAST DELIVERY", "EXPECTED BY", "STATUS")
    rows = [header]
    for status in statuses:
        zone = ZoneInfo(timezones[status.contract_id])
        evaluation = status.evaluation
        label = evaluation.status.label
        if evaluation.lateness_seconds:
            label += f" ({format_duration(evaluation.lateness_seconds)})"
        rows.append((status.retailer, status.asset, status.sla, _local(evaluation.last_delivery, zone),
                     _local(evaluation.expected_by, zone), label))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    if len(rows) == 1:
        print("no retailer contracts with an SLA")


def _local(moment: datetime | None, zone: ZoneInfo) -> str:
    """A moment in the retailer's time zone, where its deadlines are set."""
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z") if moment else "-"
