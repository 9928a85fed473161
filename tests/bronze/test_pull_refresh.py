"""`refresh: full` drives the pull channels: every pull takes the whole table, whatever the watermark."""

from __future__ import annotations

from datetime import UTC, datetime

from assets.intake.base import pull_watermark
from assets.intake.database import database_delivery
from checks.contract import load_contract
from shelfguard.demo_data import generate
from shelfguard.demo_sources import demo_sources
from shelfguard.settings import DataHome
from tests.bronze.conftest import CONTRACTS
from tests.review.contract_edits import apply, obj, set_custom

LATER = "2099-01-01 00:00:00"


def test_full_refresh_pulls_the_whole_table(tmp_path, monkeypatch):
    home = DataHome(tmp_path / "home").ensure()
    monkeypatch.setenv("SHELFGUARD_HOME", str(home.root))
    generate(home, days=2, stores=2, products=3, retailers=["crl_au"])
    source = CONTRACTS / "retailers" / "crl_au" / "crl_au.odcs.yaml"
    full = tmp_path / "crl_au" / "crl_au.odcs.yaml"
    full.parent.mkdir()
    full.write_text(source.read_text("utf-8"), "utf-8")
    apply(full, lambda d: set_custom(obj(d, "products"), "refresh", "full"))
    incremental, snapshot = load_contract(source), load_contract(full)
    now = datetime.now(UTC)
    assert pull_watermark(incremental, "products", LATER) == LATER
    assert pull_watermark(snapshot, "products", LATER) is None
    with demo_sources(home):
        assert database_delivery(incremental, "products", LATER, now) is None, "nothing changed after LATER"
        whole = database_delivery(snapshot, "products", LATER, now)
        first = database_delivery(incremental, "products", None, now)
    assert whole is not None and first is not None
    assert whole.frame.height == first.frame.height > 0
    assert whole.content_sha256 == first.content_sha256, "an unchanged table is the same delivery"
