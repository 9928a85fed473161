"""OpenLineage as a Dagster resource: every materialisation is one OpenLineage run.

```python
@dg.asset
def silver_x(context: dg.AssetExecutionContext, openlineage: OpenLineageResource):
    inputs, outputs = silver_lineage(plan, key, home)
    with openlineage.run(context, inputs=inputs, outputs=outputs) as lineage_run:
        ...                                   # START was emitted; an exception emits FAIL
        lineage_run.gate([gated_batch(outputs[0], gate_result)])  # the `<job>.gate` child run
        lineage_run.complete(outputs=outputs)  # or leave the block: COMPLETE
```
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
from openlineage.client.event_v2 import InputDataset, OutputDataset
from pydantic import Field, PrivateAttr

from assets.lineage.emit import LineageEmitter, LineageRun, ParentRun, as_run_id, make_client
from assets.lineage.naming import asset_job_name
from shelfguard.settings import DataHome

ExecutionContext = dg.AssetExecutionContext | dg.OpExecutionContext


def dagster_parent(context: ExecutionContext, namespace: str) -> ParentRun | None:
    """The Dagster run as the parent of our run; None when the asset is invoked directly (no run)."""
    try:
        run = context.run
    except dg.DagsterError:
        return None
    return ParentRun(namespace=namespace, job_name=run.job_name, run_id=as_run_id(run.run_id))


class OpenLineageResource(dg.ConfigurableResource):
    """Emits OpenLineage events for asset materialisations.

    Transport: the NDJSON file (always) plus the standard OpenLineage configuration, e.g.
    `OPENLINEAGE_URL` and `OPENLINEAGE_API_KEY` for Marquez; see docs/lineage.md. An event that
    cannot be sent is logged and never fails the asset.
    """

    namespace: str = Field(default="", description="Job namespace; empty = $OPENLINEAGE_NAMESPACE, "
                                                   "else 'shelfguard'.")
    lineage_file: str = Field(default="", description="NDJSON event file; empty = the data home's "
                                                      "lineage/openlineage.ndjson (read when first used).")
    http_timeout_seconds: float = Field(default=5.0, description="Timeout of one request to the catalog.")
    http_retries: int = Field(default=2, description="Retries of a failed request to the catalog.")

    _emitter: LineageEmitter | None = PrivateAttr(default=None)

    def emitter(self) -> LineageEmitter:
        if self._emitter is None:
            path = Path(self.lineage_file) if self.lineage_file else DataHome.from_env().lineage_file
            client = make_client(path, http_timeout=self.http_timeout_seconds, http_retries=self.http_retries)
            self._emitter = LineageEmitter(client, self.namespace or None)
        return self._emitter

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._emitter is not None:
            self._emitter.close()

    @contextmanager
    def run(self, context: ExecutionContext, job_name: str | None = None, inputs: Sequence[InputDataset] = (),
            outputs: Sequence[OutputDataset] = ()) -> Iterator[LineageRun]:
        """One OpenLineage run around a block of asset code (see `LineageEmitter.run` for the events).

        `job_name` defaults to the asset key joined by dots; give it for multi-assets. The parent run
        facet points at the Dagster run; a gate on a batch is recorded with `LineageRun.gate`.
        """
        emitter = self.emitter()
        name = job_name or asset_job_name(context.asset_key.path)
        with emitter.run(name, inputs, outputs, parent=dagster_parent(context, emitter.namespace),
                         logger=context.log) as lineage_run:
            yield lineage_run
