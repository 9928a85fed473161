"""Loading the command line or the `checks` package must not import Great Expectations or Soda."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("great_expectations", "soda_core", "soda_duckdb")


def test_cli_and_checks_do_not_import_heavy_engines() -> None:
    code = (
        "import json, sys\n"
        "import shelfguard.cli, checks, checks.gate, checks.rules, checks.readers, checks.sql_rules\n"
        "import checks.engines, checks.engines.semantics, checks.engines.pandera_engine\n"
        "import shelfguard.commands.check\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})))\n"
    )
    output = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                            check=True)
    assert json.loads(output.stdout) == []
