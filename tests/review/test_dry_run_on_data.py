"""The dry run on generated demo data through every kind of contract: landing files, pulled
deliveries in bronze, silver tables for the canonical model, master files. The expected numbers
come from the generator's report of the faults it injected, or from the bytes themselves."""

from __future__ import annotations

import csv
import shutil
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from assets.bronze.ingest import ingest
from assets.intake.base import frame_sha256
from assets.intake.database import database_delivery
from assets.intake.landing import landing_delivery, landing_files
from assets.plan import fed_objects, object_option
from assets.silver.publish import publish_silver
from checks.contract import load_contract
from shelfguard.demo_data import GenerationReport, generate
from shelfguard.demo_sources import demo_sources
from shelfguard.review.report import ContractReview, to_markdown
from shelfguard.settings import DataHome
from tests.review.conftest import ALP_DE_PATH, CANONICAL_PATH, NWG_US_PATH, Repo, run_review
from tests.review.contract_edits import ALP_DE, CANONICAL, CRL_AU, MASTER, rule, set_custom, set_threshold

DAYS = 6
CRL_AU_PATH = "contracts/retailers/crl_au/crl_au.odcs.yaml"
MASTER_PATH = "contracts/canonical/corporate_master.odcs.yaml"


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every file of the data home with its size and modification time: the dry run must not write."""
    return {
        p.relative_to(root).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in root.rglob("*")
        if p.is_file()
    }


@pytest.fixture(scope="module")
def alp_de_home(tmp_path_factory: pytest.TempPathFactory) -> tuple[DataHome, GenerationReport]:
    """Clean alp_de demo deliveries taken into bronze and silver by the real layers, so the canonical
    and master contracts have data to be tried on."""
    home = DataHome(tmp_path_factory.mktemp("alp_de_home"))
    report = generate(home, days=DAYS, stores=2, products=3, retailers=["alp_de"])
    contract = load_contract(ALP_DE)
    files = sorted(
        ((path, name) for name in contract.object_names for path in landing_files(home, contract, name)),
        key=lambda found: (found[0].stat().st_mtime_ns, found[0].name),
    )
    for path, name in files:
        ingest(home, contract, landing_delivery(contract, name, path))
    canonical, master = load_contract(CANONICAL), load_contract(MASTER)
    for canonical_object in fed_objects(contract):
        publish_silver(home, contract, canonical, master, canonical_object)
    return home, report


def test_tightened_rule_would_have_blocked_the_demo_deliveries_with_invalid_codes(
    repo: Repo, tmp_path: Path
) -> None:
    """24 rows a day: one invalid code is 4.2 %, quarantined under the 5 % limit, blocking under 1 %."""
    home = DataHome(tmp_path / "nwg_us_home")
    report = generate(home, days=4, stores=3, products=8, faults=["invalid_codes"], retailers=["nwg_us"])
    (faulty,) = report.injections_of("invalid_codes")
    deliveries = report.deliveries_of("nwg_us", "pos_daily")
    rule_id = {"upc": "nwg_upc_format", "store_gln": "nwg_store_gln_format"}[str(faulty.column)]
    repo.edit(NWG_US_PATH, lambda d: set_threshold(rule(d, rule_id), "mustBeLessThan", 1))
    result = run_review(repo.root, home.root, "--base", "main", "--format", "json")
    (run,) = result.json["dry_run"]
    assert (run["object"], run["source"], run["deliveries"]) == ("pos_daily", "landing", len(deliveries))
    assert (run["newly_blocked"], run["blocked_before"], run["blocked_after"]) == (1, 0, 1)
    assert run["newly_blocking_rules"] == {rule_id: 1}
    faulty_rows = next(d.rows for d in deliveries if d.location == faulty.location)
    assert (run["quarantined_rows_before"], run["quarantined_rows_after"]) == (
        faulty.rows_affected,
        faulty_rows,
    )
    blocked = [t["file"] for t in run["trials"] if t["head"]["verdict"] == "block"]
    assert blocked == [Path(faulty.location).name]
    tightened = next(c for c in result.json["changes"] if c["change"] == "threshold_tightened")
    assert tightened["severity"] == "breaking", "the evidence makes the risky change breaking"
    assert f"would have blocked 1 of the last {len(deliveries)} deliveries" in tightened["reason"]
    assert result.status == 1


def test_encoding_change_makes_the_files_with_latin1_bytes_unreadable(
    repo: Repo, alp_de_home: tuple[DataHome, GenerationReport]
) -> None:
    home, report = alp_de_home
    repo.git("checkout", "-q", "-b", "utf-8")
    repo.edit(ALP_DE_PATH, lambda d: set_custom(d["servers"][0], "encoding", "utf-8"))
    repo.commit("alp_de sends UTF-8")
    result = run_review(repo.root, home.root, "--base", "main", "--head", "utf-8", "--format", "json")
    (change,) = [c for c in result.json["changes"] if c["severity"] == "breaking"]
    assert (change["before"], change["after"]) == ("latin-1", "utf-8")
    runs = {run["object"]: run for run in result.json["dry_run"]}
    assert set(runs) == {"products", "stores", "sales"}, "a server change concerns every object"
    not_utf8 = {}
    for name, run in runs.items():
        files = [home.root / d.location for d in report.deliveries_of("alp_de", name)]
        not_utf8[name] = sum(not _is_utf8(path.read_bytes()) for path in files)
        assert run["deliveries"] == len(files)
        assert (run["unreadable_before"], run["unreadable_after"]) == (0, not_utf8[name])
        assert run["newly_blocked"] == not_utf8[name]
        assert run["newly_blocking_rules"] == ({"unreadable": not_utf8[name]} if not_utf8[name] else {})
    assert not_utf8["stores"] == DAYS, "every store list names München or Köln in Latin-1"
    assert result.status == 1


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def test_canonical_change_is_tried_on_the_silver_data_of_each_feeding_retailer(
    repo: Repo, alp_de_home: tuple[DataHome, GenerationReport]
) -> None:
    home, report = alp_de_home
    before = _snapshot(home.root)
    repo.edit(
        CANONICAL_PATH,
        lambda d: rule(d, "daily_store_fact_currency_code")["arguments"].__setitem__("pattern", "USD|CAD"),
    )
    result = run_review(repo.root, home.root, "--base", "main", "--format", "json")
    sales = report.deliveries_of("alp_de", "sales")
    (run,) = result.json["dry_run"]
    assert (run["retailer"], run["object"], run["source"]) == ("alp_de", "daily_store_fact", "silver")
    assert run["folder"] == str(home.table("silver", "alp_de__daily_store_fact"))
    assert (run["deliveries"], run["blocked_before"], run["newly_blocked"]) == (len(sales), 0, len(sales))
    assert run["newly_blocking_rules"] == {"daily_store_fact_currency_code": len(sales)}
    assert (run["quarantined_rows_before"], run["quarantined_rows_after"]) == (0, sum(d.rows for d in sales))
    (changed,) = [c for c in result.json["changes"] if c["rules"] == ["daily_store_fact_currency_code"]]
    assert changed["severity"] == "breaking", "the evidence makes the risky pattern change breaking"
    assert (
        f"would have blocked {len(sales)} of the last {len(sales)} deliveries in silver from `alp_de`"
        in (changed["reason"])
    )
    (note,) = result.json["notes"]
    assert "no silver data of `daily_store_fact` for `nwg_us`" in note
    markdown = to_markdown(ContractReview.model_validate(result.json))
    assert f"- 🔴 {run['summary']}" in markdown and f"> {note}" in markdown
    assert _snapshot(home.root) == before, "the dry run only reads the data home"


def test_canonical_dimension_is_tried_whole(
    repo: Repo, alp_de_home: tuple[DataHome, GenerationReport]
) -> None:
    """Silver gates a dimension whole, so the dry run does too: one trial, every version."""
    home, _ = alp_de_home
    repo.edit(
        CANONICAL_PATH,
        lambda d: rule(d, "site_dim_gln_format")["arguments"].__setitem__("pattern", "[0-9]{14}"),
    )
    sites = pl.read_delta(str(home.table("silver", "alp_de__site_dim")))
    with_gln = sites.filter(pl.col("gln").is_not_null()).height
    assert with_gln, "alp_de sends the GLN of its stores"
    result = run_review(repo.root, home.root, "--base", "main", "--format", "json")
    (run,) = result.json["dry_run"]
    assert (run["object"], run["unit"], run["deliveries"]) == ("site_dim", "silver table", 1)
    (trial,) = run["trials"]
    assert trial["file"] == "alp_de__site_dim"
    assert (trial["base"]["rows"], trial["head"]["rows"]) == (sites.height, sites.height)
    assert (run["quarantined_rows_before"], run["quarantined_rows_after"]) == (0, with_gln)
    assert "of 1 silver table from `alp_de` `site_dim`" in run["summary"]


def test_master_change_is_tried_on_the_latest_master_files(
    repo: Repo, alp_de_home: tuple[DataHome, GenerationReport]
) -> None:
    home, report = alp_de_home
    master_file = home.root / report.master.product_master
    with master_file.open(encoding="utf-8", newline="") as handle:
        beverages = sum(row["corp_category"] == "beverages" for row in csv.DictReader(handle))
    assert beverages, "the demo catalogue starts with drinks"
    repo.edit(
        MASTER_PATH,
        lambda d: rule(d, "product_master_category_known")["arguments"]["validValues"].remove("beverages"),
    )
    result = run_review(repo.root, home.root, "--base", "main", "--format", "json")
    (run,) = result.json["dry_run"]
    assert (run["retailer"], run["object"], run["source"]) == ("corporate", "product_master", "master")
    assert [t["file"] for t in run["trials"]] == [master_file.name]
    assert (run["newly_blocked"], run["newly_blocking_rules"]) == (1, {"product_master_category_known": 1})
    assert (run["quarantined_rows_before"], run["quarantined_rows_after"]) == (0, report.master.products)


@pytest.fixture(scope="module")
def crl_au_home(tmp_path_factory: pytest.TempPathFactory) -> tuple[DataHome, GenerationReport]:
    """crl_au's demo database (one sales load with a negative quantity), pulled into bronze one load
    batch at a time, as the daily pulls by watermark take it."""
    home = DataHome(tmp_path_factory.mktemp("crl_au_home"))
    report = generate(home, days=DAYS, stores=3, products=8, faults=["negative_units"], retailers=["crl_au"])
    contract = load_contract(CRL_AU)
    start = datetime(2025, 4, 1, 6, tzinfo=UTC)
    with demo_sources(home):
        pulled = database_delivery(contract, "sales", None, start)
    assert pulled is not None and pulled.frame is not None
    watermark = str(object_option(contract, "sales", "watermark"))
    loads = pulled.frame.partition_by(watermark, maintain_order=True)
    for day, load in enumerate(loads):
        mark = str(load[watermark].cast(pl.String).max())
        at = start + timedelta(days=day)
        delivery = replace(
            pulled,
            frame=load,
            content_sha256=frame_sha256(load),
            period=mark,
            delivered_at=at,
            watermark=mark,
        )
        ingest(home, contract, delivery, now=at)
    return home, report


def test_pulled_retailer_is_tried_on_its_latest_deliveries_in_bronze(
    repo: Repo, crl_au_home: tuple[DataHome, GenerationReport]
) -> None:
    home, report = crl_au_home
    (faulty,) = report.injections_of("negative_units")
    assert (faulty.retailer, faulty.object) == ("crl_au", "sales")
    sales = report.deliveries_of("crl_au", "sales")
    position = [d.period for d in sales].index(faulty.period)
    last = len(sales) - position
    assert last < len(sales), "the fault is not in the oldest load, so `--last` leaves some out"
    (repo.root / CRL_AU_PATH).parent.mkdir(parents=True)
    shutil.copy(CRL_AU, repo.root / CRL_AU_PATH)
    repo.commit("crl_au")
    repo.edit(CRL_AU_PATH, lambda d: set_threshold(rule(d, "crl_sales_qty_not_negative"), "mustBe", 0))
    before = _snapshot(home.root)
    result = run_review(repo.root, home.root, "--base", "main", "--format", "json", "--last", str(last))
    (run,) = result.json["dry_run"]
    assert (run["retailer"], run["object"], run["source"], run["deliveries"]) == (
        "crl_au",
        "sales",
        "bronze",
        last,
    )
    assert [t["file"].startswith("crl_au:sales:") for t in run["trials"]] == [True] * last
    assert [t["head"]["verdict"] for t in run["trials"]] == ["block"] + ["pass"] * (last - 1), "oldest first"
    assert (run["newly_blocked"], run["newly_blocking_rules"]) == (1, {"crl_sales_qty_not_negative": 1})
    assert (run["quarantined_rows_before"], run["quarantined_rows_after"]) == (
        faulty.rows_affected,
        sales[position].rows,
    )
    assert not [n for n in result.json["notes"] if "crl_au" in n], "pulled retailers are no longer skipped"
    assert _snapshot(home.root) == before, "the dry run only reads the data home"


def test_pulled_retailer_without_deliveries_says_so(repo: Repo, shelfguard_home: Path) -> None:
    (repo.root / CRL_AU_PATH).parent.mkdir(parents=True)
    shutil.copy(CRL_AU, repo.root / CRL_AU_PATH)
    repo.commit("crl_au")
    repo.edit(CRL_AU_PATH, lambda d: set_threshold(rule(d, "crl_sales_qty_not_negative"), "mustBe", 0))
    result = run_review(repo.root, shelfguard_home, "--base", "main")
    assert "⚪ no deliveries of `crl_au` (`sales`) found in" in result.out
    assert "_delivery_ledger" in result.out
