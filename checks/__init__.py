"""Contracts, rules, engines and gates: plain Python, no Dagster."""

from __future__ import annotations

import os
import sys
from importlib.util import find_spec


def _let_pyspark_import_without_a_main_file() -> None:
    """pyspark-client 4.2 calls `sys.exit(-1)` on importing `pyspark.sql.connect` when the main
    module has no file (`python -c …`, and the multiprocessing children of such a process, e.g. the
    Great Expectations worker, whose library imports it): it takes that for its own doctest run and
    looks for a Spark distribution. `SPARK_HOME` pointing at the installed package ends that search;
    nothing else reads it here (no JVM, Spark Connect only). Set only in exactly that case."""
    main = sys.modules.get("__main__")
    if main is None or getattr(main, "__spec__", None) is not None or hasattr(main, "__file__") \
            or hasattr(sys, "ps1") or "SPARK_HOME" in os.environ:
        return
    spec = find_spec("pyspark")
    if spec is not None and spec.origin is not None:
        os.environ["SPARK_HOME"] = os.path.dirname(spec.origin)


_let_pyspark_import_without_a_main_file()
