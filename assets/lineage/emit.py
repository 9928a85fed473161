"""Emitting OpenLineage run events: the client, its transports, and the START → COMPLETE/FAIL cycle.

Transport follows the standard OpenLineage configuration (`openlineage.yml`, `OPENLINEAGE_CONFIG`,
`OPENLINEAGE__…` variables, `OPENLINEAGE_URL`/`OPENLINEAGE_API_KEY`/`OPENLINEAGE_ENDPOINT`), on top of
our default: a composite transport whose member `shelfguard_file` appends every event to the NDJSON
file in the data home. `OPENLINEAGE_URL` adds the client's `default_http` member. The composite continues on
failure, so a catalog that is down costs a logged warning, never the pipeline, and the file still
gets every event. Dagster-free, so a Spark job or a script can emit the same events.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import parent_run
from openlineage.client.uuid import generate_new_uuid

from checks.redaction import redact

from .facets import (
    ASSET_JOB_TYPE,
    GATE_JOB_TYPE,
    PRODUCER,
    error_message_facet,
    job_type_facet,
    parent_run_facet,
)

FILE_TRANSPORT = "shelfguard_file"
HTTP_TRANSPORT = OpenLineageClient.DEFAULT_URL_TRANSPORT_NAME
"""The name the client gives the transport it builds from `OPENLINEAGE_URL`."""
DEFAULT_NAMESPACE = "shelfguard"

log = logging.getLogger(__name__)


def job_namespace() -> str:
    """`OPENLINEAGE_NAMESPACE` (the variable the OpenLineage integrations read), default `shelfguard`."""
    return os.environ.get("OPENLINEAGE_NAMESPACE") or DEFAULT_NAMESPACE


def client_config(lineage_file: Path, *, http_timeout: float = 5.0, http_retries: int = 2) -> dict[str, Any]:
    """Our part of the client configuration; the standard sources are merged in by the client.

    The HTTP member gets a short timeout and few retries so that a catalog that is down delays an
    event by about a second, not the client's default of five retries with backoff.
    """
    transports: dict[str, dict[str, Any]] = {
        FILE_TRANSPORT: {"type": "file", "log_file_path": str(lineage_file), "append": True},
    }
    if os.environ.get("OPENLINEAGE_URL"):
        transports[HTTP_TRANSPORT] = {
            "timeout": http_timeout,
            "retry": {"total": http_retries, "connect": http_retries, "read": http_retries,
                      "backoff_factor": 0.2},
        }
    return {"transport": {"type": "composite", "continue_on_failure": True, "continue_on_success": True,
                          "transports": transports}}


def make_client(lineage_file: Path, *, http_timeout: float = 5.0, http_retries: int = 2) -> OpenLineageClient:
    lineage_file.parent.mkdir(parents=True, exist_ok=True)
    return OpenLineageClient(config=client_config(lineage_file, http_timeout=http_timeout,
                                                  http_retries=http_retries))


def as_run_id(value: str) -> str:
    """A run id as the UUID OpenLineage requires; ids that are not UUIDs map to a stable UUID5."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"shelfguard:run:{value}"))


GATE_SUFFIX = ".gate"
"""The gate that checks a batch before it is published is the job `<asset job name>.gate`."""


@dataclass(frozen=True)
class ParentRun:
    """The run that spawned ours (the Dagster run of an asset materialisation, the asset run of a
    gate); `root` is the top of the hierarchy when that is not the parent itself."""

    namespace: str
    job_name: str
    run_id: str
    root: ParentRun | None = None

    def facet(self) -> parent_run.ParentRunFacet:
        root = self.root
        return parent_run_facet(self.namespace, self.job_name, self.run_id,
                                root=(root.namespace, root.job_name, root.run_id) if root else None)


