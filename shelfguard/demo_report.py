"""What a pipeline run did, per retailer, read back from the ledger and the Delta tables."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from assets.bronze.ledger import HELD_BACK_VERDICTS, current_deliveries, latest_attempts, read_ledger
from assets.plan import CANONICAL_OBJECTS, build_plan, retailer_code
from assets.silver.publish import PROMOTED, silver_ledger
from checks.gate import BLOCKED, BLOCKED_BY, QUARANTINE_REASONS
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
    blocked_batches: list[list[object]]
    gold: list[list[object]]

    def retailer_table(self) -> str:
        return _text_table(
            [
                "retailer",
                "delivered",
                "in bronze",
                "accepted",
                "promoted to silver",
                "silver tables",
                "in gold",
                "quarantined",
                "blocked deliveries",
            ],
            self.retailers,
        )

    def quarantine_table(self) -> str:
        return _text_table(["layer", "table", "retailer", "rule", "rows"], self.quarantine)

    def blocked_table(self) -> str:
        return _text_table(["retailer", "delivery", "file", "verdict", "rules or reason"], self.blocked)

    def blocked_batches_table(self) -> str:
        headers = ["layer", "table", "retailer", "deliveries", "rows", "rules"]
        return _text_table(headers, self.blocked_batches)

    def gold_table(self) -> str:
        return _text_table(["table", "rows", "retailers"], self.gold)


QUARANTINE_SCHEMA = {
    "layer": pl.String,
    "table": pl.String,
    "retailer_code": pl.String,
    "delivery_id": pl.String,
    QUARANTINE_REASONS: pl.List(pl.String),
    BLOCKED_BY: pl.List(pl.String),
}
HELD_BACK = {
    "bronze": "(held back with its blocked delivery)",
    "silver": "(held back with its blocked batch)",
    "gold": "(held back with its blocked batch)",
}
"""The quarantine table's line for rows that broke no rule themselves but whose batch was blocked."""


def _quarantined_rows(home: DataHome) -> pl.DataFrame:
    """Every quarantined row's layer, table, retailer, delivery and reasons (bronze rows keep the
    delivered columns and the stamps; silver and gold rows the canonical ones)."""
    frames = [pl.DataFrame(schema=QUARANTINE_SCHEMA)]
    folders = home.quarantine.iterdir() if home.quarantine.is_dir() else []
    for layer_folder in sorted(p for p in folders if p.is_dir() and p.name != "files"):
        for table in sorted(p for p in layer_folder.iterdir() if (p / "_delta_log").exists()):
            scan = pl.scan_delta(str(table))
            names = scan.collect_schema().names()
            stamped = "_retailer_code" in names
            frames.append(
                scan.select(
                    pl.lit(layer_folder.name).alias("layer"),
                    pl.lit(table.name).alias("table"),
                    pl.col("_retailer_code" if stamped else "retailer_code").alias("retailer_code"),
                    pl.col("_delivery_id" if stamped else "delivery_id").alias("delivery_id"),
                    QUARANTINE_REASONS,
                    # quarantine written before blocked_by existed: the rules followed `blocked`
                    pl.col(BLOCKED_BY) if BLOCKED_BY in names else pl.col(QUARANTINE_REASONS).list.slice(1),
                ).collect()
            )
    return pl.concat(frames)


def pipeline_report(home: DataHome) -> PipelineReport:
    plan = build_plan(CONTRACTS_DIR)
    ledger = read_ledger(home.warehouse)
    latest = latest_attempts(ledger)
    quarantined = _quarantined_rows(home)
    blocked_later = quarantined.filter(
        pl.col("layer").is_in(["silver", "gold"]) & (pl.col(QUARANTINE_REASONS).list.first() == BLOCKED)
    )
    promoted = silver_ledger(home, pl.col("state") == PROMOTED)
    held_back = latest.filter(pl.col("verdict").is_in(HELD_BACK_VERDICTS))
    blocked = pl.concat(
        [frame.select("retailer_code", "delivery_id") for frame in (held_back, blocked_later)]
    ).unique()
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
        retailers.append(
            [
                code,
                int(mine["rows"].sum()),
                bronze,
                accepted,
                int(promoted.filter(pl.col("retailer_code") == code)["rows"].sum()),
                silver,
                gold,
                quarantined.filter(pl.col("retailer_code") == code).height,
                blocked.filter(pl.col("retailer_code") == code).height,
            ]
        )
    by_rule = (
        quarantined.with_columns(own=pl.col(QUARANTINE_REASONS).list.filter(pl.element() != BLOCKED))
        .with_columns(
            pl.when(pl.col("own").list.len() == 0)
            .then(pl.concat_list(pl.col("layer").replace_strict(HELD_BACK)))
            .otherwise(pl.col("own"))
            .alias("rule")
        )
        .explode("rule")
        .group_by("layer", "table", "retailer_code", "rule")
        .len()
        .sort("layer", "table", "retailer_code", "len", descending=[False, False, False, True])
    )
    batches = (
        blocked_later.group_by("layer", "table", "retailer_code", BLOCKED_BY)
        .agg(pl.col("delivery_id").n_unique().alias("deliveries"), pl.len().alias("rows"))
        .sort("layer", "table", "retailer_code")
    )
    blocked_rows = [
        [
            r["retailer_code"],
            r["delivery_id"],
            Path(r["source"]).name,
            r["verdict"],
            r["blocking_rules"] or r["reason"][:90],
        ]
        for r in held_back.sort("delivery_id").iter_rows(named=True)
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
    return PipelineReport(
        retailers=retailers,
        quarantine=[list(r) for r in by_rule.iter_rows()],
        blocked=blocked_rows,
        blocked_batches=[
            [*r[:-1], ", ".join(r[-1])]
            for r in batches.select(
                "layer", "table", "retailer_code", "deliveries", "rows", BLOCKED_BY
            ).iter_rows()
        ],
        gold=gold_rows,
    )


def print_pipeline_report(home: DataHome, *, first_step: int) -> None:
    """The per-retailer, quarantine, blocked and gold tables, as `shelfguard demo` and `run` end."""
    report = pipeline_report(home)
    print(f"\n{first_step}. per retailer (rows)")
    print(report.retailer_table())
    print("\n   quarantined rows by the rule they break (a row breaking two counts under both), and the rows"
          "\n   that broke none but were held back with their blocked delivery or batch")
    print(report.quarantine_table())
    print("\n   blocked or unreadable deliveries")
    print(report.blocked_table())
    print("\n   batches blocked in silver or gold (their rows quarantined as `blocked`)")
    print(report.blocked_batches_table())
    print(f"\n{first_step + 1}. gold tables (rows)")
    print(report.gold_table())
