"""Lineage questions answered from the NDJSON event file, the way Marquez answers them.

`LineageStore.lineage(node_id, depth)` is Marquez's `GET /api/v1/lineage?nodeId=…&depth=…`:
- a job's inputs and outputs are those of its latest run (Marquez: the current job version);
- a dataset node starts from the latest job that wrote it, else the latest that read it;
- from that job, jobs that share a dataset with a job already reached are added, `depth` times
  (depth = job-to-job hops through one dataset each, upstream and downstream alike; 0 = the job);
- the graph holds those jobs and all their datasets; a job's inEdges come from its inputs and its
  outEdges go to its outputs; a dataset's inEdges come from the jobs (in the graph) that write it
  and its outEdges go to the jobs that read it. Nodes are sorted by id.
`column_lineage` follows the datasets' latest `columnLineage` facets back to the columns that have
no lineage of their own: the retailer's delivered files, tables and endpoints.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from .naming import DatasetId, job_node_id

MARQUEZ_DEFAULT_DEPTH = 20
_TERMINAL = ("COMPLETE", "FAIL", "ABORT")


class EventFileError(Exception):
    """The event file cannot be read at all."""


class UnknownNodeError(KeyError):
    """A node id or column that is in no event."""

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True, order=True)
class JobId:
    namespace: str
    name: str

    @property
    def node_id(self) -> str:
        return job_node_id(self.namespace, self.name)


@dataclass
class RunRecord:
    """Everything the events say about one run."""

    run_id: str
    job: JobId
    order: int
    """Position of the run's latest event in the file (breaks ties of equal event times)."""
    last_time: datetime | None = None
    started_at: str | None = None
    ended_at: str | None = None
    state: str | None = None
    inputs: list[DatasetId] = field(default_factory=list)
    outputs: list[DatasetId] = field(default_factory=list)

    @property
    def recency(self) -> tuple[datetime, int]:
        return (self.last_time or datetime.min, self.order)


@dataclass
class ColumnTrace:
    """One column and, recursively, the columns it was computed from."""

    dataset: DatasetId
    field: str
    transformations: list[dict[str, Any]] = field(default_factory=list)
    inputs: list[ColumnTrace] = field(default_factory=list)

    def origins(self) -> list[ColumnTrace]:
        """The columns at the end of every path: those without lineage of their own."""
        if not self.inputs:
            return [self]
        return [origin for source in self.inputs for origin in source.origins()]

    def as_json(self) -> dict[str, Any]:
        return {"namespace": self.dataset.namespace, "name": self.dataset.name, "field": self.field,
                "transformations": self.transformations, "inputs": [i.as_json() for i in self.inputs]}


def _time(value: Any) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


