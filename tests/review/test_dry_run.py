"""The dry run: both gates on the latest real deliveries, with numbers known in advance."""

from __future__ import annotations

import os
from pathlib import Path

from checks.contract import load_contract
from checks.diff import diff_contracts
from shelfguard.review.dry_run import escalate
from shelfguard.review.trials import try_landing as replay_landing
from shelfguard.settings import DataHome
from tests.review.conftest import ALP_DE_PATH, Repo
from tests.review.contract_edits import ALP_DE, edited_text, rule

HEADER = "Datum;Filiale;EAN;Menge;Umsatz;Bestand;Änderungsdatum"
EAN_8 = "40123455"
ROWS_PER_FILE = 4


def _sales_file(folder: Path, day: int, *, ean_8: bool) -> Path:
    """One alp_de sales delivery (Latin-1, `;`, decimal comma) of four rows; one EAN-8 if asked."""
    stamp = f"{day:02d}.03.2025"
    eans = ["4006381333931", "4000417025005", "4008400401621", EAN_8 if ean_8 else "4001686301265"]
    lines = [HEADER] + [
        f"{stamp};1408;{ean};{n + 1};{n + 1},49;{10 + n};{stamp} 05:34:00" for n, ean in enumerate(eans)
    ]
    path = folder / f"abverkauf_202503{day:02d}.csv"
    path.write_bytes(("\n".join(lines) + "\n").encode("latin-1"))
    return path


def _deliveries(home: Path) -> None:
    """13 sales files in delivery order: the 2 oldest (outside the last 10) and 3 of the last 10 carry
    an EAN-8; the oldest of the last 10 is empty (unreadable under either revision)."""
    folder = home / "landing" / "alp_de"
    folder.mkdir(parents=True)
    for index, day in enumerate(range(1, 14)):
        if index == 3:
            path = folder / f"abverkauf_202503{day:02d}.csv"
            path.write_bytes(b"")
        else:
            path = _sales_file(folder, day, ean_8=index in (0, 1, 5, 8, 11))
        os.utime(path, (1_700_000_000 + index * 86_400, 1_700_000_000 + index * 86_400))


def test_narrowed_pattern_would_have_blocked_three_of_the_last_ten(
    repo: Repo, review, shelfguard_home: Path
) -> None:
    _deliveries(shelfguard_home)
    repo.edit(
        ALP_DE_PATH,
        lambda d: rule(d, "alp_sales_ean_format")["arguments"].__setitem__("pattern", "[0-9]{13}"),
    )
    result = review("--base", "main", "--format", "json")
    (run,) = result.json["dry_run"]
    assert {
        k: run[k]
        for k in (
            "object",
            "deliveries",
            "newly_blocked",
            "newly_accepted",
            "blocked_before",
            "blocked_after",
            "unreadable_before",
            "unreadable_after",
            "quarantined_rows_before",
            "quarantined_rows_after",
            "newly_blocking_rules",
        )
    } == {
        "object": "sales",
        "deliveries": 10,
        "newly_blocked": 3,
        "newly_accepted": 0,
        "blocked_before": 1,
        "blocked_after": 4,
        "unreadable_before": 1,
        "unreadable_after": 1,
        "quarantined_rows_before": 0,
        "quarantined_rows_after": 3 * ROWS_PER_FILE,
        "newly_blocking_rules": {"alp_sales_ean_format": 3},
    }
    assert run["summary"] == (
        "this change would have blocked 3 of the last 10 deliveries from `alp_de` `sales` "
        "(rule `alp_sales_ean_format`); quarantined rows 0 → 12"
    )
    assert [t["file"] for t in run["trials"]][0] == "abverkauf_20250304.csv"
    assert run["trials"][0]["base"]["verdict"] == "unreadable"
    narrowed = next(c for c in result.json["changes"] if c["change"] == "pattern_narrowed")
    assert narrowed["severity"] == "breaking", "the dry run's evidence makes the risky change breaking"
    assert "would have blocked 3 of the last 10 deliveries" in narrowed["reason"]
    assert result.status == 1


def test_last_n_and_an_unchanged_outcome(tmp_path: Path, shelfguard_home: Path) -> None:
    """A tightened threshold the deliveries still meet stays risky; `last` picks the newest files."""
    _deliveries(shelfguard_home)
    head_path = tmp_path / ALP_DE.name
    head_path.write_text(
        edited_text(
            ALP_DE, lambda d: rule(d, "alp_sales_menge_not_negative").__setitem__("mustBeLessThan", 1)
        ),
        "utf-8",
    )
    base, head = load_contract(ALP_DE), load_contract(head_path)
    run = replay_landing(base, head, "sales", DataHome(shelfguard_home), last=3)
    assert [t.file for t in run.trials] == [f"abverkauf_202503{d}.csv" for d in (11, 12, 13)]
    assert (run.newly_blocked, run.blocked_after, run.quarantined_rows_after) == (0, 0, 0)
    (tightened,) = [c for c in escalate(diff_contracts(base, head, path="x"), [run]) if c.rules]
    assert (tightened.change, tightened.severity) == ("threshold_tightened", "risky")
