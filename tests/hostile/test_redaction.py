"""Secrets in URLs and connection strings never reach a table, an event or a message: one
redaction (`checks.redaction`) applied to delivery sources, ledger reasons, lineage and errors."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from assets.bronze.ingest import ingest
from assets.bronze.ledger import read_ledger
from assets.intake.api import api_delivery
from assets.intake.base import ChannelError
from assets.intake.database import database_delivery
from assets.plan import server_options
from checks.contract import load_contract
from checks.errors import one_line
from checks.redaction import redact
from shelfguard.demo_data import generate
from shelfguard.demo_sources import demo_sources
from shelfguard.settings import DataHome
from tests.conftest import CONTRACTS_DIR

CRL = load_contract(CONTRACTS_DIR / "retailers" / "crl_au" / "crl_au.odcs.yaml")
FJD = load_contract(CONTRACTS_DIR / "retailers" / "fjd_no" / "fjd_no.odcs.yaml")
SECRET = "hunter2-Secret"


@pytest.mark.parametrize(("text", "kept"), [
    ("postgresql://etl:hunter2-Secret@db.example:5432/pos?sslmode=require", "postgresql://***@db.example:5432/pos?sslmode=require"),
    ("postgresql://etl:p@ss@hunter2-Secret@db/pos", "postgresql://***@db/pos"),
    ("sqlite:////data/pos.db?mode=ro&password=hunter2-Secret", "sqlite:////data/pos.db?mode=ro&password=***"),
    ("Driver={ODBC Driver 18};Server=tcp:db,1433;UID=etl;PWD={hunter2-Secret;x};Encrypt=yes",
     "Driver={ODBC Driver 18};Server=tcp:db,1433;UID=etl;PWD=***;Encrypt=yes"),
    ("DRIVER=x;SERVER=db;Pwd=hunter2-Secret;DATABASE=pos", "DRIVER=x;SERVER=db;Pwd=***;DATABASE=pos"),
    ("snowflake://acct/pos/public?warehouse=wh&token=hunter2-Secret&role=r",
     "snowflake://acct/pos/public?warehouse=wh&token=***&role=r"),
    ("https://bob:hunter2-Secret@api.example/v1/sales?page=2", "https://***@api.example/v1/sales?page=2"),
    ("https://hunter2-Secret@api.example/v1", "https://***@api.example/v1"),
    ("GET https://api.example/v1?date=2024-01-02&access_token=hunter2-Secret&page=2 failed",
     "GET https://api.example/v1?date=2024-01-02&access_token=***&page=2 failed"),
    ("http://h/x?API_KEY=hunter2-Secret;sig=hunter2-Secret", "http://h/x?API_KEY=***;sig=***"),
    ("AccountName=a;AccountKey=hunter2-Secret==;EndpointSuffix=core",
     "AccountName=a;AccountKey=***;EndpointSuffix=core"),
    ("duckdb:///pos.duckdb?motherduck_token=hunter2-Secret", "duckdb:///pos.duckdb?motherduck_token=***"),
    ("cannot connect to 'mysql://u:hunter2-Secret@h/d': refused",
     "cannot connect to 'mysql://***@h/d': refused"),
])
def test_redact_removes_credentials_in_any_position(text, kept):
    assert redact(text) == kept


def test_redact_leaves_plain_text_and_paths_alone():
    for text in ("/landing/nwg_us/nwg_pos_20261102.csv:3: unbalanced quote", "rule qty_not_negative failed",
                 "http://127.0.0.1:8765/v1/salg"):
        assert redact(text) == text


def test_redact_masks_secret_environment_values(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("FJD_NO_API_TOKEN", "tok-123456789")
    assert redact("sent tok-123456789 to the API") == "sent *** to the API"


def test_error_messages_are_redacted():
    error = ValueError(f"postgresql://u:{SECRET}@h/d: refused\ntraceback")
    assert one_line(error) == "postgresql://***@h/d: refused"


@pytest.fixture
def crl_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> DataHome:
    home = DataHome(tmp_path / "home").ensure()
    monkeypatch.setenv("SHELFGUARD_HOME", str(home.root))
    generate(home, days=2, stores=1, products=2, retailers=["crl_au"])
    return home


def test_a_database_url_secret_is_never_stored(crl_home: DataHome, monkeypatch: pytest.MonkeyPatch):
    database = crl_home.sources / "crl_au.sqlite"
    monkeypatch.setenv("CRL_AU_DATABASE_URL", f"sqlite:///{database}?password={SECRET}&mode=ro")
    delivery = database_delivery(CRL, "sales", None, datetime.now(UTC))
    assert delivery.source == f"sqlite:///{database}?password=***&mode=ro#sales"
    ingest(crl_home, CRL, delivery)
    ledger = read_ledger(crl_home.warehouse)
    bronze = pl.read_delta(str(crl_home.table("bronze", "crl_au__sales")))
    assert ledger["source"].to_list() == [delivery.source]
    assert bronze["_source_file"].unique().to_list() == [delivery.source]


@pytest.mark.parametrize("url", [
    f"duckdb:///{{folder}}/pos.duckdb?motherduck_token={SECRET}",
    f"sqlite://etl:{SECRET}@/nowhere.db",
    f"sqlite:////nowhere/at/all/pos.db?password={SECRET}",
])
def test_a_database_url_secret_is_never_in_an_error(url: str, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("CRL_AU_DATABASE_URL", url.replace("{folder}", str(tmp_path)))
    with pytest.raises(ChannelError) as caught:
        database_delivery(CRL, "sales", None, datetime.now(UTC))
    assert SECRET not in str(caught.value) and "***" in str(caught.value)


def test_an_api_url_with_user_info_is_never_echoed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    home = DataHome(tmp_path / "home").ensure()
    generate(home, days=2, stores=1, products=2, retailers=["fjd_no"])
    options = server_options(FJD)
    with demo_sources(home, retailers=["fjd_no"]) as exported:
        base = exported[options["locationEnv"]]
        monkeypatch.setenv(options["locationEnv"], base.replace("http://", f"http://bob:{SECRET}@"))
        with pytest.raises(ChannelError) as caught:
            api_delivery(FJD, "salg", None, datetime.now(UTC), timeout=1, retries=1, backoff=0.01)
        monkeypatch.setenv(options["locationEnv"], f"{base}/missing?api_key={SECRET}")
        with pytest.raises(ChannelError) as not_found:
            api_delivery(FJD, "salg", None, datetime.now(UTC), timeout=1, retries=0)
    for error in (caught.value, not_found.value):
        assert SECRET not in str(error) and "***" in str(error), error

