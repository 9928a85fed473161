"""The demo gives every group of the shipped contracts one reader, and never touches an operator's
directory."""

from __future__ import annotations

from assets.gold.views import load_directory, write_demo_directory
from assets.plan import build_plan
from checks.access import groups
from shelfguard.settings import CONTRACTS_DIR, DataHome


def test_demo_directory_has_one_reader_per_group(tmp_path):
    home = DataHome(tmp_path).ensure()
    plan = build_plan(CONTRACTS_DIR)
    shipped = groups(plan.canonical, plan.retailers)
    assert write_demo_directory(home, shipped) == home.directory_file
    assert load_directory(home.directory_file) == {f"{g}@demo.example": [g] for g in shipped}
    assert {"pos_analysts_all", "pos_access_pending"} <= set(shipped)


def test_group_names_that_need_quoting_round_trip(tmp_path):
    home = DataHome(tmp_path).ensure()
    odd = ['grp\\\' OR TRUE OR \\\'', 'a: "b"', "#hash"]
    write_demo_directory(home, odd)
    assert load_directory(home.directory_file) == {f"{g}@demo.example": [g] for g in odd}


def test_an_existing_directory_is_left_alone(tmp_path):
    home = DataHome(tmp_path).ensure()
    home.directory_file.parent.mkdir(parents=True, exist_ok=True)
    home.directory_file.write_text("users:\n  ana@example.com: [pos_analysts_all]\n", "utf-8")
    assert write_demo_directory(home, ["pos_analysts_apac"]) is None
    assert load_directory(home.directory_file) == {"ana@example.com": ["pos_analysts_all"]}
