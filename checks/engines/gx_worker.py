"""Great Expectations in a worker process of its own (ADR 0013).

Importing GX takes 1.5–2 s (its expectations package imports scipy.stats, altair and SQLAlchemy) and
holds the GIL all along, so importing it in a thread only slows the steps that run meanwhile. In a
process of its own it loads on the other core: `start()` at the beginning of a pipeline means the
import is done by the time the first gate needs it. The engine (`checks.engines.gx_engine`) keeps
everything Polars does in the calling process and sends the worker only expectation specs and the
frames to validate; this module's worker side is the only code that imports GX.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.util
import os
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any, TypeVar

import polars as pl

from checks.engines.base import ROW_NUMBER

DATA_SOURCE = "shelfguard"
RESULT_FORMAT = {
    "result_format": "COMPLETE",
    "partial_unexpected_count": 0,
    "include_unexpected_rows": False,
    "return_unexpected_index_query": False,
}
_COLUMN_DOMAIN_KEYS = ("column", "column_A", "column_B", "column_list")
_Result = TypeVar("_Result")


class GxRuleError(ValueError):
    """A rule GX cannot run, e.g. a custom rule naming an unknown expectation."""


class GxWorkerError(RuntimeError):
    """The worker process ended while it was validating (killed, out of memory)."""


@dataclass(frozen=True)
class ExpectationSpec:
    """An expectation by GX's snake_case name and its keyword arguments, built in the worker."""

    type: str
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ExpectationOutcome:
    """What the engine reads of one expectation's validation result, as plain values: the caller
    never unpickles a GX or pandas object (that would import them there)."""

    type: str
    success: bool
    observed_value: Any = None
    unexpected_count: int | None = None
    unexpected_index: pl.Series | None = None
    """The index values (ROW_NUMBER) of the unexpected rows, for column map expectations."""
    raised: str | None = None
    """The first line of the exception GX caught while evaluating the expectation, if any."""


