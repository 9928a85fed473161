"""The group databases are brought up to date from what changed in gold (ADR 0024): after one more
day of one retailer, after the build day moves (masking), and when a table's build record is gone,
each holds exactly the rows a database built from scratch holds; an unchanged one is not rewritten."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from assets.gold import views as views_module
from assets.gold.views import GoldViews, build_reader_database, group_database_path, open_reader, today_utc
from assets.plan import CANONICAL_OBJECTS, build_plan
from shelfguard.demo_data import generate
from shelfguard.demo_sources import demo_sources
from shelfguard.pipeline import run_pipeline
from shelfguard.settings import CONTRACTS_DIR, DataHome

pytestmark = pytest.mark.slow
SIZE = {"stores": 2, "products": 3, "seed": 5}
RETAILERS = ["nwg_us", "alp_de"]


def _run(home: DataHome) -> None:
    with demo_sources(home, retailers=RETAILERS):
        run = run_pipeline(home, retailers=RETAILERS, instance=dg.DagsterInstance.ephemeral())
    assert run.errors() == []


def _rows(path: Path) -> dict[str, list[tuple]]:
    con = open_reader(path)
    try:
        return {
            obj: sorted(con.execute(f"SELECT * FROM {obj}").fetchall(), key=repr) for obj in CANONICAL_OBJECTS
        }
    finally:
        con.close()


def _assert_as_built_from_scratch(home: DataHome, views: GoldViews, tmp_path: Path, today) -> None:
    for group in views.groups:
        scratch = tmp_path / f"{group}.duckdb"
        scratch.unlink(missing_ok=True)
        build_reader_database(scratch, home, views.canonical, views.grants, [group], today)
        assert _rows(group_database_path(home, group)) == _rows(scratch), group


def test_group_databases_follow_gold_changes_like_a_rebuild(tmp_path, monkeypatch):
    home = DataHome(tmp_path / "home").ensure()
    generate(home, days=3, retailers=RETAILERS, **SIZE)
    _run(home)
    plan = build_plan(CONTRACTS_DIR)
    views = GoldViews(home, plan.canonical, plan.retailers, directory={})
    everyone = group_database_path(home, "pos_analysts_all")
    first = everyone.stat().st_mtime_ns

    views.publish_group_databases()  # gold unchanged: nothing is rewritten
    assert everyone.stat().st_mtime_ns == first

    scratch = DataHome(tmp_path / "scratch").ensure()
    generate(scratch, days=4, retailers=["nwg_us"], **SIZE)
    landing = home.landing_for("nwg_us")
    new = [p for p in scratch.landing_for("nwg_us").iterdir() if not (landing / p.name).exists()]
    assert new
    for path in new:
        shutil.copy2(path, landing / path.name)
    refreshed = []
    refresh = views_module._refresh_table

    def recording(con, home, canonical, canonical_object, *args):
        refreshed.append((canonical_object, args[-1]))
        return refresh(con, home, canonical, canonical_object, *args)

    monkeypatch.setattr(views_module, "_refresh_table", recording)
    _run(home)  # the views asset brings every group's database up to date
    assert everyone.stat().st_mtime_ns != first
    daily = [changed for obj, changed in refreshed if obj == "daily_store_fact"]
    assert daily and all(c is not None and set(c["retailer_code"]) == {"nwg_us"} for c in daily), (
        "only nwg_us's new day is replaced, nothing rebuilt"
    )
    _assert_as_built_from_scratch(home, views, tmp_path, today_utc())

    later = today_utc() + timedelta(days=400)  # every masked measure now older than the horizon
    views.publish_group_databases(today=later)
    _assert_as_built_from_scratch(home, views, tmp_path, later)

    con = duckdb.connect(str(everyone))  # rows lost and the build record with them: rebuilt
    con.execute("DELETE FROM daily_store_fact")
    con.execute("COMMENT ON TABLE daily_store_fact IS NULL")
    con.close()
    views.publish_group_databases(today=later)
    _assert_as_built_from_scratch(home, views, tmp_path, later)
    assert _rows(everyone)["daily_store_fact"]
