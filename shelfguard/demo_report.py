"""What a pipeline run did, per retailer, read back from the ledger and the Delta tables."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from assets.ledger import current_deliveries, latest_attempts, read_ledger
from assets.plan import CANONICAL_OBJECTS, build_plan, retailer_code
from shelfguard.settings import CONTRACTS_DIR, DataHome

SHORT = {"prod_dim": "prod", "site_dim": "site", "daily_store_fact": "daily", "weekly_store_fact": "weekly"}


def _rows(path: Path, where: pl.Expr | None = None) -> int:
    if not (path / "_delta_log").exists():
        return 0
    frame = pl.scan_delta(str(path))
    if where is not None:
        frame = frame.filter(where)
    return int(frame.select(pl.len()).collect().item())


def _text_table(headers: list[str], rows: list[list[object]]) -> str:
    if not rows:
        return "   (none)"
    cells = [
        headers,
        *[["" if v is None else f"{v:,}" if isinstance(v, int) else str(v) for v in r] for r in rows],
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["   " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    lines.insert(1, "   " + "  ".join("-" * w for w in widths))
    return "\n".join(lines)


@dataclass
class PipelineReport:
    retailers: list[list[object]]
    quarantine: list[list[object]]
    blocked: list[list[object]]
    gold: list[list[object]]

    def retailer_table(self) -> str:
        return _text_table(
            [
                "retailer",
                "delivered",
                "in bronze",
                "accepted",
                "quarantined",
                "blocked deliveries",
                "silver",
                "in gold",
            ],
            self.retailers,
        )

    def quarantine_table(self) -> str:
        return _text_table(["layer", "table", "rule", "rows"], self.quarantine)

    def blocked_table(self) -> str:
        return _text_table(["retailer", "delivery", "file", "verdict", "rules or reason"], self.blocked)

    def gold_table(self) -> str:
        return _text_table(["table", "rows", "retailers"], self.gold)


def _quarantine_by_rule(home: DataHome) -> pl.DataFrame:
    frames = []
    for layer_folder in sorted(p for p in home.quarantine.iterdir() if p.is_dir() and p.name != "files"):
        for table in sorted(p for p in layer_folder.iterdir() if (p / "_delta_log").exists()):
            rows = pl.read_delta(str(table), columns=["quarantine_reasons"])
            frames.append(
                rows.explode("quarantine_reasons")
                .group_by("quarantine_reasons")
                .len()
                .with_columns(pl.lit(layer_folder.name).alias("layer"), pl.lit(table.name).alias("table"))
            )
    if not frames:
        return pl.DataFrame(
            schema={"layer": pl.String, "table": pl.String, "quarantine_reasons": pl.String, "len": pl.UInt32}
        )
    return pl.concat(frames).sort("layer", "table", "len", descending=[False, False, True])


def pipeline_report(home: DataHome) -> PipelineReport:
    plan = build_plan(CONTRACTS_DIR)
    ledger = read_ledger(home.warehouse)
    latest = latest_attempts(ledger)
    quarantine = _quarantine_by_rule(home) if home.quarantine.exists() else pl.DataFrame()
    retailers = []
    for contract in plan.retailers:
        code = retailer_code(contract)
        mine = latest.filter(pl.col("retailer_code") == code)
        bronze = sum(_rows(home.table("bronze", n.table)) for n in plan.retailer_nodes(code, "bronze"))
        accepted = sum(
            int(current_deliveries(ledger, code, obj)["rows_published"].sum())
            for obj in contract.object_names
        )
        silver = ", ".join(
            f"{SHORT[n.object]} {_rows(home.table('silver', n.table)):,}"
            for n in plan.retailer_nodes(code, "silver")
        )
        gold = sum(
            _rows(home.table("gold", obj), pl.col("retailer_code") == code) for obj in CANONICAL_OBJECTS
        )
        quarantined = (
            int(quarantine.filter(pl.col("table").str.starts_with(f"{code}__"))["len"].sum())
            if not quarantine.is_empty()
            else 0
        )
        blocked = mine.filter(pl.col("verdict").is_in(["block", "unreadable"])).height
        retailers.append(
            [code, int(mine["rows"].sum()), bronze, accepted, quarantined, blocked, silver, gold]
        )
    quarantine_rows = (
        [
            [r["layer"], r["table"], r["quarantine_reasons"], int(r["len"])]
            for r in quarantine.iter_rows(named=True)
        ]
        if not quarantine.is_empty()
        else []
    )
    blocked_rows = [
        [
            r["retailer_code"],
            r["delivery_id"],
            Path(r["source"]).name,
            r["verdict"],
            r["blocking_rules"] or r["reason"][:90],
        ]
        for r in latest.filter(pl.col("verdict").is_in(["block", "unreadable"]))
        .sort("delivery_id")
        .iter_rows(named=True)
    ]
    gold_rows = []
    for obj in CANONICAL_OBJECTS:
        path = home.table("gold", obj)
        count = _rows(path)
        retailers_in = (
            pl.scan_delta(str(path)).select(pl.col("retailer_code").n_unique()).collect().item()
            if count
            else 0
        )
        gold_rows.append([obj, count, retailers_in])
    return PipelineReport(retailers, quarantine_rows, blocked_rows, gold_rows)
