"""Delta table helpers for silver and gold: read, publish a change set with one MERGE, quarantine.

Every silver and gold table is written only through `publish_changes`: one atomic MERGE (or the
first write) per publish, with the change data feed on, so gold can take exactly what changed in
silver since it last looked (ADR 0011) and a re-run with nothing new writes nothing.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
from deltalake import CommitProperties, DeltaTable, write_deltalake

from assets.keys import surrogate_keys
from assets.storage.durability import retry_commit

TABLE_CONFIGURATION = {"delta.enableChangeDataFeed": "true"}
DELETE_FLAG = "_sg_delete"
ROW_HASH = "_row_hash"
CHANGE_TYPE = "_change_type"
COMMIT_VERSION = "_commit_version"
COMMIT_FILE = re.compile(r"(\d{20})\.json")


def exists(path: Path) -> bool:
    return (path / "_delta_log").is_dir()


def version(path: Path) -> int | None:
    """The table's latest version: the highest commit file in its Delta log. Read from the folder
    listing, since loading the table costs about 5 ms and a run asks for versions a hundred times."""
    if not exists(path):
        return None
    commits = [int(m[1]) for name in os.listdir(path / "_delta_log") if (m := COMMIT_FILE.fullmatch(name))]
    return max(commits, default=None)


def row_count(path: Path) -> int | None:
    """Rows in the table's current version, from the Delta log's file statistics (no data read)."""
    if not exists(path):
        return None
    counts = DeltaTable(str(path)).get_add_actions(flatten=True).column("num_records").to_pylist()
    return int(sum(c or 0 for c in counts))


def read(
    path: Path,
    *,
    columns: Sequence[str] | None = None,
    where: pl.Expr | None = None,
    version: int | None = None,
) -> pl.DataFrame | None:
    """The table's rows (projected and filtered while scanning; at `version`, else the latest), or
    None when it does not exist."""
    if not exists(path):
        return None
    scan = pl.scan_delta(str(path), version=version)
    if where is not None:
        scan = scan.filter(where)
    if columns is not None:
        scan = scan.select(columns)
    return scan.collect()


def sql_literal(value: object) -> str:
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return str(value)


def scope_predicate(column: str, values: Sequence[object], alias: str = "t") -> str:
    """`t.column IN (...)`: the MERGE touches (and reads) only these partitions (no alias: "")."""
    listed = ", ".join(sql_literal(v) for v in sorted(set(values)))
    return f"{alias + '.' if alias else ''}{column} IN ({listed})"


def date_range_predicate(column: str, dates: pl.Series, alias: str = "t") -> str:
    """`t.column` between the dates' min and max: lets a MERGE skip files by their date statistics."""
    return (
        f"{alias}.{column} >= CAST('{dates.min()}' AS DATE) AND "
        f"{alias}.{column} <= CAST('{dates.max()}' AS DATE)"
    )


def publish_changes(
    path: Path,
    upserts: pl.DataFrame,
    deletes: pl.DataFrame,
    key: Sequence[str],
    *,
    scope: str | None = None,
    partition_by: Sequence[str] | None = None,
    metadata: dict[str, str] | None = None,
) -> int | None:
    """Upsert and delete rows by `key` in one commit; returns the new version (None: nothing to do).

    `scope` is an SQL predicate on the target (e.g. `scope_predicate("retailer_code", ["alp_de"])`)
    that limits the MERGE to the partitions it may change.
    """
    if upserts.is_empty() and deletes.is_empty():
        return None
    commit = CommitProperties(custom_metadata={k: str(v) for k, v in (metadata or {}).items()})
    return retry_commit(lambda: _commit_changes(path, upserts, deletes, key, scope, partition_by, commit))


def _commit_changes(
    path: Path,
    upserts: pl.DataFrame,
    deletes: pl.DataFrame,
    key: Sequence[str],
    scope: str | None,
    partition_by: Sequence[str] | None,
    commit: CommitProperties,
) -> int | None:
    """`publish_changes`' one commit, against the table's latest version (so a retry re-reads it)."""
    if not exists(path):
        path.mkdir(parents=True, exist_ok=True)
        write_deltalake(
            str(path),
            upserts.to_arrow(),
            partition_by=list(partition_by or []) or None,
            configuration=TABLE_CONFIGURATION,
            commit_properties=commit,
        )
        return version(path)
    source = pl.concat(
        [
            upserts.with_columns(pl.lit(False).alias(DELETE_FLAG)),
            deletes.with_columns(pl.lit(True).alias(DELETE_FLAG)),
        ],
        how="diagonal_relaxed",
    )
    matches = " AND ".join(f"t.{c} = s.{c}" for c in key)
    predicate = f"({scope}) AND {matches}" if scope else matches
    (
        DeltaTable(str(path))
        .merge(
            source.to_arrow(),
            predicate=predicate,
            source_alias="s",
            target_alias="t",
            commit_properties=commit,
        )
        .when_matched_delete(predicate=f"s.{DELETE_FLAG}")
        .when_matched_update_all(predicate=f"NOT s.{DELETE_FLAG}", except_cols=[DELETE_FLAG])
        .when_not_matched_insert_all(predicate=f"NOT s.{DELETE_FLAG}", except_cols=[DELETE_FLAG])
        .execute()
    )
    return version(path)


def net_changes(
    path: Path, since_version: int, until_version: int, key: Sequence[str]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """What changed after `since_version` up to `until_version`, from the change data feed: the final
    image of every inserted or updated row, and the keys whose last change was a delete. The reader
    names the version it reads up to, so that a commit made meanwhile is left for its next run."""
    feed = DeltaTable(str(path)).load_cdf(starting_version=since_version + 1, ending_version=until_version)
    feed = pl.DataFrame(feed.read_all())
    feed = feed.filter(pl.col(CHANGE_TYPE) != "update_preimage")
    last = (
        feed.with_row_index("_order")
        .sort(COMMIT_VERSION, "_order")
        .unique(list(key), keep="last", maintain_order=True)
    )
    columns = [c for c in feed.columns if c not in (CHANGE_TYPE, COMMIT_VERSION, "_commit_timestamp")]
    upserts = last.filter(pl.col(CHANGE_TYPE) != "delete").select(columns)
    deletes = last.filter(pl.col(CHANGE_TYPE) == "delete").select(list(key))
    return upserts, deletes


def quarantine(path: Path, rows: pl.DataFrame) -> int:
    """Append rows (with their reasons) to a quarantine Delta table, each distinct row once.

    A row quarantined again by a re-run (same content, same reasons) is not added twice, so
    re-running a layer on the same input leaves quarantine unchanged too.
    """
    if rows.is_empty():
        return 0
    content = rows.select([c for c in rows.columns if not c.startswith("__")])
    texts = content.select(
        pl.col(c).list.join(",") if isinstance(dtype, pl.List) else pl.col(c).cast(pl.String)
        for c, dtype in content.schema.items()
    )
    stamped = content.with_columns(surrogate_keys(texts, texts.columns).alias(ROW_HASH))
    if exists(path):
        known = read(path, columns=[ROW_HASH])
        assert known is not None
        stamped = stamped.join(known.unique(), on=ROW_HASH, how="anti")
    if stamped.is_empty():
        return 0
    stamped = stamped.with_columns(
        pl.lit(datetime.now(UTC)).cast(pl.Datetime("us", "UTC")).alias("_quarantined_at")
    )
    path.mkdir(parents=True, exist_ok=True)
    retry_commit(
        lambda: stamped.write_delta(str(path), mode="append", delta_write_options={"schema_mode": "merge"})
    )
    return stamped.height
