"""The Spark steps as a job of their own, launched by Dagster through Dagster Pipes.

    shelfguard-spark-job        # on a Databricks job cluster (PipesDatabricksClient), or locally
                                # in a subprocess (PipesSubprocessClient): the Pipes context says
                                # which step and which data

No Dagster here (only the `dagster-pipes` protocol library), so the job runs on a cluster with our
wheel and `dagster-pipes` installed. It opens Pipes (bootstrap parameters from the environment, or
from the command line on an existing Databricks cluster, where environment variables cannot be set),
takes the cluster's own Spark session (Databricks) or `checks.spark_session` (Sail, `SPARK_REMOTE`),
runs the step named by the `step` extra and reports back:
- the asset materialisation, with the step's metadata;
- for each gated batch, a custom message (`GATED_BATCH`): the `GateResult` as JSON, its
  violating-rows sample, label, source and quarantine path. The Dagster side turns them into the
  asset check results with the same code as for every other run
  (`assets.definitions.spark_jobs.gated_batches` → `gating.check_results`), so a check on
  Databricks shows the same names, numbers and samples.
A step that fails reports the exception through Pipes and exits non-zero: the Dagster run fails
with the job's own traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl
from pydantic import BaseModel

from checks.contract import load_contract
from checks.engines import DEFAULT_ENGINE
from checks.result import GateResult
from checks.spark_session import SparkTarget
from shelfguard.settings import DataHome

if TYPE_CHECKING:
    from dagster_pipes import PipesContext

GATED_BATCH = "shelfguard.gated_batch"
"""The `kind` of the custom message that carries one gated batch."""
STEP_OUTCOME = "shelfguard.step_outcome"
"""The `kind` of the custom message that carries the step's whole result."""
ENTRY_POINT = "shelfguard-spark-job"
"""The console script of our wheel that runs `main` (what a Databricks `python_wheel_task` names)."""


@dataclass
class GatedBatch:
    """One batch a step gated, as sent back to Dagster."""

    label: str
    result: GateResult
    violating_sample: pl.DataFrame
    source: str = ""
    quarantine_path: str = ""

    def message(self) -> dict[str, Any]:
        return {
            "kind": GATED_BATCH,
            "label": self.label,
            "result": self.result.model_dump(mode="json"),
            "violating_sample": _rows(self.violating_sample),
            "source": self.source,
            "quarantine_path": self.quarantine_path,
        }

    @classmethod
    def from_message(cls, payload: Mapping[str, Any]) -> GatedBatch:
        return cls(
            label=payload["label"],
            result=GateResult.model_validate(payload["result"]),
            violating_sample=frame_of(payload.get("violating_sample")),
            source=payload.get("source", ""),
            quarantine_path=payload.get("quarantine_path", ""),
        )


@dataclass
class StepReport:
    """What a step did: materialisation metadata (plain JSON values) and the batches it gated."""

    metadata: dict[str, Any] = field(default_factory=dict)
    batches: list[GatedBatch] = field(default_factory=list)
    outcome: BaseModel | None = None
    """The step function's own result (e.g. a `SilverOutcome`), sent whole (`STEP_OUTCOME`) for a
    Dagster asset that reports it the way it reports an in-process run."""

    def outcome_message(self) -> dict[str, Any]:
        sample = getattr(self.outcome, "violating_sample", None)
        return {"kind": STEP_OUTCOME, "outcome": self.outcome.model_dump(mode="json"),
                "violating_sample": _rows(sample) if sample is not None else None}


Step = Callable[[Mapping[str, Any]], StepReport]
"""A step takes the Pipes extras; one that needs Spark asks `checks.spark_session.spark_session()`."""


def gate_step(extras: Mapping[str, Any]) -> StepReport:
    """`shelfguard check` as a job: one delivery (`data`) judged by a contract's object (`contract`,
    `object`) with `engine` (default spark), read the way bronze reads it."""
    from assets.bronze.ingest import gate_delivery, read_delivery
    from checks.samples import violating_sample

    contract = load_contract(Path(extras["contract"]))
    object_name = extras.get("object") or contract.object_names[0]
    data = Path(extras["data"])
    frame = read_delivery(contract, object_name, data)
    gate = gate_delivery(contract, object_name, frame, engine=extras.get("engine", "spark"))
    result = gate.result
    batch = GatedBatch(label=data.name, result=result, violating_sample=violating_sample(frame, gate),
                       source=str(data))
    metadata = {"rows": result.rows, "rows_published": result.rows_published,
                "rows_quarantined": result.rows_quarantined, "verdict": result.verdict.value,
                "engine": result.engine, "source_file": str(data)}
    return StepReport(metadata=metadata, batches=[batch])


