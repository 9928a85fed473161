"""Gold views: row-level security by secure group key and antitrust masking, from the contracts.

The policy is `checks.access` (docs/access.md): a reader sees the rows whose secure group key one
of their groups is granted; rows no group of theirs owns are competition data, whose measures marked
`antitrustMasked` are NULL while younger than the canonical `maskingHorizonDays`.

One view definition (`select_sql`), two places it runs:
- **Databricks Unity Catalog** (`databricks_policy_sql`): dynamic views evaluated by the warehouse,
  `is_account_group_member` and `current_date()` are the server's; readers are granted the views,
  never the tables.
- **Locally** (`GoldViews.connect`, `connect`): DuckDB has no privileges, so the server side (this
  process) evaluates the view for the reader's groups and today's date into a database that holds
  only the reader's rows, already masked, and hands the reader a read-only connection to it with
  file, network and extension access off and the configuration locked. There is nothing else on the
  connection to read and no identity or clock the reader could change.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import quote

import duckdb
import polars as pl
import pyarrow.dataset
from deltalake import DeltaTable
from deltalake.exceptions import DeltaError

from assets.plan import CANONICAL_OBJECTS
from assets.silver.mapping import canonical_schema
from assets.silver.transform import FACT_DATES
from assets.storage import tables
from checks.access import Grant, access_grants, groups, masked_measures, masking_horizon_days
from checks.contract import Contract, properties_of
from shelfguard.settings import DataHome

RAW_PREFIX = "gold_raw_"
CHANGED = "_sg_changed"
"""The (retailer, date) pairs whose rows a reader database replaces, while it is brought up to date."""
PARTITION_COLUMN = "retailer_code"
BUILD_MEMORY_LIMIT = "256MB"
"""DuckDB's memory while it writes a reader database: beyond it, it writes to the file."""
BUILD_BATCH_ROWS = 65_536
DATABASE_NAME = "gold"
"""The catalog name readers see (`gold.daily_store_fact`, or just `daily_store_fact`)."""
READER_CONFIG = {
    "enable_external_access": False,
    "autoload_known_extensions": False,
    "autoinstall_known_extensions": False,
    "allow_community_extensions": False,
    "allow_unsigned_extensions": False,
    "python_enable_replacements": False,
    "lock_configuration": True,
}
"""A reader's connection: no files, URLs, Python objects or extensions; nothing of this can be SET."""


def _duckdb_text(value: str) -> str:
    """DuckDB string literal: a quote is doubled; backslash is an ordinary character."""
    return "'" + value.replace("'", "''") + "'"


def _databricks_text(value: str) -> str:
    """Databricks SQL string literal: backslash is the escape character, and `''` inside a literal is
    not a quote but two adjacent literals, so both backslash and quote are backslash-escaped."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


@dataclass(frozen=True)
class Dialect:
    name: str
    quote: str
    text: Callable[[str], str]
    today: str

    def identifier(self, name: str) -> str:
        return f"{self.quote}{name.replace(self.quote, self.quote * 2)}{self.quote}"


DUCKDB = Dialect("duckdb", '"', _duckdb_text, "current_date")
DATABRICKS = Dialect("databricks", "`", _databricks_text, "current_date()")


def _membership(
    grants: Sequence[Grant], column: str, dialect: Dialect, reader: Collection[str] | None
) -> str:
    """Whether the row's key is granted to a group of the reader: asked of the engine
    (`is_account_group_member`) when `reader` is None, else decided here for the reader's groups."""
    by_group: dict[str, set[str]] = {}
    for grant in grants:
        by_group.setdefault(grant.group, set()).add(grant.secure_group_key)
    if reader is not None:
        keys = sorted({key for group in reader for key in by_group.get(group, ())})
        return f"{column} IN ({', '.join(map(dialect.text, keys))})" if keys else "FALSE"
    terms = [
        f"(is_account_group_member({dialect.text(group)}) AND "
        f"{column} IN ({', '.join(map(dialect.text, sorted(keys)))}))"
        for group, keys in sorted(by_group.items())
    ]
    return "\n     OR ".join(terms) if terms else "FALSE"


