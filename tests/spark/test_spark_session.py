"""The session starter: local Sail on a loopback port, shared by every caller, stopped with the
process; `SPARK_REMOTE` and Databricks Connect chosen by environment."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from checks import spark_session

pytestmark = pytest.mark.spark


def run_python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`code` run as `python -c` (a main module without a file, which pyspark-client 4.2 would exit
    on: `checks` lets it import)."""
    environment = {k: v for k, v in os.environ.items()
                   if k not in ("SPARK_REMOTE", "SPARK_HOME") and not k.startswith("DATABRICKS_")} | env
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          env=environment, timeout=300)


def test_local_sail_is_shared_and_on_loopback(spark) -> None:
    target = spark_session.current_target()
    if target is None or target.kind != "sail":
        pytest.skip("the test session runs on a remote Spark")
    assert spark_session.spark_session() is spark
    assert target.address.startswith("sc://127.0.0.1:")
    assert spark.range(5).selectExpr("sum(id) AS s").first()["s"] == 10
    assert spark.conf.get("spark.sql.session.timeZone") == "UTC"


def test_spark_remote_is_used_and_stop_closes_local_server(spark) -> None:
    target = spark_session.current_target()
    if target is None or target.kind != "sail":
        pytest.skip("the test session runs on a remote Spark")
    # A second process connects to this session's Sail through SPARK_REMOTE and starts no server.
    result = run_python("""
        from checks import spark_session
        s = spark_session.spark_session()
        print(spark_session.current_target().kind, s.range(3).count())
    """, SPARK_REMOTE=target.address)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["spark-connect", "3"]
    # A process of its own starts Sail, stop() closes its port, a later call starts anew; exit is clean.
    result = run_python("""
        import socket
        from checks import spark_session
        spark_session.spark_session()
        port = int(spark_session.current_target().address.rsplit(":", 1)[1])
        spark_session.stop()
        assert spark_session.current_target() is None
        with socket.socket() as probe:
            print("closed" if probe.connect_ex(("127.0.0.1", port)) else "open")
        print(spark_session.spark_session().range(2).count())
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["closed", "2"]


def test_databricks_connect_chosen_by_environment_and_refused_clearly_without_it() -> None:
    assert spark_session.spark_target("sail") == "sail"
    assert spark_session.spark_target("sc://h:1") == "spark-connect"
    result = run_python("""
        from checks import spark_session
        print(spark_session.spark_target())
        try:
            spark_session.spark_session()
        except RuntimeError as exc:
            print(exc)
    """, DATABRICKS_CLUSTER_ID="0123-456789-abc")
    assert result.returncode == 0, result.stderr
    kind, message = result.stdout.splitlines()
    assert kind == "databricks"
    assert "databricks-connect is not installed" in message


def test_no_session_without_asking() -> None:
    # Importing the module starts nothing (the gate and the pipeline import it eagerly).
    result = run_python("""
        import sys
        from checks import spark_session
        print(spark_session.current_target(), "pysail" in sys.modules, "pyspark" in sys.modules)
    """)
    assert result.stdout.split() == ["None", "False", "False"]

