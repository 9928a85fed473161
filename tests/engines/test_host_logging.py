"""An engine is a guest in the process that runs it: the process's logging works as before a gate."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
CANONICAL = REPO_ROOT / "contracts" / "canonical" / "pos_canonical.odcs.yaml"


@pytest.mark.parametrize("engine", ["pandera", "soda", "gx"])
def test_warnings_reach_stderr_after_a_gate(engine: str) -> None:
    """Soda Core attaches a handler to the root logger that drops every record outside a Soda run;
    left there, it would silence the process's warnings, the log channel's alerts among them."""
    code = (
        "import logging, polars as pl\n"
        "from checks.contract import load_contract\n"
        "from checks.gate import run_gate\n"
        f"contract = load_contract({str(CANONICAL)!r})\n"
        "batch = pl.DataFrame({'product_id': ['nwg_us:1'], 'is_current': [True]})\n"
        f"run_gate(contract, 'prod_dim', batch, engine={engine!r})\n"
        "logging.getLogger('shelfguard.alerts').warning('still heard')\n"
        "print(len(logging.getLogger().handlers))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True,
                          check=True)
    assert "still heard" in done.stderr
    assert done.stdout.split() == ["0"], "the root logger has no handler left behind"