def silver_step(extras: Mapping[str, Any]) -> StepReport:
    """One retailer's silver table (`canonical_object`) published from its bronze in the data home
    `home` (default `SHELFGUARD_HOME`): mapping, dedupe, SCD2, keys, the silver gate, quarantine and
    the commit, on Spark when the retailer's contract chooses it. The contracts are the files
    `contract` (the retailer's), `canonical` and `master` name (paths the job's machine reads)."""
    from assets.plan import retailer_code
    from assets.silver.publish import publish_silver

    home = DataHome(Path(extras["home"])).ensure() if extras.get("home") else DataHome.from_env().ensure()
    contract, canonical, master = (load_contract(Path(extras[name]))
                                   for name in ("contract", "canonical", "master"))
    code = retailer_code(contract)
    from checks import spark_session

    outcome = publish_silver(home, contract, canonical, master, extras["canonical_object"],
                             engine=extras.get("engine", DEFAULT_ENGINE),
                             spark=spark_session.spark_session() if contract.execution_engine == "spark"
                             else None)
    batches = [] if outcome.gate is None or outcome.violating_sample is None else [
        GatedBatch(label=code, result=outcome.gate, violating_sample=outcome.violating_sample,
                   quarantine_path=outcome.quarantine_path)]
    metadata = outcome.model_dump(mode="json", include={
        "action", "table_path", "rows_in", "rows_superseded", "rows_written", "rows_deleted",
        "rows_quarantined", "table_version", "quarantine_path"})
    return StepReport(metadata={**metadata, "deliveries": ", ".join(outcome.deliveries)}, batches=batches,
                      outcome=outcome)


STEPS: dict[str, Step] = {"gate": gate_step, "silver": silver_step}
"""The steps a job can run, by the `step` extra."""


def adopt_cluster_session() -> None:
    """On a Databricks job cluster the runtime has already made a session: it becomes the process's
    session (`checks.spark_session`), which the steps and the spark gate engine then use; elsewhere
    nothing happens here and the first step that needs Spark starts Sail (or uses SPARK_REMOTE)."""
    from pyspark.sql import SparkSession

    from checks import spark_session

    active = SparkSession.getActiveSession()
    if active is not None and spark_session.current_target() is None:
        spark_session.adopt(active, SparkTarget("databricks", "the job cluster's session"))


def run_step(pipes: PipesContext) -> StepReport:
    """Run the step the Pipes extras name and report it through `pipes`."""
    extras = pipes.extras
    name = extras.get("step")
    if name not in STEPS:
        raise ValueError(f"unknown spark job step {name!r}; known steps: {', '.join(STEPS)}")
    pipes.log.info(f"shelfguard spark job: step {name}")
    adopt_cluster_session()
    report = STEPS[name](extras)
    for batch in report.batches:
        pipes.report_custom_message(batch.message())
    if report.outcome is not None:
        pipes.report_custom_message(report.outcome_message())
    if extras.get("materialize", True):  # False: the asset reports the outcome itself
        pipes.report_asset_materialization(metadata={k: v for k, v in report.metadata.items()
                                                     if v is not None})
    return report


def main() -> int:
    """The console script: Pipes parameters from the command line when Dagster passed them there
    (an existing Databricks cluster), else from the environment (a subprocess, a job cluster)."""
    from dagster_pipes import (
        PipesCliArgsParamsLoader,
        PipesDbfsContextLoader,
        PipesDbfsMessageWriter,
        PipesEnvVarParamsLoader,
        open_dagster_pipes,
    )

    params_loader = PipesCliArgsParamsLoader() if "--dagster-pipes-context" in sys.argv \
        else PipesEnvVarParamsLoader()
    if not params_loader.is_dagster_pipes_process():
        print(f"{ENTRY_POINT}: not launched by Dagster Pipes (no DAGSTER_PIPES_CONTEXT); "
              "see docs/spark-jobs.md", file=sys.stderr)
        return 2
    on_dbfs = Path("/dbfs").is_dir()  # a Databricks cluster: the context and messages go through DBFS
    with open_dagster_pipes(
        params_loader=params_loader,
        context_loader=PipesDbfsContextLoader() if on_dbfs else None,
        message_writer=PipesDbfsMessageWriter() if on_dbfs else None,
    ) as pipes:
        run_step(pipes)
    return 0


def _rows(frame: pl.DataFrame) -> list[dict[str, Any]]:
    return [{k: _json_safe(v) for k, v in row.items()} for row in frame.iter_rows(named=True)]


def frame_of(rows: list[dict[str, Any]] | None) -> pl.DataFrame:
    """A sample sent as rows, back as a frame (dates and timestamps as ISO text)."""
    return pl.DataFrame(rows, infer_schema_length=None) if rows else pl.DataFrame()


def _json_safe(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


if __name__ == "__main__":
    sys.exit(main())
