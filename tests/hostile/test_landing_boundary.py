"""The landing zone is a boundary: links, non-files and unreadable files are recorded as unreadable
with their reason, nothing of them is read or copied, and they never stop the other deliveries."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from assets.bronze.ingest import BronzeWriter, promotable_rows, replay
from assets.bronze.ledger import read_ledger
from assets.intake.landing import landing_delivery, landing_files, new_landing_files
from shelfguard.settings import DataHome
from tests.bronze.conftest import nwg_row, write_nwg

SECRET = "root-only-secret-line: s3cr3t-c0ntent"
LATIN1_SEMICOLON = ("Datum;Filiale;EAN;Menge;Umsatz;Bestand;Änderungsdatum\n"
                    "25.03.2025;1408;0100000000007;3;2,46;59;26.03.2025 05:34:00\n").encode("latin-1")


@pytest.fixture
def landing(shelfguard_home: Path) -> tuple[DataHome, Path, Path]:
    """A data home, nwg_us's landing folder and a secret file outside the data home."""
    home = DataHome(shelfguard_home).ensure()
    folder = home.landing_for("nwg_us")
    folder.mkdir(parents=True, exist_ok=True)
    outside = shelfguard_home.parent / "outside" / "passwd"
    outside.parent.mkdir()
    outside.write_text(SECRET + "\nsecond line\n", "utf-8")
    return home, folder, outside


def _take_in_all(home: DataHome, contract, folder: Path) -> dict[str, dict]:
    """What one bronze run does: every new landing file, in one writer; entries by file name."""
    with BronzeWriter(home, "nwg_us", "pos_daily") as writer:
        for path in new_landing_files(home, contract, "pos_daily", writer.ledger):
            writer.ingest(contract, landing_delivery(contract, "pos_daily", path, folder))
    return {Path(e["source"]).name: e for e in read_ledger(home.warehouse).iter_rows(named=True)}


def _everything_written(home: DataHome) -> bytes:
    return b"".join(p.read_bytes() for p in home.root.rglob("*") if p.is_file() and not p.is_symlink())


def test_links_and_non_files_are_refused_with_a_record_and_the_rest_goes_on(landing, nwg_contract):
    home, folder, outside = landing
    write_nwg(folder, "nwg_pos_20261101.csv", [nwg_row(item="5001")])
    (folder / "nwg_pos_20261102.csv").symlink_to(outside)
    (folder / "nwg_pos_20261103.csv").symlink_to(folder / "missing.csv")
    (folder / "nwg_pos_20261104.csv").symlink_to(folder / "nwg_pos_20261101.csv")  # even inside: a link
    (folder / "nwg_pos_20261105.csv").write_bytes(LATIN1_SEMICOLON)  # another retailer's Latin-1 file
    os.mkfifo(folder / "nwg_pos_20261106.csv")  # reading a pipe would hang the run
    write_nwg(folder, "nwg_pos_20261107.csv", [nwg_row(day="11/07/2026", item="5002")])

    entries = _take_in_all(home, nwg_contract, folder)

    assert {name: e["verdict"] for name, e in entries.items()} == {
        "nwg_pos_20261101.csv": "pass",
        "nwg_pos_20261102.csv": "unreadable",
        "nwg_pos_20261103.csv": "unreadable",
        "nwg_pos_20261104.csv": "unreadable",
        "nwg_pos_20261105.csv": "unreadable",
        "nwg_pos_20261106.csv": "unreadable",
        "nwg_pos_20261107.csv": "pass",
    }
    assert "symbolic link" in entries["nwg_pos_20261102.csv"]["reason"]
    assert "dangling symbolic link" in entries["nwg_pos_20261103.csv"]["reason"]
    assert "not a regular file" in entries["nwg_pos_20261106.csv"]["reason"]
    assert ":1: not valid utf-8 text: byte 0xc4" in entries["nwg_pos_20261105.csv"]["reason"]
    assert entries["nwg_pos_20261102.csv"]["source"] == str(folder.resolve() / "nwg_pos_20261102.csv")
    assert sorted(promotable_rows(home, "nwg_us", "pos_daily")["item_nbr"]) == ["5001", "5002"]
    written = _everything_written(home)
    assert SECRET.encode() not in written and str(outside).encode() not in written
    kept = sorted(p.name for p in (home.quarantine / "files" / "nwg_us").iterdir())
    refused = [name for name in kept if "20261102" in name or "20261103" in name or "20261106" in name]
    assert refused and all(name.endswith(".reason.json") for name in refused), kept
    reason = json.loads((home.quarantine / "files" / "nwg_us" / refused[0]).read_text("utf-8"))
    assert reason["reason"].startswith("refused:")


def test_refused_files_are_recorded_once(landing, nwg_contract):
    home, folder, outside = landing
    (folder / "nwg_pos_20261102.csv").symlink_to(outside)
    (folder / "nwg_pos_20261103.csv").symlink_to(folder / "missing.csv")
    _take_in_all(home, nwg_contract, folder)
    assert new_landing_files(home, nwg_contract, "pos_daily", read_ledger(home.warehouse)) == []
    _take_in_all(home, nwg_contract, folder)
    assert read_ledger(home.warehouse).height == 2


def test_a_file_outside_the_landing_folder_is_refused(landing, nwg_contract, tmp_path):
    home, folder, _ = landing
    elsewhere = write_nwg(tmp_path / "elsewhere", "nwg_pos_20261102.csv", [nwg_row()])
    with BronzeWriter(home, "nwg_us", "pos_daily") as writer:
        outcome = writer.ingest(nwg_contract, landing_delivery(nwg_contract, "pos_daily", elsewhere, folder))
    assert outcome.entry.verdict == "unreadable"
    assert "outside the retailer's landing folder" in outcome.entry.reason
    assert not list((home.quarantine / "files" / "nwg_us").glob("*.csv")), "nothing copied from outside"
    assert not (home.table("bronze", "nwg_us__pos_daily") / "_delta_log").exists()


def test_a_linked_landing_subfolder_is_refused(landing, nwg_contract, tmp_path):
    home, folder, _ = landing
    target = tmp_path / "linked"
    write_nwg(target, "nwg_pos_20261102.csv", [nwg_row()])
    (folder / "daily").symlink_to(target, target_is_directory=True)
    path = folder / "daily" / "nwg_pos_20261102.csv"
    delivery = landing_delivery(nwg_contract, "pos_daily", path, folder)
    assert delivery.refused == "refused: the file is outside the retailer's landing folder"


def test_replaying_a_refused_delivery_refuses_it_again(landing, nwg_contract):
    home, folder, outside = landing
    (folder / "nwg_pos_20261102.csv").symlink_to(outside)
    entries = _take_in_all(home, nwg_contract, folder)
    again = replay(home, nwg_contract, entries["nwg_pos_20261102.csv"]["delivery_id"])
    assert (again.entry.verdict, again.entry.attempt) == ("unreadable", 2)
    assert again.entry.reason == entries["nwg_pos_20261102.csv"]["reason"]
    assert SECRET.encode() not in _everything_written(home)


def test_landing_files_lists_links_for_the_record(landing, nwg_contract):
    home, folder, outside = landing
    (folder / "nwg_pos_20261103.csv").symlink_to(folder / "missing.csv")
    (folder / "nwg_pos_20261104.csv").mkdir()
    assert [p.name for p in landing_files(home, nwg_contract, "pos_daily")] == ["nwg_pos_20261103.csv"]

