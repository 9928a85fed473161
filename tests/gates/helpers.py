"""Building small contracts for gate tests: a property list in, a validated contract file out."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from checks.contract import Contract, load_contract
from checks.engines import ENGINES

OBJECT = "sales"


def contract_file(folder: Path, properties: list[dict[str, Any]], quality: list[dict[str, Any]] = (),
                  *, object_name: str = OBJECT, server_hints: dict[str, Any] | None = None,
                  extra_objects: list[dict[str, Any]] = (), relationships: list[dict[str, Any]] = ()) -> Path:
    """A minimal valid ODCS contract with one object (plus any extra ones), written as YAML (JSON is YAML).
    `relationships` are the object's own (table-level, with `from` and `to`)."""
    obj: dict[str, Any] = {"name": object_name, "physicalType": "table", "properties": properties}
    if quality:
        obj["quality"] = list(quality)
    if relationships:
        obj["relationships"] = list(relationships)
    document: dict[str, Any] = {
        "apiVersion": "v3.1.0", "kind": "DataContract", "id": "urn:shelfguard:test:gates", "version": "1.0.0",
        "status": "active", "schema": [obj, *extra_objects],
    }
    if server_hints:
        document["servers"] = [{
            "server": "landing", "type": "local", "path": "landing/test", "format": "csv",
            "customProperties": [{"property": k, "value": v} for k, v in server_hints.items()],
        }]
    path = folder / "test.odcs.yaml"
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False), encoding="utf-8")
    return path


def contract(folder: Path, properties: list[dict[str, Any]], quality: list[dict[str, Any]] = (),
             **options: Any) -> Contract:
    return load_contract(contract_file(folder, properties, quality, **options))


def prop(name: str, logical_type: str = "string", **fields: Any) -> dict[str, Any]:
    return {"name": name, "logicalType": logical_type, **fields}


def on_violation(action: str) -> dict[str, Any]:
    return {"customProperties": [{"property": "onViolation", "value": action}]}


def rule(rule_id: str, metric: str, action: str | None = None, **fields: Any) -> dict[str, Any]:
    """A library quality rule; `fields` carry the operator, unit and arguments."""
    entry: dict[str, Any] = {"id": rule_id, "metric": metric, **fields}
    if action:
        entry.update(on_violation(action))
    return entry


def engine_params(*, streaming: bool = False) -> list[Any]:
    """Every engine; one whose module is not written yet is skipped, saying so. The spark engine's
    cases carry the `spark` marker (they share the test session's one Sail). `streaming`: only the
    engines that stream a Polars LazyFrame (spark hands it to Spark; tests/spark reads files with
    Spark itself)."""
    params = []
    for name, target in ENGINES.items():
        if streaming and name == "spark":
            continue
        module = target.split(":")[0]
        missing = importlib.util.find_spec(module) is None
        marks = [pytest.mark.skip(reason=f"{module} is not written yet")] if missing else []
        if name == "spark":
            marks.append(pytest.mark.spark)
        params.append(pytest.param(name, marks=marks, id=name))
    return params


def as_polars(frame: Any) -> pl.DataFrame:
    """A gate's published or quarantined rows as a Polars DataFrame, whatever the engine (a Spark
    DataFrame is collected: test batches are tiny)."""
    if type(frame).__module__.startswith("pyspark."):
        collected = pl.from_arrow(frame.toArrow())
        assert isinstance(collected, pl.DataFrame)
        return collected
    return frame.lazy().collect()