class LineageRun:
    """One run of one job: START on creation, then exactly one of COMPLETE, FAIL or ABORT."""

    def __init__(self, emitter: LineageEmitter, job_name: str, inputs: Sequence[InputDataset],
                 outputs: Sequence[OutputDataset], parent: ParentRun | None, logger: Any,
                 job_type: str = ASSET_JOB_TYPE) -> None:
        self.emitter = emitter
        self.job_name = job_name
        self.job_type = job_type
        self.run_id = str(generate_new_uuid())
        self.inputs = list(inputs)
        self.outputs = list(outputs)
        self.parent = parent
        self.logger = logger
        self.state: RunState | None = None

    @property
    def finished(self) -> bool:
        return self.state in (RunState.COMPLETE, RunState.FAIL, RunState.ABORT)

    def start(self) -> None:
        self._emit(RunState.START)

    def complete(self, inputs: Sequence[InputDataset] | None = None,
                 outputs: Sequence[OutputDataset] | None = None) -> None:
        """Emit COMPLETE now, with the final datasets (facets known only at the end: gate results,
        metrics, column lineage); without arguments, with the datasets given at START."""
        if inputs is not None:
            self.inputs = list(inputs)
        if outputs is not None:
            self.outputs = list(outputs)
        self._emit(RunState.COMPLETE)

    def fail(self, error: BaseException) -> None:
        self._emit(RunState.FAIL, {"errorMessage": error_message_facet(error)})

    def abort(self) -> None:
        self._emit(RunState.ABORT)

    def gate(self, inputs: Sequence[InputDataset]) -> None:
        """Record a gate that ran on a batch during this run: one run of the job `<this job>.gate`, a
        child of this run, whose inputs are the checked batches; START names them, COMPLETE adds the
        assertions and metrics (see `assets.lineage.datasets.gated_batch`)."""
        root = (self.parent.root or self.parent) if self.parent else None
        parent = ParentRun(self.emitter.namespace, self.job_name, self.run_id, root=root)
        batches = [InputDataset(i.namespace, i.name, facets=i.facets) for i in inputs]
        with self.emitter.run(self.job_name + GATE_SUFFIX, batches, parent=parent, logger=self.logger,
                              job_type=GATE_JOB_TYPE) as gate_run:
            gate_run.complete(inputs=inputs)

    def _emit(self, state: RunState, run_facets: dict[str, Any] | None = None) -> None:
        if self.finished:
            raise RuntimeError(f"lineage run {self.run_id} of {self.job_name} already ended ({self.state})")
        facets = dict(run_facets or {})
        if self.parent is not None:
            facets["parent"] = self.parent.facet()
        event = RunEvent(
            eventType=state,
            eventTime=datetime.now(UTC).isoformat(),
            run=Run(runId=self.run_id, facets=facets),
            job=Job(namespace=self.emitter.namespace, name=self.job_name,
                    facets={"jobType": job_type_facet(self.job_type)}),
            inputs=self.inputs,
            outputs=self.outputs,
            producer=PRODUCER,
        )
        self.state = state
        self.emitter.emit(event, self.logger)


class LineageEmitter:
    """Emits run events through one client; an event that cannot be sent is logged, never raised."""

    def __init__(self, client: OpenLineageClient, namespace: str | None = None) -> None:
        self.client = client
        self.namespace = namespace or job_namespace()

    def emit(self, event: RunEvent, logger: Any = None) -> bool:
        try:
            self.client.emit(event)
        except Exception as exc:  # lineage must never fail the pipeline
            (logger or log).warning(f"OpenLineage {event.eventType.value} event for {event.job.name} "
                                    f"was not emitted: {redact(str(exc))}")
            return False
        return True

    @contextmanager
    def run(self, job_name: str, inputs: Sequence[InputDataset] = (), outputs: Sequence[OutputDataset] = (),
            *, parent: ParentRun | None = None, logger: Any = None,
            job_type: str = ASSET_JOB_TYPE) -> Iterator[LineageRun]:
        """START now; on leaving, COMPLETE (unless `complete()` was called), FAIL with the error
        message on an exception, ABORT on an interrupt. The exception is re-raised."""
        lineage_run = LineageRun(self, job_name, inputs, outputs, parent, logger, job_type)
        lineage_run.start()
        try:
            yield lineage_run
        except Exception as exc:
            if not lineage_run.finished:
                lineage_run.fail(exc)
            raise
        except BaseException:
            if not lineage_run.finished:
                lineage_run.abort()
            raise
        if not lineage_run.finished:
            lineage_run.complete()

    def close(self) -> None:
        self.client.close()
