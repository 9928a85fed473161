"""A tenth retailer in a contracts folder: file names with a `dd-MM-yyyy` date are written, and one
whose names the generator cannot produce is skipped with one warning line while the others are written."""

from __future__ import annotations

import re
import shutil

import pytest

from shelfguard.commands.demo_data import summary
from shelfguard.demo_data import generate
from shelfguard.settings import DataHome
from tests.conftest import CONTRACTS_DIR


def _tenth_retailer(tmp_path, period_regex: str):
    contracts = tmp_path / "contracts"
    shutil.copytree(CONTRACTS_DIR, contracts)
    source = (CONTRACTS_DIR / "retailers" / "nwg_us" / "nwg_us.odcs.yaml").read_text("utf-8")
    text = source.replace("nwg_us", "tst_nl").replace("nwg_pos_", "tst_").replace(r"\d{8}", period_regex)
    (contracts / "retailers" / "tst_nl").mkdir()
    (contracts / "retailers" / "tst_nl" / "tst_nl.odcs.yaml").write_text(text, "utf-8")
    return contracts


def test_a_day_month_year_date_in_file_names_is_written(tmp_path):
    contracts = _tenth_retailer(tmp_path, r"\d{2}-\d{2}-\d{4}")
    home = DataHome(tmp_path / "home")
    report = generate(home, days=2, stores=1, products=2, retailers=["tst_nl"], contracts_dir=contracts)
    names = sorted(p.name for p in home.landing_for("tst_nl").iterdir())
    assert names == ["tst_24-03-2025.csv", "tst_25-03-2025.csv"]
    assert report.skipped == {}


def test_a_retailer_the_generator_cannot_follow_is_skipped_with_one_warning(tmp_path):
    contracts = _tenth_retailer(tmp_path, r"\d{2}\.\d{2}\.\d{2}")  # a two-digit year
    home = DataHome(tmp_path / "home")
    report = generate(home, days=2, stores=1, products=2, contracts_dir=contracts)
    assert list(report.skipped) == ["tst_nl"]
    assert "tst_nl.odcs.yaml:" in report.skipped["tst_nl"] and "no file name" in report.skipped["tst_nl"]
    assert "tst_nl" not in report.retailers and not home.landing_for("tst_nl").exists()
    assert {d.retailer for d in report.deliveries} - {"corporate"} == {
        "alp_de", "crl_au", "fjd_no", "kst_uk", "lks_ca", "mpn_fr", "nwg_us", "pmp_ar", "skr_jp"}
    warnings = [line for line in summary(report).splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and re.match(r"warning: skipped tst_nl: .*tst_nl\.odcs\.yaml:\d+", warnings[0])
    with pytest.raises(ValueError, match="cannot generate tst_nl"):
        generate(home, days=2, stores=1, products=2, retailers=["tst_nl"], contracts_dir=contracts)
