"""Great Expectations runs in a worker process of its own, started early by a pipeline (ADR 0013)."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from checks.contract import load_contract
from checks.engines import gx_worker, warm_up
from checks.engines.base import ROW_NUMBER
from checks.engines.gx_worker import ExpectationSpec, GxRuleError, GxWorkerError
from checks.gate import engines_for

REPO_ROOT = Path(__file__).resolve().parents[2]
CANONICAL = REPO_ROOT / "contracts" / "canonical" / "pos_canonical.odcs.yaml"
NOT_NULL = ExpectationSpec("expect_column_values_to_not_be_null", {"column": "a"})


def workers() -> list[multiprocessing.Process]:
    return multiprocessing.active_children()


def test_the_caller_never_imports_great_expectations() -> None:
    """A gate with GX rules in a fresh process: the verdict comes back, GX stays in the worker."""
    code = (
        "import sys, polars as pl\n"
        "from checks.contract import load_contract\n"
        "from checks.gate import run_gate\n"
        f"contract = load_contract({str(CANONICAL)!r})\n"
        "batch = pl.DataFrame({'net_sales': [1.0, 5000000.0]})\n"
        "gate = run_gate(contract, 'daily_store_fact', batch, engine='gx').result\n"
        "rule = next(r for r in gate.rules if r.id == 'daily_store_fact_net_sales_range')\n"
        "print(rule.value, rule.engine, any(m.startswith('great_expectations') for m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True,
                          check=True)
    assert done.stdout.split() == ["1.0", "gx", "False"]


def test_unexpected_rows_come_back_as_row_numbers() -> None:
    frame = pl.DataFrame({ROW_NUMBER: [10, 11, 12], "a": [1, None, None]})
    (outcome,) = gx_worker.validate(frame, [NOT_NULL])
    assert (outcome.success, outcome.unexpected_count, outcome.raised) == (False, 2, None)
    assert outcome.unexpected_index.to_list() == [11, 12]


def test_a_contract_expectation_is_checked_in_the_worker() -> None:
    between = ExpectationSpec("expect_column_pair_values_a_to_be_greater_than_b",
                              {"column_A": "x", "column_B": "y"})
    assert gx_worker.inspect_custom(between) == ["x", "y"]
    assert gx_worker.inspect_custom(ExpectationSpec("expect_table_row_count_to_equal", {"value": 1})) is None
    with pytest.raises(GxRuleError, match="unknown expectation 'expect_the_moon'"):
        gx_worker.inspect_custom(ExpectationSpec("expect_the_moon"))
    with pytest.raises(GxRuleError, match="invalid kwargs for expect_column_values_to_not_be_null"):
        gx_worker.inspect_custom(ExpectationSpec("expect_column_values_to_not_be_null", {"colum": "a"}))


def test_a_worker_that_dies_is_reported_and_replaced() -> None:
    """Killed mid-run (out of memory, say): that validation fails with a clear error, the next one
    starts a new worker."""
    frame = pl.DataFrame({ROW_NUMBER: [0], "a": [1]})
    gx_worker.validate(frame, [NOT_NULL])
    (worker,) = workers()
    os.kill(worker.pid, signal.SIGKILL)
    worker.join(timeout=30)
    with pytest.raises(GxWorkerError, match="Great Expectations worker process ended"):
        gx_worker.validate(frame, [NOT_NULL])
    (outcome,) = gx_worker.validate(frame, [NOT_NULL])
    assert outcome.success
    assert [p.pid for p in workers()] != [worker.pid]


def test_a_worker_ends_when_its_caller_is_killed() -> None:
    code = (
        "import multiprocessing, time\n"
        "from checks.engines import gx_worker\n"
        "gx_worker.start()\n"
        "print(multiprocessing.active_children()[0].pid, flush=True)\n"
        "time.sleep(120)\n"
    )
    caller = subprocess.Popen([sys.executable, "-c", code], cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
    worker = int(caller.stdout.readline())
    caller.kill()
    caller.wait()
    deadline = time.monotonic() + 30
    while alive(worker) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not alive(worker)


def _validate_and_return() -> None:
    gx_worker.validate(pl.DataFrame({ROW_NUMBER: [0], "a": [1]}), [NOT_NULL])


def test_a_multiprocessing_child_that_used_the_worker_exits() -> None:
    """Dagster runs each step in a multiprocessing child, which joins its non-daemon children when
    its target returns, before the interpreter's exit hooks shut the pool down: the worker must end
    first, or the step process waits for it forever and the run never goes on."""
    step = multiprocessing.get_context("spawn").Process(target=_validate_and_return)
    step.start()
    step.join(timeout=60)
    hung = step.is_alive()
    if hung:
        step.kill()  # its worker notices and ends too
    assert not hung and step.exitcode == 0


def alive(pid: int) -> bool:
    """Running, not a zombie (a container's init may not reap the orphan at once)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_warm_up_starts_only_what_an_engine_loads_in_the_background() -> None:
    gx_worker.stop()
    warm_up(["pandera", "soda"])
    assert workers() == []
    warm_up(["gx"])
    assert len(workers()) == 1
    gx_worker.stop()
    assert workers() == []


def test_engines_for_names_the_default_engine_and_the_custom_rules_engines() -> None:
    canonical = load_contract(CANONICAL)
    assert engines_for(canonical, "daily_store_fact") == {"pandera", "gx"}
    assert engines_for(canonical, "prod_dim", "soda") == {"soda"}
    assert engines_for(canonical, "site_dim") == {"pandera"}