class _Worker:
    """One worker process per calling process, started on first use or by `start()`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None
        self._owner = 0

    def pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None or self._owner != os.getpid():  # a forked child needs its own
                spawn = multiprocessing.get_context("spawn")  # not fork: the caller runs Polars' threads
                self._pool = ProcessPoolExecutor(max_workers=1, mp_context=spawn, initializer=_watch_caller,
                                                 initargs=(os.getpid(),))
                if self._owner != os.getpid():
                    # A multiprocessing child (a Dagster step process) joins its children when its
                    # target returns, before the exit hook that would shut the pool down: without
                    # this, the step process would wait for the idle worker forever. Before the
                    # pool's own queues are closed (their finalizers have priority 10).
                    multiprocessing.util.Finalize(None, self.stop, exitpriority=100)
                self._owner = os.getpid()
                self._pool.submit(_load)  # GX loads now, while the caller goes on
            return self._pool

    def call(self, function: Callable[..., _Result], *args: Any) -> _Result:
        try:
            return self.pool().submit(function, *args).result()
        except BrokenProcessPool as exc:
            self.stop()  # the next call starts a new worker
            raise GxWorkerError(f"the Great Expectations worker process ended: {exc}") from None

    def stop(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None and self._owner == os.getpid():
            pool.shutdown(wait=True, cancel_futures=True)


_WORKER = _Worker()


def start() -> None:
    """Start the worker (and its import of GX) now, if it is not running yet."""
    _WORKER.pool()


def stop() -> None:
    """End the worker; the next validation starts a new one."""
    _WORKER.stop()


def inspect_custom(spec: ExpectationSpec) -> list[str] | None:
    """Check a contract's own expectation in the worker: the columns of its domain, or None when it
    may read every column (a table expectation, or one with a row condition)."""
    return _WORKER.call(_inspect, spec)


def validate(frame: pl.DataFrame, specs: Sequence[ExpectationSpec]) -> list[ExpectationOutcome]:
    """One validation of `specs` on `frame` in the worker, the outcomes in the specs' order.

    The frame goes over as an uncompressed Arrow file that the worker reads: pickling it (compressed
    IPC through a pipe) took four times as long for a chunk of 1,000,000 rows."""
    with tempfile.NamedTemporaryFile(prefix="shelfguard-gx-", suffix=".arrow") as handle:
        frame.write_ipc(handle.name, compression="uncompressed")
        return _WORKER.call(_validate, handle.name, list(specs))


def _inspect(spec: ExpectationSpec) -> list[str] | None:
    expectation = _build(spec)
    domain = [key for key in type(expectation).domain_keys if key in _COLUMN_DOMAIN_KEYS]
    if not domain or getattr(expectation, "row_condition", None):
        return None
    named: list[str] = []
    for key in domain:
        value = getattr(expectation, key)
        named.extend(value if isinstance(value, list) else [value])
    return named


def _validate(path: str, specs: list[ExpectationSpec]) -> list[ExpectationOutcome]:
    import great_expectations as gx

    frame = pl.read_ipc(path)
    expectations = [_build(spec) for spec in specs]
    for position, expectation in enumerate(expectations):  # GX returns results in its own order
        expectation.meta = {**(expectation.meta or {}), "shelfguard_position": position}
    batch = _batch_definition().get_batch(batch_parameters={"dataframe": _pandas(frame)})
    suite = gx.ExpectationSuite(name="shelfguard", expectations=expectations)
    results = batch.validate(suite, result_format=RESULT_FORMAT).results
    by_position = {result.expectation_config.meta["shelfguard_position"]: result for result in results}
    return [_outcome(by_position[position]) for position in range(len(specs))]


def _build(spec: ExpectationSpec) -> Any:
    from great_expectations.exceptions import ExpectationNotFoundError
    from great_expectations.expectations.registry import get_expectation_impl

    try:
        expectation_class = get_expectation_impl(spec.type)
    except ExpectationNotFoundError as exc:
        raise GxRuleError(f"unknown expectation {spec.type!r}") from exc
    try:
        return expectation_class(**spec.kwargs)
    except Exception as exc:  # pydantic validation of the kwargs: any of its errors means bad kwargs
        raise GxRuleError(f"invalid kwargs for {spec.type}: {_first_line(exc)}") from None


def _outcome(result: Any) -> ExpectationOutcome:
    from great_expectations.util import convert_to_json_serializable

    info = result.exception_info or {}
    raised = None
    if isinstance(info, dict) and info.get("raised_exception"):
        raised = _first_line(info.get("exception_message") or "exception")
    values = result.result or {}
    index = values.get("unexpected_index_list")
    count = values.get("unexpected_count")
    return ExpectationOutcome(
        type=result.expectation_config.type,
        success=bool(result.success),
        observed_value=convert_to_json_serializable(values.get("observed_value")),
        unexpected_count=None if count is None else int(count),
        unexpected_index=None if index is None else pl.Series(ROW_NUMBER, [int(i) for i in index],
                                                              dtype=pl.Int64),
        raised=raised,
    )


def _pandas(frame: pl.DataFrame) -> Any:
    """Indexed by ROW_NUMBER where the frame has it (GX reports unexpected rows by index)."""
    # Arrow-backed columns: no copy, and NaN stays a value (numpy-backed pandas would make it null).
    converted = frame.to_pandas(use_pyarrow_extension_array=True)
    if ROW_NUMBER not in frame.columns:
        return converted
    indexed = converted.set_index(ROW_NUMBER)
    indexed.index.name = None  # GX gives plain index values only for an unnamed index
    return indexed


def _watch_caller(caller: int) -> None:
    """End the worker when its caller is gone (killed, so it never shut the pool down): the worker
    would otherwise wait for work forever, holding its memory."""

    def watch() -> None:
        while os.getppid() == caller:
            time.sleep(1)
        os._exit(0)

    threading.Thread(target=watch, name="shelfguard-gx-caller-watch", daemon=True).start()


def _load() -> None:
    _batch_definition()


_DEFINITION: list[Any] = []
"""The worker's one ephemeral context and pandas batch definition: creating them is slow."""


def _batch_definition() -> Any:
    if not _DEFINITION:
        import great_expectations as gx
        from great_expectations.data_context.types.base import (
            DataContextConfig,
            InMemoryStoreBackendDefaults,
            ProgressBarsConfig,
        )
        from great_expectations.execution_engine import pandas_execution_engine

        logging.getLogger("great_expectations").setLevel(logging.ERROR)  # results are ours to report
        # GX fingerprints every pandas batch by hashing all its values (twice per validation):
        # metadata we never read, costing more than the validation itself on large batches.
        pandas_execution_engine.HASH_THRESHOLD = 0
        config = DataContextConfig(store_backend_defaults=InMemoryStoreBackendDefaults(),
                                   progress_bars=ProgressBarsConfig(globally=False),
                                   analytics_enabled=False)
        context = gx.get_context(mode="ephemeral", project_config=config)
        asset = context.data_sources.add_pandas(DATA_SOURCE).add_dataframe_asset("batch")
        _DEFINITION.append(asset.add_batch_definition_whole_dataframe("whole batch"))
    return _DEFINITION[0]


def _first_line(error: Any) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
