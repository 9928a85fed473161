"""The process's Spark Connect session: local Sail, a Spark Connect server, or Databricks Connect.

One plain-Python place (no Dagster) that the spark gate engine, the Spark pipeline steps and the
Dagster resource all ask for a session, so every caller in a process shares one server and one
session. Which Spark is chosen by the environment, like Dagster's local/production resources:

- `SPARK_REMOTE` set (e.g. `sc://spark.example:15002`): that Spark Connect server;
- `DATABRICKS_CLUSTER_ID` or `DATABRICKS_SERVERLESS_COMPUTE_ID` set: Databricks Connect
  (`databricks-connect` must be installed; it reads host and credentials from its usual
  `DATABRICKS_*` variables or config profile) — imported only then;
- otherwise: Sail (`pysail`, a Spark Connect server in Rust, no JVM) started in this process on a
  free loopback port and stopped when the process exits.

Only the Spark Connect API is used, so one code path runs on all three. A forked child (Dagster's
multiprocess executor) does not inherit its parent's gRPC channel or server thread: it starts its own.
"""

from __future__ import annotations

import atexit
import os
import threading
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

SparkKind = Literal["sail", "spark-connect", "databricks"]
DATABRICKS_COMPUTE_VARIABLES = ("DATABRICKS_CLUSTER_ID", "DATABRICKS_SERVERLESS_COMPUTE_ID")


@dataclass(frozen=True)
class SparkTarget:
    """Which Spark a session talks to (for logs and run metadata; never carries a credential)."""

    kind: SparkKind
    address: str
    """`sc://127.0.0.1:<port>` for local Sail, the host part of `SPARK_REMOTE`, or the Databricks host."""


@dataclass
class _Started:
    pid: int
    session: SparkSession
    target: SparkTarget
    server: object | None  # pysail.spark.SparkConnectServer when local


_lock = threading.Lock()
_current: _Started | None = None


def spark_target(remote: str | None = None) -> SparkKind:
    """The kind of Spark `spark_session(remote)` would use: `remote` (a `sc://` URL, or `"sail"` to
    force local Sail) wins over the environment."""
    if remote == "sail":
        return "sail"
    if remote or os.environ.get("SPARK_REMOTE"):
        return "spark-connect"
    if any(os.environ.get(name) for name in DATABRICKS_COMPUTE_VARIABLES):
        return "databricks"
    return "sail"


def spark_session(remote: str | None = None) -> SparkSession:
    """The process's Spark session, started on first use (local Sail takes about 2 s here).

    `remote` overrides the environment for the first call (a `sc://` URL, or `"sail"`); later calls
    return the same session whatever they pass until `stop()`."""
    global _current
    with _lock:
        if _current is not None and _current.pid == os.getpid():
            return _current.session
        _current = _start(spark_target(remote), remote)
        return _current.session


def current_target() -> SparkTarget | None:
    """What the running session talks to, or None when none was started in this process."""
    started = _current
    return started.target if started is not None and started.pid == os.getpid() else None


def stop() -> None:
    """Stop the session and, when local, the Sail server. The next `spark_session()` starts anew."""
    global _current
    with _lock:
        started, _current = _current, None
    if started is None or started.pid != os.getpid():
        return
    try:
        started.session.stop()
    finally:
        if started.server is not None:
            started.server.stop()


def _start(kind: SparkKind, remote: str | None) -> _Started:
    _quiet_client()
    if kind == "databricks":
        try:
            from databricks.connect import DatabricksSession
        except ImportError as exc:
            raise RuntimeError(
                f"{' or '.join(DATABRICKS_COMPUTE_VARIABLES)} is set but databricks-connect is not "
                "installed; install it (it replaces pyspark-client) or unset them") from exc
        session = DatabricksSession.builder.getOrCreate()
        host = os.environ.get("DATABRICKS_HOST", "databricks (config profile)")
        return _Started(os.getpid(), session, SparkTarget("databricks", host), None)
    from pyspark.sql import SparkSession

    server = None
    if kind == "sail":
        server = _start_sail()
        host, port = server.listening_address
        address = url = f"sc://{host}:{port}"
    else:
        url = remote or os.environ["SPARK_REMOTE"]
        address = url.split(";", 1)[0]  # `;token=...` and other parameters never leave this module
    try:
        session = SparkSession.builder.remote(url).create()
        # One time zone for every engine: timestamps without zone compare the same as in Polars.
        session.conf.set("spark.sql.session.timeZone", "UTC")
    except Exception:
        if server is not None:
            server.stop()
        raise
    return _Started(os.getpid(), session, SparkTarget(kind, address), server)


def _start_sail():
    # Sail logs through RUST_LOG (INFO by default: a line per session); keep a user's own setting.
    os.environ.setdefault("RUST_LOG", "warn")
    from pysail.spark import SparkConnectServer

    server = SparkConnectServer(ip="127.0.0.1", port=0)
    server.start(background=True)
    return server


def _quiet_client() -> None:
    """pyspark-client 4.2 warns at import that pandas 3 is untested; our code moves rows as Arrow."""
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas",
                            category=FutureWarning)


atexit.register(stop)


def adopt(session: SparkSession, target: SparkTarget) -> None:
    """Make a session this process already has (a Databricks job cluster's own) the process's
    session, so that every caller uses it; `stop()` then stops only the session."""
    global _current
    with _lock:
        _current = _Started(os.getpid(), session, target, None)
