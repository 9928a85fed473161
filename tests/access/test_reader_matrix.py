"""Evidence over a small demo's gold: who sees which retailers and rows, masking on both sides of
the horizon, every bypass refused from a reader connection, the group databases and their lineage,
and `shelfguard sql`."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest

from assets.gold.views import GoldViews, group_database_path, open_reader
from assets.plan import CANONICAL_OBJECTS, build_plan
from checks.access import access_grants
from shelfguard.demo_data import generate
from shelfguard.demo_sources import demo_sources
from shelfguard.pipeline import run_pipeline
from shelfguard.settings import CONTRACTS_DIR, DataHome
from tests.lineage.validation import EventValidator

pytestmark = pytest.mark.slow
SIZE = {"days": 3, "stores": 2, "products": 3}
EUROPE = {"alp_de", "mpn_fr", "kst_uk", "fjd_no"}
AMERICAS = {"nwg_us", "pmp_ar", "lks_ca"}
APAC = {"skr_jp", "crl_au"}
DIRECTORY = {
    "ana@example.com": ["pos_analysts_americas"],
    "eve@example.com": ["pos_analysts_emea"],
    "aki@example.com": ["pos_analysts_apac"],
    "cam@example.com": ["pos_analysts_all"],
    "pat@example.com": ["pos_access_pending"],
    "bob@example.com": ["pos_analysts_americas", "pos_analysts_all"],
}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    home = DataHome(tmp_path_factory.mktemp("access_demo")).ensure()
    generate(home, **SIZE)
    with demo_sources(home):
        run = run_pipeline(home, instance=dg.DagsterInstance.ephemeral())
    assert run.errors() == []
    plan = build_plan(CONTRACTS_DIR)
    return home, GoldViews(home, plan.canonical, plan.retailers, DIRECTORY)


def gold(home: DataHome, obj: str = "daily_store_fact") -> pl.DataFrame:
    return pl.read_delta(str(home.table("gold", obj)))


def visible(con: duckdb.DuckDBPyConnection, obj: str = "daily_store_fact") -> dict[str, int]:
    return dict(con.execute(f"SELECT retailer_code, count(*) FROM {obj} GROUP BY 1").fetchall())


@pytest.mark.parametrize(
    ("user", "retailers"),
    [
        ("ana@example.com", AMERICAS),
        ("eve@example.com", EUROPE | AMERICAS),
        ("aki@example.com", APAC),
        ("cam@example.com", EUROPE | AMERICAS | APAC),
        ("bob@example.com", EUROPE | AMERICAS | APAC),
        ("pat@example.com", set()),
        ("mallory@example.com", set()),
    ],
)
def test_each_group_sees_its_retailers_and_every_row_of_them(demo, user, retailers) -> None:
    home, views = demo
    con = views.connect(user)
    for obj in CANONICAL_OBJECTS:
        expected = {
            code: n for code, n in gold(home, obj).group_by("retailer_code").len().iter_rows()
            if code in retailers
        }
        assert visible(con, obj) == expected, obj
    assert set(expected) == retailers, "the small demo has facts for every retailer"


def masked_counts(views: GoldViews, user: str, today) -> dict[str, tuple[int, int]]:
    """Per retailer: (masked, unmasked) net_sales values of the daily facts."""
    rows = views.connect(user, today=today).execute(
        "SELECT retailer_code, count(*) FILTER (net_sales IS NULL), count(net_sales) FROM daily_store_fact "
        "GROUP BY 1"
    ).fetchall()
    return {code: (masked, shown) for code, masked, shown in rows}


@pytest.mark.parametrize(("age", "masked"), [(89, True), (90, False), (91, False)])
def test_competition_is_masked_younger_than_the_horizon(demo, age, masked) -> None:
    home, views = demo
    facts = gold(home)
    newest = facts["sale_date"].max()
    # only the newest day's rows are exactly `age` days old; older days are older still
    today = newest + timedelta(days=age)
    at_age = dict(facts.filter(pl.col("sale_date") == newest).group_by("retailer_code").len().iter_rows())
    totals = dict(facts.group_by("retailer_code").len().iter_rows())
    readers = (("eve@example.com", EUROPE), ("cam@example.com", set()), ("bob@example.com", AMERICAS))
    for user, owned in readers:
        counts = masked_counts(views, user, today)
        for code, (hidden, shown) in counts.items():
            if code in owned:
                assert (hidden, shown) == (0, totals[code]), f"{user} owns {code}"
            else:
                expect = at_age.get(code, 0) if masked else 0
                assert (hidden, shown) == (expect, totals[code] - expect), (user, code, age)


def test_owned_measures_equal_gold(demo) -> None:
    home, views = demo
    con = views.connect("ana@example.com")
    mine = con.execute("SELECT sum(net_sales) FROM daily_store_fact").fetchone()[0]
    expected = gold(home).filter(pl.col("retailer_code").is_in(sorted(AMERICAS)))["net_sales"].sum()
    assert mine == expected


BYPASSES = [
    "SELECT * FROM gold_raw_daily_store_fact",
    "SELECT * FROM read_parquet('{gold}/**/*.parquet')",
    "SELECT * FROM read_parquet('{silver}/**/*.parquet')",
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_text('/etc/passwd')",
    "SELECT * FROM glob('/etc/*')",
    "COPY daily_store_fact TO '{out}'",
    "EXPORT DATABASE '{out}'",
    "ATTACH '{db}' AS other",
    "ATTACH ':memory:' AS other",
    "INSTALL httpfs",
    "LOAD httpfs",
    "LOAD '{out}'",
    "SET enable_external_access = true",
    "SET lock_configuration = false",
    "RESET lock_configuration",
    "PRAGMA threads = 1",
    "SET GLOBAL autoinstall_known_extensions = true",
    "SET python_enable_replacements = true",
    "CREATE MACRO is_account_group_member(g) AS true",
    "CREATE OR REPLACE VIEW daily_store_fact AS SELECT 1",
    "INSERT INTO daily_store_fact SELECT * FROM daily_store_fact",
    "DELETE FROM daily_store_fact",
    "SELECT * FROM secret_frame",
]


@pytest.mark.parametrize("statement", BYPASSES)
def test_every_bypass_is_refused(demo, tmp_path, statement) -> None:
    home, views = demo
    secret_frame = gold(home)  # noqa: F841 -- a Python object in scope must not be readable
    con = views.connect("pat@example.com")
    sql = statement.format(gold=home.table("gold", "daily_store_fact"), silver=home.warehouse / "silver",
                           out=tmp_path / "out.csv", db=tmp_path / "x.duckdb")
    with pytest.raises(duckdb.Error):
        con.execute(sql).fetchall()
    assert visible(con) == {}
    assert not (tmp_path / "out.csv").exists()


def test_identity_and_clock_cannot_be_changed_by_the_reader(demo) -> None:
    home, views = demo
    newest = gold(home)["sale_date"].max()
    con = views.connect("cam@example.com", today=newest)
    before = con.execute("SELECT count(net_sales), count(*) FROM daily_store_fact").fetchone()
    assert before[0] == 0, "everything is young competition data for cam"
    for statement in (
        "SET VARIABLE sg_groups = ['pos_analysts_americas', 'pos_analysts_emea']",
        "SET VARIABLE sg_today = DATE '2100-01-01'",
        "SET VARIABLE sg_user = 'ana@example.com'",
        "CREATE TEMP MACRO is_account_group_member(g) AS true",
        "CREATE TEMP MACRO sg_today() AS DATE '2100-01-01'",
        "SET TimeZone = 'Pacific/Kiritimati'",
    ):
        with contextlib.suppress(duckdb.Error):
            con.execute(statement)
    assert con.execute("SELECT count(net_sales), count(*) FROM daily_store_fact").fetchone() == before
    names = {row[0] for row in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert names == set(CANONICAL_OBJECTS), "only the views exist"


def test_group_databases_are_published_after_gold_with_lineage(demo) -> None:
    home, views = demo
    plan = build_plan(CONTRACTS_DIR)
    grants = {(g.group, g.secure_group_key) for g in access_grants(plan.canonical, plan.retailers)}
    present = set(gold(home)["secure_group_key"])
    for group in views.groups:
        path = group_database_path(home, group)
        con = open_reader(path)
        rows = con.execute("SELECT DISTINCT secure_group_key FROM daily_store_fact").fetchall()
        keys = {k for (k,) in rows}
        assert keys == {k for g, k in grants if g == group} & present, group
        with pytest.raises(duckdb.Error):
            con.execute("SELECT * FROM read_csv('/etc/passwd')")
    events = [json.loads(line) for line in home.lineage_file.read_text("utf-8").splitlines()]
    views_runs = [e for e in events
                  if e["job"]["name"] == "gold.reader_views" and e["eventType"] == "COMPLETE"]
    assert views_runs, "the views asset ran after gold and emitted lineage"
    validator = EventValidator()
    assert [p for e in events if e["job"]["name"] == "gold.reader_views" for p in validator.errors(e)] == []
    outputs = {(o["namespace"], o["name"]) for o in views_runs[-1]["outputs"]}
    empty = f"duckdb://{group_database_path(home, 'pos_access_pending')}"
    assert (empty, "daily_store_fact") in outputs
    inputs = {o["name"] for o in views_runs[-1]["inputs"]}
    assert str(home.table("gold", "daily_store_fact")) in inputs


def test_sql_command_as_a_reader(demo, tmp_path) -> None:
    home, _ = demo
    (home.directory_file.parent).mkdir(parents=True, exist_ok=True)
    home.directory_file.write_text(
        "users:\n  ana@example.com: [pos_analysts_americas]\n", "utf-8"
    )
    env = {"SHELFGUARD_HOME": str(home.root), "PATH": "/usr/bin:/bin"}
    cli = [str(Path(sys.executable).parent / "shelfguard"), "sql", "--as"]
    done = subprocess.run(
        [*cli, "ana@example.com", "SELECT DISTINCT retailer_code FROM daily_store_fact ORDER BY 1",
         "--format", "csv"], capture_output=True, text=True, timeout=300, env=env, check=False,
    )
    assert (done.returncode, done.stdout) == (0, "retailer_code\nlks_ca\nnwg_us\n"), done.stderr
    refused = subprocess.run([*cli, "ana@example.com", "SELECT * FROM read_csv('/etc/passwd')"],
                             capture_output=True, text=True, timeout=300, env=env, check=False)
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1, refused.stderr
    assert "Permission Error" in refused.stderr
    session = subprocess.run(
        [*cli, "nobody@example.com", "--format", "json"],
        input="SELECT count(*) AS n\nFROM daily_store_fact;\nSELECT 1 AS one;\n",
        capture_output=True, text=True, timeout=300, env=env, check=False,
    )
    assert session.returncode == 0, session.stderr
    assert '"n": 0' in session.stdout and '"one": 1' in session.stdout
    Path(home.directory_file).unlink()
