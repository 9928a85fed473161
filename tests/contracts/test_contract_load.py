"""Contract loading is linear in the contract and parses a content once per process (issue 26).

The load time itself is a benchmark figure (benchmarks/gate_bench.py); the bound here is generous
(a shared machine is often 5x slower than quiet) and only catches the super-linear validation that
took minutes on a 3,000-line nested contract."""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

from checks.contract import load_contract, read_document
from checks.lint import lint_paths

REPO = Path(__file__).resolve().parents[2]


def large_contract_text(lines: int) -> str:
    spec = importlib.util.spec_from_file_location("large_contract", REPO / "benchmarks" / "large_contract.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.large_contract_text(lines)


def test_a_3000_line_nested_contract_loads_and_lints_in_bounded_time(tmp_path: Path) -> None:
    path = tmp_path / "large.odcs.yaml"
    path.write_text(large_contract_text(3000))
    assert path.read_text().count("\n") >= 3000
    started = time.perf_counter()
    contract = load_contract(path)
    problems = [p.location_message() for p in lint_paths([path], with_warnings=False)]
    assert time.perf_counter() - started < 30
    assert problems == []
    assert len(contract.objects) >= 5


def test_a_schema_error_deep_in_a_large_contract_is_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "large.odcs.yaml"
    text = large_contract_text(3000)
    start = text.rindex("physicalType: BIGINT\n")
    indent = start - text.rindex("\n", 0, start) - 1
    path.write_text(text[:start] + "colour: red\n" + " " * indent + text[start:])
    line = text[:start].count("\n") + 1
    found = [p.location_message() for p in lint_paths([path])]
    assert [m for m in found if "'colour' was unexpected" in m] == [
        next(m for m in found if m.startswith(f"{path}:{line}:"))], found


def test_a_content_is_parsed_once_and_every_caller_gets_its_own_copy(tmp_path: Path) -> None:
    path = tmp_path / "small.odcs.yaml"
    path.write_text(large_contract_text(40))
    first = read_document(path)
    first.document["schema"][0]["name"] = "changed by a caller"
    again = read_document(path)
    assert again.document["schema"][0]["name"] == "object_0"
    path.write_text(path.read_text().replace("name: object_0", "name: renamed"))
    assert read_document(path).document["schema"][0]["name"] == "renamed"  # new content, parsed anew
