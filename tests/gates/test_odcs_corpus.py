"""The ODCS corpus (`tests/fixtures/odcs/<case>/`): a contract written to the standard, a tiny data
file and the numbers counted by hand (`expected.json`, its `about` says how). Every contract lints
without errors, and `shelfguard check` gives the expected verdict and numbers with every engine.

`expected.json`: optional `lint_warnings` (how many warnings lint gives: what the gates do not
check), and `runs`, each with `data` (relative to the case folder; a glob or folder too), optional
`server`, `object` and `references` (object -> file, `--reference`), the `exit` status (2: with the
`error` stderr names), the `verdict`, optional `rows` and `rows_quarantined`, `rules`: rule id ->
[value, violating rows], and `outcomes`: rule id -> outcome (for rules whose numbers an engine
defines itself: custom rules, rules not evaluated).
Adding a case is adding a folder.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from checks.lint import lint_paths
from shelfguard.cli import main
from tests.gates.helpers import engine_params

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "odcs"
CASES = sorted(p for p in CORPUS.iterdir() if (p / "expected.json").is_file())


def _runs() -> list[Any]:
    runs = {case: json.loads((case / "expected.json").read_text())["runs"] for case in CASES}
    return [pytest.param(case, index, id=f"{case.name}-{index}")
            for case in CASES for index in range(len(runs[case]))]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_corpus_contract_lints_without_errors(case: Path) -> None:
    problems = lint_paths([case / "contract.odcs.yaml"], with_warnings=True)
    assert [p.location_message() for p in problems if p.is_error] == []
    expected = json.loads((case / "expected.json").read_text()).get("lint_warnings")
    if expected is not None:
        assert len(problems) == expected, [p.location_message() for p in problems]


@pytest.mark.parametrize("engine", engine_params())
@pytest.mark.parametrize(("case", "index"), _runs())
def test_corpus_numbers_in_every_engine(case: Path, index: int, engine: str,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    run = json.loads((case / "expected.json").read_text())["runs"][index]
    argv = ["check", "--contract", str(case / "contract.odcs.yaml"), "--data", str(case / run["data"]),
            "--engine", engine, "--format", "json"]
    for option in ("server", "object"):
        if option in run:
            argv += [f"--{option}", run[option]]
    for name, path in run.get("references", {}).items():
        argv += ["--reference", f"{name}={case / path}"]
    status = main(argv)
    out, err = capsys.readouterr()
    assert status == run["exit"], err
    if status == 2:
        assert run["error"] in err
        return
    result = json.loads(out)
    assert result["verdict"] == run["verdict"], [r for r in result["rules"] if r["passed"] is False]
    for key in ("rows", "rows_quarantined"):
        if key in run:
            assert result[key] == run[key]
    by_id = {r["id"]: r for r in result["rules"]}
    for rule_id, (value, violating) in run.get("rules", {}).items():
        found = by_id[rule_id]
        assert (found["value"], found["violating_rows"]) == (pytest.approx(value), violating), found
    for rule_id, outcome in run.get("outcomes", {}).items():
        if engine == "spark" and by_id[rule_id]["metric"] == "custom":  # Soda/GX do not run on Spark batches
            outcome = "not_evaluated"
        assert by_id[rule_id]["outcome"] == outcome, by_id[rule_id]