def select_sql(
    canonical: Contract,
    canonical_object: str,
    grants: Sequence[Grant],
    *,
    dialect: Dialect,
    source: str,
    reader: Collection[str] | None = None,
    today: date | None = None,
) -> str:
    """The secured rows of one gold table: the view's query. `reader` (groups) and `today` fixed
    by the caller are evaluated here; left None they are the engine's (Unity Catalog)."""
    q = dialect.identifier
    key_column = f"r.{q('secure_group_key')}"
    measures = set(masked_measures(canonical, canonical_object))
    date_column = FACT_DATES.get(canonical_object)
    unmasked = _membership([g for g in grants if not g.masked], key_column, dialect, reader)
    horizon = masking_horizon_days(canonical)
    now = f"DATE {dialect.text(today.isoformat())}" if today else dialect.today
    columns = []
    for name in canonical_schema(canonical, canonical_object).names():
        if name in measures and date_column:
            young = f"r.{q(date_column)} > {now} - INTERVAL {horizon} DAYS"
            columns.append(
                f"CASE WHEN NOT ({unmasked}) AND {young} THEN NULL ELSE r.{q(name)} END AS {q(name)}"
            )
        else:
            columns.append(f"r.{q(name)}")
    select = ",\n  ".join(columns)
    return f"SELECT\n  {select}\nFROM {source} AS r\nWHERE {_membership(grants, key_column, dialect, reader)}"


def databricks_policy_sql(
    canonical: Contract, retailers: Sequence[Contract], *, catalog: str, schema: str, suffix: str = "_v"
) -> str:
    """Unity Catalog SQL of the policy: a dynamic view per gold table, SELECT on the views granted to
    every group the contracts name (never on the tables), governed `classification` tags from the
    canonical properties. Idempotent: a platform team applies it in CI after every contract change."""
    grants = access_grants(canonical, retailers)
    name = DATABRICKS.identifier
    statements = []
    for canonical_object in CANONICAL_OBJECTS:
        source = f"{name(catalog)}.{name(schema)}.{name(canonical_object)}"
        view = f"{name(catalog)}.{name(schema)}.{name(canonical_object + suffix)}"
        query = select_sql(canonical, canonical_object, grants, dialect=DATABRICKS, source=source)
        statements.append(f"CREATE OR REPLACE VIEW {view} AS\n{query}")
        statements += [f"GRANT SELECT ON TABLE {view} TO {name(g)}" for g in groups(canonical, retailers)]
        for prop in properties_of(canonical.object(canonical_object)):
            if isinstance(prop.get("classification"), str):
                tag = f"{DATABRICKS.text('classification')} = {DATABRICKS.text(prop['classification'])}"
                statements.append(f"ALTER TABLE {source} ALTER COLUMN {name(prop['name'])} SET TAGS ({tag})")
    return "".join(statement + ";\n\n" for statement in statements)


def duckdb_views_sql(canonical: Contract, retailers: Sequence[Contract]) -> str:
    """The same views for DuckDB, with the engine-side membership left as `is_account_group_member`
    (for review; the local reader connections evaluate it for the reader instead)."""
    grants = access_grants(canonical, retailers)
    statements = []
    for obj in CANONICAL_OBJECTS:
        query = select_sql(canonical, obj, grants, dialect=DUCKDB, source=DUCKDB.identifier(RAW_PREFIX + obj))
        statements.append(f"CREATE OR REPLACE VIEW {DUCKDB.identifier(obj)} AS\n{query};\n\n")
    return "".join(statements)


# --- local readers -----------------------------------------------------------------------------------


def build_reader_database(
    target: Path,
    home: DataHome,
    canonical: Contract,
    grants: Sequence[Grant],
    reader: Collection[str],
    today: date,
    previous: Path | None = None,
) -> dict[str, int]:
    """Write the rows `reader` (a set of groups) may see on `today`, masked, into a new DuckDB file:
    one table per gold table. Returns the row count of each.

    With `previous` (the database last built for the same reader), a table built by the same query
    (same grants, masking, day) is copied and brought up to date with the retailers and dates whose
    gold rows changed since the gold version it was built from, instead of being rebuilt from all of
    gold (ADR 0024); anything else is rebuilt. Each table's comment records its query's digest and
    gold version, in the same file, so the record can never disagree with the rows.
    """
    built = _built_tables(previous) if previous is not None else {}
    if built:
        shutil.copyfile(previous, target)
    # Bounded memory: DuckDB writes to its file instead of holding a whole gold table's rows.
    con = duckdb.connect(str(target), config={"memory_limit": BUILD_MEMORY_LIMIT})
    counts = {}
    try:
        for canonical_object in CANONICAL_OBJECTS:
            path = home.table("gold", canonical_object)
            version = tables.version(path)
            digest = _digest(_query(canonical, canonical_object, grants, reader, today))
            state = built.get(canonical_object)
            changed = (
                _changed_scope(path, canonical_object, state[1], version)
                if state is not None and state[0] == digest
                else None
            )
            _refresh_table(con, home, canonical, canonical_object, grants, reader, today, changed)
            record = json.dumps({"query_sha256": digest, "gold_version": version})
            con.execute(f"COMMENT ON TABLE {DUCKDB.identifier(canonical_object)} IS {_duckdb_text(record)}")
            (counts[canonical_object],) = con.execute(
                f"SELECT count(*) FROM {DUCKDB.identifier(canonical_object)}"
            ).fetchall()[0]
        con.execute("CHECKPOINT").fetchall()
    finally:
        con.close()
    return counts