def read_events(path: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """Run events of an NDJSON file, and a `path:line: problem` note for each line that is skipped."""
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        raise EventFileError(f"no lineage event file at {path} "
                             "(materialise an asset first, or pass --events)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise EventFileError(f"cannot read lineage event file {path}: {exc}") from None
    events, problems = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"{path}:{number}: skipped, not JSON ({exc.msg})")
            continue
        if not (isinstance(event, dict) and isinstance(event.get("run"), dict)
                and isinstance(event.get("job"), dict) and "runId" in event["run"]
                and "namespace" in event["job"] and "name" in event["job"]):
            problems.append(f"{path}:{number}: skipped, not an OpenLineage run event")
            continue
        events.append(event)
    return events, problems


class LineageStore:
    """The lineage graph that a set of run events describes."""

    def __init__(self, events: Iterable[dict[str, Any]]) -> None:
        self.runs: dict[str, RunRecord] = {}
        self.dataset_facets: dict[DatasetId, dict[str, Any]] = {}
        self.dataset_modified: dict[DatasetId, str] = {}
        for order, event in enumerate(events):
            self._add(order, event)
        self.latest_runs: dict[JobId, RunRecord] = {}
        for run in self.runs.values():
            current = self.latest_runs.get(run.job)
            if current is None or run.recency > current.recency:
                self.latest_runs[run.job] = run

    @classmethod
    def from_file(cls, path: Path) -> tuple[LineageStore, list[str]]:
        events, problems = read_events(path)
        return cls(events), problems

    def _add(self, order: int, event: dict[str, Any]) -> None:
        job = JobId(str(event["job"]["namespace"]), str(event["job"]["name"]))
        run_id = str(event["run"]["runId"])
        run = self.runs.setdefault(run_id, RunRecord(run_id, job, order))
        when = _time(event.get("eventTime"))
        run.order = order
        if when is not None and (run.last_time is None or when >= run.last_time):
            run.last_time = when
        event_type = str(event.get("eventType") or "")
        if event_type == "START" or run.started_at is None:
            run.started_at = event.get("eventTime")
        if event_type in _TERMINAL:
            run.ended_at = event.get("eventTime")
        if event_type and (run.state not in _TERMINAL or event_type in _TERMINAL):
            run.state = event_type
        for key, target in (("inputs", run.inputs), ("outputs", run.outputs)):
            for raw in event.get(key) or []:
                if not isinstance(raw, dict) or "namespace" not in raw or "name" not in raw:
                    continue
                dataset = DatasetId(str(raw["namespace"]), str(raw["name"]))
                if dataset not in target:
                    target.append(dataset)
                facets = self.dataset_facets.setdefault(dataset, {})
                for facet_key in ("facets", "inputFacets", "outputFacets"):
                    facets.update(raw.get(facet_key) or {})
                if key == "outputs" and event_type == "COMPLETE":
                    self.dataset_modified[dataset] = str(event.get("eventTime"))

    # -- nodes ---------------------------------------------------------------------------------

    @property
    def datasets(self) -> set[DatasetId]:
        return set(self.dataset_facets)

    def node_ids(self) -> list[str]:
        return sorted([j.node_id for j in self.latest_runs] + [d.node_id for d in self.datasets])

    def resolve(self, node_id: str) -> JobId | DatasetId:
        """The job or dataset a Marquez node id names (matched exactly against the known nodes)."""
        for job in self.latest_runs:
            if job.node_id == node_id:
                return job
        for dataset in self.datasets:
            if dataset.node_id == node_id:
                return dataset
        raise UnknownNodeError(f"unknown node {node_id!r}: it is in no lineage event")

    def start_job(self, node: JobId | DatasetId) -> JobId:
        """Marquez's choice for a dataset: the latest job that wrote it, else the latest that read it."""
        if isinstance(node, JobId):
            return node
        for role in ("outputs", "inputs"):
            runs = [r for r in self.runs.values() if node in getattr(r, role)]
            if runs:
                return max(runs, key=lambda r: r.recency).job
        raise UnknownNodeError(f"no job reads or writes {node.node_id}")

    # -- the graph -----------------------------------------------------------------------------

    def _io(self, job: JobId) -> set[DatasetId]:
        run = self.latest_runs[job]
        return set(run.inputs) | set(run.outputs)

    def jobs_within(self, start: JobId, depth: int) -> set[JobId]:
        reached, frontier = {start}, {start}
        for _ in range(max(depth, 0)):
            touched = set().union(*(self._io(j) for j in frontier)) if frontier else set()
            frontier = {j for j in self.latest_runs if j not in reached and self._io(j) & touched}
            if not frontier:
                break
            reached |= frontier
        return reached

    def lineage(self, node_id: str, depth: int = MARQUEZ_DEFAULT_DEPTH) -> dict[str, Any]:
        """The graph Marquez returns for `nodeId` and `depth`: `{"graph": [node, …]}`."""
        jobs = self.jobs_within(self.start_job(self.resolve(node_id)), depth)
        writers: dict[DatasetId, set[JobId]] = {}
        readers: dict[DatasetId, set[JobId]] = {}
        nodes = []
        for job in jobs:
            run = self.latest_runs[job]
            for dataset in run.inputs:
                readers.setdefault(dataset, set()).add(job)
            for dataset in run.outputs:
                writers.setdefault(dataset, set()).add(job)
            nodes.append({
                "id": job.node_id, "type": "JOB", "data": self._job_data(job, run),
                "inEdges": _edges((d.node_id, job.node_id) for d in run.inputs),
                "outEdges": _edges((job.node_id, d.node_id) for d in run.outputs),
            })
        for dataset in set(writers) | set(readers):
            nodes.append({
                "id": dataset.node_id, "type": "DATASET", "data": self._dataset_data(dataset),
                "inEdges": _edges((j.node_id, dataset.node_id) for j in writers.get(dataset, ())),
                "outEdges": _edges((dataset.node_id, j.node_id) for j in readers.get(dataset, ())),
            })
        return {"graph": sorted(nodes, key=lambda n: n["id"])}

    def _job_data(self, job: JobId, run: RunRecord) -> dict[str, Any]:
        return {
            "type": "BATCH", "id": {"namespace": job.namespace, "name": job.name},
            "namespace": job.namespace, "name": job.name,
            "inputs": [{"namespace": d.namespace, "name": d.name} for d in run.inputs],
            "outputs": [{"namespace": d.namespace, "name": d.name} for d in run.outputs],
            "latestRun": {"id": run.run_id, "state": run.state, "startedAt": run.started_at,
                          "endedAt": run.ended_at},
        }

    def _dataset_data(self, dataset: DatasetId) -> dict[str, Any]:
        facets = self.dataset_facets.get(dataset, {})
        fields = [{"name": f.get("name"), "type": f.get("type"), "description": f.get("description")}
                  for f in (facets.get("schema") or {}).get("fields") or []]
        return {
            "type": "DB_TABLE", "id": {"namespace": dataset.namespace, "name": dataset.name},
            "namespace": dataset.namespace, "name": dataset.name, "fields": fields,
            "description": (facets.get("documentation") or {}).get("description"),
            "lastModifiedAt": self.dataset_modified.get(dataset),
        }

    # -- columns -------------------------------------------------------------------------------

    def columns_of(self, dataset: DatasetId) -> list[str]:
        facets = self.dataset_facets.get(dataset, {})
        names = [f["name"] for f in (facets.get("schema") or {}).get("fields") or [] if "name" in f]
        return names + [c for c in (facets.get("columnLineage") or {}).get("fields") or {} if c not in names]

    def column_lineage(self, dataset: DatasetId, column: str | None = None,
                       depth: int = MARQUEZ_DEFAULT_DEPTH) -> list[ColumnTrace]:
        """Each column of `dataset` (or just `column`) traced back through `depth` column hops."""
        columns = self.columns_of(dataset)
        if column is not None:
            if column not in columns:
                known = ", ".join(columns) or "none recorded"
                raise UnknownNodeError(f"{dataset.node_id} has no column {column!r} (columns: {known})")
            columns = [column]
        return [self._trace(dataset, name, [], depth, ()) for name in columns]

    def _trace(self, dataset: DatasetId, column: str, transformations: list[dict[str, Any]], depth: int,
               path: tuple[tuple[DatasetId, str], ...]) -> ColumnTrace:
        trace = ColumnTrace(dataset, column, transformations)
        if depth <= 0 or (dataset, column) in path:
            return trace
        lineage = (self.dataset_facets.get(dataset, {}).get("columnLineage") or {}).get("fields") or {}
        for source in (lineage.get(column) or {}).get("inputFields") or []:
            source_id = DatasetId(str(source["namespace"]), str(source["name"]))
            transformations = list(source.get("transformations") or [])
            trace.inputs.append(self._trace(source_id, str(source["field"]), transformations, depth - 1,
                                            (*path, (dataset, column))))
        return trace


def _edges(pairs: Iterable[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"origin": origin, "destination": destination} for origin, destination in sorted(set(pairs))]
