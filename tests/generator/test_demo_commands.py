"""`shelfguard demo-data` and `shelfguard demo` from the command line."""

from __future__ import annotations

import json

import pytest

from shelfguard.cli import main


def test_demo_data_writes_and_summarises(shelfguard_home, capsys):
    assert (
        main(
            [
                "demo-data",
                "--days",
                "3",
                "--stores",
                "2",
                "--products",
                "4",
                "--seed",
                "5",
                "--start",
                "2025-06-02",
                "--retailer",
                "nwg_us",
                "--retailer",
                "crl_au",
                "--faults",
                "nulls,duplicate_keys",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "nwg_us" in out and "crl_au" in out and "alp_de" not in out
    report = json.loads((shelfguard_home / "demo_data_report.json").read_text())
    assert report["start"] == "2025-06-02" and report["retailers"] == ["crl_au", "nwg_us"]
    assert {i["fault"] for i in report["injections"]} == {"nulls", "duplicate_keys"}
    assert (shelfguard_home / "landing" / "nwg_us" / "nwg_pos_20250602.csv").is_file()
    assert (shelfguard_home / "sources" / "crl_au.sqlite").is_file()


def test_unknown_fault_or_retailer_is_a_one_line_error(shelfguard_home, capsys):
    assert main(["demo-data", "--faults", "nulls,gremlins"]) == 2
    assert main(["demo-data", "--retailer", "zzz_zz"]) == 2
    assert main(["demo-data", "--start", "tomorrow"]) == 2
    assert main(["demo-data", "--days", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 4 and "unknown fault gremlins" in err[0] and "unknown retailer zzz_zz" in err[1]
    assert not (shelfguard_home / "landing").exists()


@pytest.mark.slow
def test_demo_runs_the_pipeline_and_reports_per_retailer(shelfguard_home, capsys):
    assert main(["demo", "--days", "4", "--stores", "2", "--products", "4"]) == 0, (
        "blocked deliveries are expected"
    )
    out = capsys.readouterr().out
    assert out.startswith("1. contracts: 0 lint problem(s)")
    assert "2. demo data:" in out and "3. pipeline:" in out
    report = out.split("4. per retailer (rows)")[1]
    for code in ("alp_de", "crl_au", "fjd_no", "kst_uk", "lks_ca", "mpn_fr", "nwg_us", "pmp_ar", "skr_jp"):
        assert code in report
    header = report.splitlines()[1].split()
    assert " ".join(header) == (
        "retailer delivered in bronze accepted promoted to silver silver tables in gold quarantined "
        "blocked deliveries"
    )
    assert "quarantined rows by the rule they break" in report
    assert "blocked or unreadable deliveries" in report
    assert "batches blocked in silver or gold" in report
    assert "5. gold tables (rows)" in out and "daily_store_fact" in out
    assert "shelfguard ui" in out
    assert (shelfguard_home / "warehouse" / "gold" / "daily_store_fact" / "_delta_log").is_dir()