def _refresh_table(
    con: duckdb.DuckDBPyConnection,
    home: DataHome,
    canonical: Contract,
    canonical_object: str,
    grants: Sequence[Grant],
    reader: Collection[str],
    today: date,
    changed: pl.DataFrame | None,
) -> None:
    """Rebuild the reader's table from gold (`changed` None), or replace only the rows of the
    retailers (and, for facts, dates) in `changed` (empty: nothing to do).

    Gold is streamed in one retailer's partition at a time, each its own transaction, so the
    memory is that of a partition's batches rather than of the whole table (one CREATE TABLE AS
    over all of gold held about 0.7 GB more for the daily facts of the pipeline benchmark)."""
    name = DUCKDB.identifier(canonical_object)
    path = home.table("gold", canonical_object)
    if changed is not None and changed.is_empty():
        return
    if changed is None:
        empty = (
            DeltaTable(str(path)).to_pyarrow_dataset().schema.empty_table()
            if tables.exists(path)
            else pl.DataFrame(schema=canonical_schema(canonical, canonical_object)).to_arrow()
        )
        query = _query(canonical, canonical_object, grants, reader, today)
        _run_on(con, empty, f"CREATE OR REPLACE TABLE {name} AS {query}")
        codes = _partition_codes(path)
    else:
        codes = sorted(set(changed["retailer_code"]))
        columns = changed.columns
        deleted = " AND ".join(f"c.{DUCKDB.identifier(c)} = {name}.{DUCKDB.identifier(c)}" for c in columns)
        con.register(CHANGED, changed.to_arrow())
        try:
            con.execute(f"DELETE FROM {name} USING {CHANGED} AS c WHERE {deleted}").fetchall()
        finally:
            con.unregister(CHANGED)
    for code in codes:
        scope = None if changed is None else changed.filter(pl.col(PARTITION_COLUMN) == code)
        _insert_partition(con, path, code, scope, name, _query(canonical, canonical_object, grants, reader,
                                                               today, _within(scope)))


def _within(scope: pl.DataFrame | None) -> str:
    """The gold rows of a partition, or only those of the scope's dates (a fact's changed dates)."""
    raw = DUCKDB.identifier(RAW_PREFIX)
    if scope is None or scope.columns == [PARTITION_COLUMN]:
        return raw
    matches = " AND ".join(f"c.{DUCKDB.identifier(c)} = g.{DUCKDB.identifier(c)}" for c in scope.columns)
    return f"(SELECT g.* FROM {raw} AS g SEMI JOIN {CHANGED} AS c ON {matches})"


def _insert_partition(
    con: duckdb.DuckDBPyConnection, path: Path, code: str, scope: pl.DataFrame | None, name: str, query: str
) -> None:
    """INSERT one retailer partition's rows (of the scope's dates, if any), streamed from gold."""
    dataset = DeltaTable(str(path)).to_pyarrow_dataset(file_pruning_predicate=[(PARTITION_COLUMN, "=", code)])
    dates = [c for c in (scope.columns if scope is not None else []) if c != PARTITION_COLUMN]
    where = None
    if scope is not None and dates:  # row groups outside the dates are skipped; the join keeps the exact ones
        field, first, last = pyarrow.dataset.field(dates[0]), scope[dates[0]].min(), scope[dates[0]].max()
        where = (field >= first) & (field <= last)
        con.register(CHANGED, scope.to_arrow())
    rows = dataset.scanner(filter=where, batch_size=BUILD_BATCH_ROWS, batch_readahead=1,
                           fragment_readahead=1).to_reader()
    try:
        _run_on(con, rows, f"INSERT INTO {name} {query}")
    finally:
        if where is not None:
            con.unregister(CHANGED)


