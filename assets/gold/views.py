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
from deltalake import DeltaTable

from assets.plan import CANONICAL_OBJECTS
from assets.silver.mapping import canonical_schema
from assets.silver.transform import FACT_DATES
from assets.storage import tables
from checks.access import Grant, access_grants, groups, masked_measures, masking_horizon_days
from checks.contract import Contract, properties_of
from shelfguard.settings import DataHome

RAW_PREFIX = "gold_raw_"
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
) -> dict[str, int]:
    """Write the rows `reader` (a set of groups) may see on `today`, masked, into a new DuckDB file:
    one table per gold table. Returns the row count of each."""
    con = duckdb.connect(str(target))
    counts = {}
    try:
        for canonical_object in CANONICAL_OBJECTS:
            raw = RAW_PREFIX + canonical_object
            path = home.table("gold", canonical_object)
            data = (
                DeltaTable(str(path)).to_pyarrow_dataset()
                if tables.exists(path)
                else pl.DataFrame(schema=canonical_schema(canonical, canonical_object)).to_arrow()
            )
            con.register(raw, data)
            query = select_sql(
                canonical, canonical_object, grants, dialect=DUCKDB, source=DUCKDB.identifier(raw),
                reader=reader, today=today,
            )
            con.execute(f"CREATE TABLE {DUCKDB.identifier(canonical_object)} AS {query}").fetchall()
            con.unregister(raw)
            (counts[canonical_object],) = con.execute(
                f"SELECT count(*) FROM {DUCKDB.identifier(canonical_object)}"
            ).fetchall()[0]
        con.execute("CHECKPOINT").fetchall()
    finally:
        con.close()
    return counts


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
        the access control there): each replaced atomically. Returns each group's file and counts."""
        folder = self.home.views
        folder.mkdir(parents=True, exist_ok=True)
        day = today or today_utc()
        published = {}
        for group in self.groups:
            final = group_database_path(self.home, group)
            partial = final.with_name(f".{final.name}.{os.getpid()}.partial")
            partial.unlink(missing_ok=True)
            counts = build_reader_database(partial, self.home, self.canonical, self.grants, [group], day)
            os.chmod(partial, 0o640)
            os.replace(partial, final)
            published[group] = (final, counts)
        return published


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
