"""Soda and Great Expectations are imported only when an engine needs them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def imported_after(statement: str) -> set[str]:
    code = f"{statement}\nimport sys\nprint(' '.join(sorted(m.split('.')[0] for m in sys.modules)))"
    output = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True,
                            check=True).stdout
    return set(output.split())


def test_engine_modules_do_not_import_their_libraries_until_used() -> None:
    loaded = imported_after("import checks.engines.soda_engine, checks.engines.gx_engine, checks.gate")
    assert not loaded & {"great_expectations", "soda_core", "soda_duckdb"}