def _query(
    canonical: Contract,
    canonical_object: str,
    grants: Sequence[Grant],
    reader: Collection[str],
    today: date,
    source: str = DUCKDB.identifier(RAW_PREFIX),
) -> str:
    return select_sql(canonical, canonical_object, grants, dialect=DUCKDB, source=source, reader=reader,
                      today=today)


def _run_on(con: duckdb.DuckDBPyConnection, data: object, statement: str) -> None:
    """`statement` with `data` (an Arrow table or batch reader) registered as the gold rows."""
    con.register(RAW_PREFIX, data)
    try:
        con.execute(statement).fetchall()
    finally:
        con.unregister(RAW_PREFIX)


def _partition_codes(path: Path) -> list[str]:
    """The retailers with files in a gold table's current version (its partition values)."""
    if not tables.exists(path):
        return []
    actions = DeltaTable(str(path)).get_add_actions(flatten=True)
    return sorted({str(c) for c in actions.column(f"partition.{PARTITION_COLUMN}").to_pylist()})


def _built_tables(path: Path) -> dict[str, tuple[str, int | None]]:
    """Per table of a reader database: the digest of the query it was built with and the gold
    version it holds (from its comment); empty when the file is missing or unreadable."""
    if not path.is_file():
        return {}
    try:
        con = duckdb.connect(str(path), read_only=True)
        try:
            rows = con.execute("SELECT table_name, comment FROM duckdb_tables()").fetchall()
        finally:
            con.close()
    except duckdb.Error:
        return {}
    built = {}
    for table, comment in rows:
        try:
            record = json.loads(comment or "")
            built[table] = (str(record["query_sha256"]), record["gold_version"])
        except (ValueError, KeyError, TypeError):
            continue
    return built


def _changed_scope(
    path: Path, canonical_object: str, since: int | None, until: int | None
) -> pl.DataFrame | None:
    """The retailers (and for facts the dates) whose gold rows changed after version `since` up to
    `until`, from gold's change data feed; None when that cannot be known (a table created or
    replaced since, a feed not readable): the caller rebuilds."""
    if since is None or until is None or since > until:
        return None
    columns = [PARTITION_COLUMN, *([FACT_DATES[canonical_object]] if canonical_object in FACT_DATES else [])]
    if since == until:
        return pl.DataFrame(schema={c: pl.String for c in columns})
    try:
        feed = DeltaTable(str(path)).load_cdf(
            starting_version=since + 1, ending_version=until, columns=columns
        )
        return pl.DataFrame(feed.read_all()).select(columns).unique()
    except (DeltaError, OSError):  # a feed delta-rs cannot read (files vacuumed): rebuild, never guess
        return None


def open_reader(path: Path) -> duckdb.DuckDBPyConnection:
    """A read-only, locked connection to a reader database (see the module docstring)."""
    return duckdb.connect(str(path), read_only=True, config=dict(READER_CONFIG))


def today_utc() -> date:
    return datetime.now(UTC).date()


class GoldViews:
    """The gold views for readers known to a directory (user or service principal -> groups, as an
    identity provider would say); unknown users have no groups and see nothing."""

    def __init__(
        self,
        home: DataHome,
        canonical: Contract,
        retailers: Sequence[Contract],
        directory: Mapping[str, Sequence[str]],
    ):
        self.home = home
        self.canonical = canonical
        self.grants = access_grants(canonical, retailers)
        self.groups = groups(canonical, retailers)
        self.directory = {user: list(g) for user, g in directory.items()}

    def connect(self, user: str, *, today: date | None = None) -> duckdb.DuckDBPyConnection:
        """`user`'s connection: only the views, evaluated for the user's groups and `today` (default
        the UTC date) by this process before the user's first statement."""
        folder = Path(tempfile.mkdtemp(prefix="shelfguard-reader-"))
        try:
            path = folder / f"{DATABASE_NAME}.duckdb"
            build_reader_database(
                path, self.home, self.canonical, self.grants, self.directory.get(user, []),
                today or today_utc(),
            )
            return open_reader(path)
        finally:
            shutil.rmtree(folder, ignore_errors=True)  # the open connection keeps its file handle

    def publish_group_databases(self, *, today: date | None = None) -> dict[str, tuple[Path, dict[str, int]]]:
        """One database per group under the data home's `views/` for BI tools (file permissions are
        the access control there): each replaced atomically, and only when a table of it would
        change (brought up to date from what changed in gold, ADR 0024). Returns each group's file
        and counts."""
        folder = self.home.views
        folder.mkdir(parents=True, exist_ok=True)
        day = today or today_utc()
        published = {}
        for group in self.groups:
            final = group_database_path(self.home, group)
            counts = current_counts(final, self.home, self.canonical, self.grants, [group], day)
            if counts is None:
                partial = final.with_name(f".{final.name}.{os.getpid()}.partial")
                partial.unlink(missing_ok=True)
                counts = build_reader_database(
                    partial, self.home, self.canonical, self.grants, [group], day, previous=final
                )
                os.chmod(partial, 0o640)
                os.replace(partial, final)
            published[group] = (final, counts)
        return published


