"""A realistic run of the pipeline's lineage for the contracts of a folder, through the real code.

Every bronze object reads one landing file of the given day and carries its gate result and
metrics; silver and gold read and write the tables the plan says. No data is moved: lineage is
named from the contracts and the data home, which is all the emitting code needs.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from assets.lineage.datasets import bronze_output, gold_lineage, silver_lineage, source_dataset
from assets.lineage.emit import LineageEmitter, ParentRun
from assets.lineage.facets import metrics_facet
from assets.lineage.naming import asset_job_name
from assets.plan import PipelinePlan, bronze_key, retailer_code
from checks.contract import Contract, custom_properties, properties_of
from checks.result import ContractRef, GateResult, RuleResult
from shelfguard.settings import DataHome

BRONZE_STAMPS = (("_delivery_id", "VARCHAR"), ("_ingested_at", "TIMESTAMP"))


def landing_file(home: DataHome, contract: Contract, object_name: str, day: str) -> Path:
    """The file of `day` that matches the object's `filePattern`, in the server's landing folder."""
    pattern = custom_properties(contract.object(object_name).get("customProperties"))["filePattern"]
    return home.root / contract.servers[0]["path"] / pattern.replace("*", day)


def gate_result(contract: Contract, object_name: str, rows: int = 100) -> GateResult:
    """A gate run with a passing not-null rule per required column and one failed warn rule."""
    props = properties_of(contract.object(object_name))
    rules = [RuleResult(id=f"{p['name']}_nullValues", property=p["name"], metric="nullValues",
                        on_violation="block", value=0, threshold={"mustBe": 0}, passed=True, outcome="pass")
             for p in props if p.get("required")]
    rules.append(RuleResult(id=f"{object_name}_rowCount", metric="rowCount", on_violation="warn", value=rows,
                            threshold={"mustBeGreaterThan": 1000}, passed=False, outcome="fail",
                            message=f"{rows} rows, expected more than 1000"))
    reference = ContractRef(id=contract.id, version=contract.version, path=str(contract.path))
    return GateResult(contract=reference, object=object_name, engine="pandera", rows=rows,
                      rows_published=rows, rows_quarantined=0, verdict="warn", rules=rules)


def emit_pipeline(emitter: LineageEmitter, plan: PipelinePlan, home: DataHome, day: str) -> ParentRun:
    """One Dagster-like run over every asset of the plan; returns the parent run the events name."""
    parent = ParentRun(namespace=emitter.namespace, job_name="demo_job", run_id=str(uuid.uuid4()))
    for contract in plan.retailers:
        code = retailer_code(contract)
        for obj in contract.objects:
            columns = [p["name"] for p in properties_of(obj)]
            source = source_dataset(contract, obj["name"], landing_file(home, contract, obj["name"], day),
                                    gate=gate_result(contract, obj["name"]),
                                    metrics=metrics_facet(100, dict.fromkeys(columns, 0), file_count=1))
            with emitter.run(asset_job_name(bronze_key(code, obj["name"])), [source], parent=parent) as run:
                run.complete(outputs=[bronze_output(contract, obj["name"], home, [source],
                                                           extra_fields=BRONZE_STAMPS)])
        master_files = {obj["name"]: landing_file(home, plan.master, obj["name"], "")
                        for obj in plan.master.objects}
        for node in plan.retailer_nodes(code, "silver"):
            inputs, outputs = silver_lineage(plan, node.key, home, master_files=master_files)
            with emitter.run(asset_job_name(node.key), inputs, outputs, parent=parent):
                pass
    for node in plan.nodes:
        if node.layer == "gold":
            inputs, outputs = gold_lineage(plan, node.key, home)
            with emitter.run(asset_job_name(node.key), inputs, outputs, parent=parent):
                pass
    return parent
