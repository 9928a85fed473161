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


STARTUP_HEAVY = ("dagster", "great_expectations", "soda_core", "soda_duckdb", "deltalake", "sqlalchemy")
"""What neither `shelfguard check` (default engine, a CSV or Parquet file) nor `contracts lint` needs."""


def modules_loaded_by(argv: list[str]) -> set[str]:
    """The top-level packages a whole `shelfguard ARGV` run has imported when it ends."""
    code = (
        "import sys\n"
        "from shelfguard.cli import main\n"
        f"status = main({argv!r})\n"
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    output = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                            timeout=300, check=True)
    return set(output.stdout.split())


def test_check_loads_only_what_the_default_engine_needs(tmp_path: Path) -> None:
    import polars as pl

    data = tmp_path / "sales.parquet"
    # a row without transaction_id violates a rule: pandera validates the violating rows
    rows = {"transaction_id": ["T1", None], "sale_date": ["2024-01-01", "2024-01-02"]}
    pl.DataFrame(rows).write_parquet(data)
    for path in (data, tmp_path / "sales.csv"):
        if path.suffix == ".csv":
            pl.read_parquet(data).write_csv(path)
        loaded = modules_loaded_by(["check", "--contract", "benchmarks/pos_sales_bench.odcs.yaml",
                                    "--data", str(path), "--object", "pos_sales"])
        assert "pandera" in loaded  # the default engine ran
        assert not loaded & set(STARTUP_HEAVY), path.suffix


def test_contracts_lint_loads_no_engine_library() -> None:
    loaded = modules_loaded_by(["contracts", "lint"])
    assert not loaded & {*STARTUP_HEAVY, "pandas", "pandera", "pyarrow"}


def test_contracts_lint_loads_no_polars_unless_a_pattern_is_checked(tmp_path: Path) -> None:
    """Lint checks a pattern with the gates' own regex engines (Polars' Rust regex, DuckDB's RE2);
    a contract without one is linted without either."""
    from tests.contracts.test_contract_load import large_contract_text

    path = tmp_path / "large.odcs.yaml"
    path.write_text(large_contract_text(300), "utf-8")
    loaded = modules_loaded_by(["contracts", "lint", str(path)])
    assert not loaded & {*STARTUP_HEAVY, "polars", "duckdb", "pandas", "pandera", "pyarrow"}


def test_check_prints_nothing_but_its_result(tmp_path: Path) -> None:
    """pandera imports pyspark.pandas when pyspark is installed, which warns about pandas 3 on
    stderr: the pandera engine imports it without, so CI sees no stray lines."""
    import polars as pl

    data = tmp_path / "sales.parquet"
    rows = {"transaction_id": ["T1", None], "sale_date": ["2024-01-01", "2024-01-02"]}
    pl.DataFrame(rows).write_parquet(data)
    argv = ["check", "--contract", "benchmarks/pos_sales_bench.odcs.yaml", "--data", str(data),
            "--object", "pos_sales", "--format", "json"]
    done = subprocess.run([sys.executable, "-m", "shelfguard.cli", *argv], cwd=REPO, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 1 and json.loads(done.stdout)["verdict"] == "block"
    assert done.stderr == ""