def current_counts(
    path: Path,
    home: DataHome,
    canonical: Contract,
    grants: Sequence[Grant],
    reader: Collection[str],
    today: date,
) -> dict[str, int] | None:
    """The row counts of a reader database that is up to date (every table built by today's query
    from gold's current version), else None."""
    built = _built_tables(path)
    for canonical_object in CANONICAL_OBJECTS:
        digest = _digest(_query(canonical, canonical_object, grants, reader, today))
        if built.get(canonical_object) != (digest, tables.version(home.table("gold", canonical_object))):
            return None
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {
            obj: con.execute(f"SELECT count(*) FROM {DUCKDB.identifier(obj)}").fetchall()[0][0]
            for obj in CANONICAL_OBJECTS
        }
    finally:
        con.close()


def _digest(query: str) -> str:
    return hashlib.sha256(query.encode("utf-8")).hexdigest()


def group_database_path(home: DataHome, group: str) -> Path:
    """`views/<group>.duckdb`, the group name percent-encoded so that no name leaves the folder."""
    return home.views / f"{quote(group, safe='@_-.')}.duckdb"


def load_directory(path: Path) -> dict[str, list[str]]:
    """The local stand-in for an identity provider: `users: {<user>: [<group>, …]}` in YAML, read
    with the same bounds as a contract (`checks.safe_yaml`: no objects, core tags, depth and size)."""
    from checks.safe_yaml import YamlRefused, parse_bounded

    if not path.is_file():
        return {}
    try:
        document, _ = parse_bounded(path.read_text("utf-8"))
    except YamlRefused as exc:
        raise DirectoryError(f"{path}:{exc.line}:{exc.column}: not readable YAML: {exc.message}") from None
    except UnicodeDecodeError as exc:
        raise DirectoryError(f"{path}: not readable YAML: {str(exc).splitlines()[0]}") from None
    users = document.get("users") if isinstance(document, dict) else None
    if not isinstance(users, dict) or not all(
        isinstance(u, str) and isinstance(g, list) and all(isinstance(x, str) for x in g)
        for u, g in users.items()
    ):
        raise DirectoryError(f"{path}: expected users: {{<user>: [<group>, ...]}}")
    return {user: list(g) for user, g in users.items()}


class DirectoryError(ValueError):
    """The reader directory file cannot be read."""


DEMO_READER_DOMAIN = "demo.example"


def write_demo_directory(home: DataHome, groups: Sequence[str]) -> Path | None:
    """A reader directory with one demo user per group (`<group>@demo.example`), so that the demo's
    gold can be read through the views at once. An existing directory is the operator's: left alone."""
    path = home.directory_file
    if path.exists():
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["# Demo readers written by `shelfguard demo`: one user per group of the contracts' roles.",
             "users:"]
    lines += [f"  {json.dumps(f'{group}@{DEMO_READER_DOMAIN}')}: [{json.dumps(group)}]" for group in groups]
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


def connect(
    user: str,
    *,
    home: DataHome | None = None,
    contracts_dir: Path | None = None,
    directory: Mapping[str, Sequence[str]] | None = None,
) -> duckdb.DuckDBPyConnection:
    """A reader's DuckDB connection to gold, as `user`: only the views exist on it (docs/access.md).

    The user's groups come from `directory`, else the data home's `access/directory.yaml`.
    """
    from assets.plan import build_plan
    from shelfguard.settings import CONTRACTS_DIR

    home = home or DataHome.from_env()
    plan = build_plan(contracts_dir or CONTRACTS_DIR)
    known = directory if directory is not None else load_directory(home.directory_file)
    return GoldViews(home, plan.canonical, plan.retailers, known).connect(user)
