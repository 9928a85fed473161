"""Gold views: row-level security by secure group key and antitrust masking, from the contracts.

Grants come from the contracts' `roles`: a group *owns* the retailers whose contract lists it
(`{role: <group>, access: read}`), and *may see* the secure group keys its role in the canonical
contract grants (`secureGroupKeys`). Rows a reader's groups neither own nor may see are filtered
out (unknown users see nothing). Rows they may see but do not own are competition data when the
granting role has `maskCompetition: true`: every measure marked `antitrustMasked` is returned as
NULL for records younger than the canonical contract's `maskingHorizonDays`, as is otherwise.

One view definition, two dialects: DuckDB locally (gold Delta tables read with deltalake and
registered as Arrow datasets, nothing downloaded; `is_account_group_member` is a macro over the
reader's groups set on the connection) and Databricks Unity Catalog dynamic views (the built-in
`is_account_group_member`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import duckdb
import polars as pl
from deltalake import DeltaTable

from assets import tables
from assets.mapping import canonical_schema
from assets.plan import CANONICAL_OBJECTS
from assets.silver import FACT_DATES
from checks.access import Grant, access_grants, masking_horizon_days
from checks.contract import Contract, custom_properties, properties_of
from shelfguard.settings import DataHome

RAW_PREFIX = "gold_raw_"


def masked_measures(canonical: Contract, canonical_object: str) -> list[str]:
    return [
        p["name"]
        for p in properties_of(canonical.object(canonical_object))
        if custom_properties(p.get("customProperties")).get("antitrustMasked") is True
    ]


@dataclass(frozen=True)
class Dialect:
    name: str
    quote: str
    today: str

    def identifier(self, name: str) -> str:
        return f"{self.quote}{name.replace(self.quote, self.quote * 2)}{self.quote}"


DUCKDB = Dialect("duckdb", '"', "sg_today()")
DATABRICKS = Dialect("databricks", "`", "current_date()")


def _text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _membership(grants: Sequence[Grant], column: str) -> str:
    """`(is_account_group_member(g) AND key IN (...)) OR ...`; FALSE when there is no grant."""
    by_group: dict[str, list[str]] = {}
    for grant in grants:
        by_group.setdefault(grant.group, []).append(grant.secure_group_key)
    terms = [
        f"(is_account_group_member({_text(group)}) AND {column} IN ({', '.join(map(_text, sorted(keys)))}))"
        for group, keys in sorted(by_group.items())
    ]
    return "\n     OR ".join(terms) if terms else "FALSE"


def view_sql(
    canonical: Contract,
    canonical_object: str,
    grants: Sequence[Grant],
    *,
    dialect: Dialect,
    source: str,
    view: str,
) -> str:
    """The secured view of one gold table in one dialect."""
    q = dialect.identifier
    key_column = f"r.{q('secure_group_key')}"
    measures = set(masked_measures(canonical, canonical_object))
    date_column = FACT_DATES.get(canonical_object)
    unmasked = _membership([g for g in grants if not g.masked], key_column)
    horizon = masking_horizon_days(canonical)
    columns = []
    for name in canonical_schema(canonical, canonical_object).names():
        if name in measures and date_column:
            young = f"r.{q(date_column)} > {dialect.today} - INTERVAL {horizon} DAYS"
            columns.append(
                f"CASE WHEN NOT ({unmasked}) AND {young} THEN NULL ELSE r.{q(name)} END AS {q(name)}"
            )
        else:
            columns.append(f"r.{q(name)}")
    select = ",\n  ".join(columns)
    return (
        f"CREATE OR REPLACE VIEW {view} AS\nSELECT\n  {select}\nFROM {source} AS r\n"
        f"WHERE {_membership(grants, key_column)}"
    )


def databricks_views_sql(
    canonical: Contract, retailers: Sequence[Contract], *, catalog: str, schema: str, suffix: str = "_v"
) -> str:
    """Unity Catalog dynamic views over the gold tables, one statement each."""
    grants = access_grants(canonical, retailers)
    statements = []
    for canonical_object in CANONICAL_OBJECTS:
        name = DATABRICKS.identifier
        source = f"{name(catalog)}.{name(schema)}.{name(canonical_object)}"
        view = f"{name(catalog)}.{name(schema)}.{name(canonical_object + suffix)}"
        statements.append(
            view_sql(canonical, canonical_object, grants, dialect=DATABRICKS, source=source, view=view) + ";"
        )
    return "\n\n".join(statements) + "\n"


class GoldViews:
    """Local DuckDB views over the gold tables; `connect(user)` opens a connection as that reader.

    `directory` maps users (or service principals) to their groups, as an identity provider would.
    Locally the raw tables are registered on the same connection (DuckDB has no privileges); the
    enforcement point in production is Unity Catalog, with the same view definitions.
    """

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
        self.directory = {user: list(groups) for user, groups in directory.items()}

    def connect(self, user: str, *, today: date | None = None) -> duckdb.DuckDBPyConnection:
        con = duckdb.connect()
        con.execute("SET VARIABLE sg_groups = $groups::VARCHAR[]", {"groups": self.directory.get(user, [])})
        con.execute("SET VARIABLE sg_user = $user", {"user": user})
        con.execute("SET VARIABLE sg_today = $today::DATE", {"today": today})
        con.execute(
            "CREATE MACRO is_account_group_member(g) AS "
            "list_contains(coalesce(getvariable('sg_groups'), []::VARCHAR[]), g)"
        )
        con.execute("CREATE MACRO sg_today() AS coalesce(getvariable('sg_today'), current_date)")
        for canonical_object in CANONICAL_OBJECTS:
            raw = RAW_PREFIX + canonical_object
            path = self.home.table("gold", canonical_object)
            if tables.exists(path):
                con.register(raw, DeltaTable(str(path)).to_pyarrow_dataset())
            else:
                con.register(
                    raw, pl.DataFrame(schema=canonical_schema(self.canonical, canonical_object)).to_arrow()
                )
            con.execute(
                view_sql(
                    self.canonical,
                    canonical_object,
                    self.grants,
                    dialect=DUCKDB,
                    source=DUCKDB.identifier(raw),
                    view=DUCKDB.identifier(canonical_object),
                )
            )
        return con
