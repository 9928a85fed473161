"""OpenLineage names for the datasets shelfguard reads and writes.

Catalogs join lineage from many producers only when everyone names a dataset the same way, so the
names follow the OpenLineage naming conventions (namespace = the storage, name = the path or table
inside it), never Dagster asset keys. Credentials are never part of a name: database and API names
are built from host, port and path only.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from shelfguard.settings import DataHome

# Object stores and file systems whose authority is part of the namespace (naming spec table).
_BUCKET_SCHEMES = frozenset({"s3", "s3a", "gs", "gcs", "wasbs", "abfss"})
_DEFAULT_DB_PORTS = {"postgres": 5432, "mysql": 3306, "sqlserver": 1433, "oracle": 1521}
_DB_SCHEME_ALIASES = {"postgresql": "postgres", "mssql": "sqlserver", "mariadb": "mysql"}


@dataclass(frozen=True, order=True)
class DatasetId:
    """A dataset's OpenLineage identity."""

    namespace: str
    name: str

    @property
    def node_id(self) -> str:
        """The id Marquez uses for the dataset in its lineage graph (`dataset:<namespace>:<name>`)."""
        return dataset_node_id(self.namespace, self.name)


def dataset_node_id(namespace: str, name: str) -> str:
    return f"dataset:{namespace}:{name}"


def job_node_id(namespace: str, name: str) -> str:
    return f"job:{namespace}:{name}"


def file_dataset(location: str | os.PathLike[str]) -> DatasetId:
    """A file or folder: local paths are namespace `file`, name = absolute path; URIs keep their storage."""
    text = os.fspath(location)
    if "://" not in text:
        path = Path(text).absolute()  # a symlink is named as itself, never as its target
        return DatasetId("file", str(path.parent.resolve() / path.name))
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme == "file":
        host = parts.netloc if parts.netloc not in ("", "localhost") else ""
        return DatasetId(f"file://{host}" if host else "file", parts.path)
    name = parts.path.lstrip("/") if scheme in _BUCKET_SCHEMES else parts.path
    return DatasetId(f"{scheme}://{parts.netloc}", name)


def table_dataset(home: DataHome, layer: str, table: str) -> DatasetId:
    """A Delta table of the warehouse (`SHELFGUARD_HOME/warehouse/<layer>/<table>`)."""
    return file_dataset(home.table(layer, table))


def database_dataset(url: str, table: str) -> DatasetId:
    """A table of a database given by an SQLAlchemy-style URL; user and password are dropped.

    SQLite (a file) is namespace `sqlite://<absolute path of the database file>`, name = table; a
    server database is namespace `<scheme>://<host>:<port>`, name = `<database>.<table>` (Postgres:
    `<database>.<schema>.<table>`, schema `public` when the table has none).
    """
    parts = urlsplit(url)
    scheme = parts.scheme.split("+", 1)[0].lower()
    scheme = _DB_SCHEME_ALIASES.get(scheme, scheme)
    if not scheme:
        raise ValueError("database URL has no scheme (expected e.g. sqlite:////path/db.sqlite)")
    if scheme == "sqlite":
        # sqlite:///relative.db and sqlite:////absolute.db: the first slash separates the empty host.
        database = parts.path[1:]
        location = str(Path(database).resolve()) if database and database != ":memory:" else ":memory:"
        return DatasetId(f"sqlite://{location}", table)
    if not parts.hostname:
        raise ValueError(f"database URL for {scheme} has no host")
    port = parts.port or _DEFAULT_DB_PORTS.get(scheme)
    namespace = f"{scheme}://{parts.hostname}" + (f":{port}" if port else "")
    qualified = table if scheme != "postgres" or "." in table else f"public.{table}"
    database = parts.path.strip("/")
    return DatasetId(namespace, f"{database}.{qualified}" if database else qualified)


def api_dataset(location: str, endpoint: str) -> DatasetId:
    """An HTTP API endpoint: namespace `<scheme>://<host>[:<port>]`, name = the endpoint's path.

    The endpoint is taken relative to the location's path (`http://h/v1` + `/sales` → `/v1/sales`),
    unless it already starts with it. Query strings and user info are dropped (they may hold tokens).
    """
    parts = urlsplit(location)
    if not parts.scheme or not parts.hostname:
        raise ValueError(f"API location {location!r} is not an absolute http(s) URL")
    namespace = f"{parts.scheme.lower()}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    base = parts.path.rstrip("/")
    path = "/" + endpoint.split("?", 1)[0].lstrip("/")
    return DatasetId(namespace, path if path.startswith(base + "/") else base + path)


def asset_job_name(asset_key: Sequence[str]) -> str:
    """The OpenLineage job of an asset's materialisation: its key joined by dots (`gold.prod_dim`)."""
    return ".".join(asset_key)
