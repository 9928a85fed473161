"""Contracts and bronze-shaped frames for the silver and gold tests."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from checks.contract import Contract, load_contract
from shelfguard.settings import DataHome

CONTRACTS = Path(__file__).resolve().parents[2] / "contracts"
SECURE_GROUP_KEYS = {
    "nwg_us": "SG_NWG_US",
    "alp_de": "SG_ALP_DE",
    "lks_ca": "SG_LKS_CA",
    "fjd_no": "SG_FJD_NO",
    "kst_uk": "SG_KST_UK",
    "skr_jp": "SG_SKR_JP",
    "pmp_ar": "SG_PMP_AR",
    "crl_au": "SG_CRL_AU",
    "mpn_fr": "SG_MPN_FR",
}


def retailer(code: str) -> Contract:
    return load_contract(CONTRACTS / "retailers" / code / f"{code}.odcs.yaml")


def bronze(
    code: str,
    rows: list[dict[str, str | None]],
    *,
    delivery: str = "d1",
    ingested_at: datetime = datetime(2026, 1, 10, 6, tzinfo=UTC),
) -> pl.DataFrame:
    """Rows as bronze keeps them: every column text, plus the stamp columns."""
    frame = pl.DataFrame(rows, schema={k: pl.String for k in rows[0]})
    return frame.with_columns(
        pl.lit(f"{code}:{delivery}").alias("_delivery_id"),
        pl.int_range(pl.len(), dtype=pl.Int64).alias("_row_number"),
        pl.lit(f"/landing/{code}/{delivery}").alias("_source_file"),
        pl.lit(ingested_at).cast(pl.Datetime("us", "UTC")).alias("_ingested_at"),
        pl.lit(code).alias("_retailer_code"),
        pl.lit(SECURE_GROUP_KEYS[code]).alias("_secure_group_key"),
        pl.lit("DP-0000").alias("_data_provider_code"),
    )


@pytest.fixture(scope="session")
def canonical() -> Contract:
    return load_contract(CONTRACTS / "canonical" / "pos_canonical.odcs.yaml")


@pytest.fixture
def home(shelfguard_home: Path) -> DataHome:
    return DataHome(shelfguard_home).ensure()


@pytest.fixture(scope="session")
def master() -> Contract:
    return load_contract(CONTRACTS / "canonical" / "corporate_master.odcs.yaml")


NWG_HEADER = (
    "business_date,store_nbr,store_gln,store_name,city,state,store_type,upc,item_nbr,item_desc,"
    "brand_name,dept,qty_sold,sales_cents,on_hand_qty,last_modified"
)


def nwg_line(
    day: str = "01/05/2026",
    store: str = "101",
    item: str = "5001",
    qty: str = "3",
    cents: str = "897",
    desc: str = "Cola 1l",
    upc: str = "012345678905",
    modified: str = "2026-01-05 23:00:00",
    gln: str = "0614141000012",
) -> str:
    return (
        f"{day},{store},{gln},Store {store},Springfield,IL,SUPERCENTER,{upc},{item},{desc},Fizz,"
        f"beverages,{qty},{cents},12,{modified}"
    )


def deliver(
    home,
    contract: Contract,
    object_name: str,
    name: str,
    lines: list[str],
    *,
    header: str,
    at: datetime,
    encoding: str = "utf-8",
):
    """Write a landing file and take it into bronze (the real bronze gate and ledger)."""
    from assets.bronze.ingest import ingest
    from assets.intake.landing import landing_delivery

    path = land(home, str(contract.custom["retailerCode"]), name, [header, *lines], encoding=encoding)
    return ingest(home, contract, landing_delivery(contract, object_name, path), now=at)


def land(home, code: str, name: str, lines: list[str], *, encoding: str = "utf-8") -> Path:
    """A file as the retailer drops it into its landing folder (header first)."""
    folder = home.landing_for(code)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


def deliver_nwg(home, name: str, lines: list[str], day: int, contract: Contract | None = None):
    return deliver(
        home,
        contract or retailer("nwg_us"),
        "pos_daily",
        name,
        lines,
        header=NWG_HEADER,
        at=datetime(2026, 1, day, 6, tzinfo=UTC),
    )


ALP_HEADERS = {
    "products": "EAN;Bezeichnung;Marke;Warengruppe;Änderungsdatum",
    "stores": "Filiale;GLN;Filialname;Ort;Bundesland;Vertriebsschiene;Änderungsdatum",
    "sales": "Datum;Filiale;EAN;Menge;Umsatz;Bestand;Änderungsdatum",
}
ALP_FILES = {"products": "artikel", "stores": "filialen", "sales": "abverkauf"}


def deliver_alp(home, object_name: str, period: str, lines: list[str], day: int):
    return deliver(
        home,
        retailer("alp_de"),
        object_name,
        f"{ALP_FILES[object_name]}_{period}.csv",
        lines,
        header=ALP_HEADERS[object_name],
        at=datetime(2026, 1, day, 6, tzinfo=UTC),
        encoding="latin-1",
    )
