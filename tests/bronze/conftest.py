"""Small nwg_us deliveries written by the tests, the retailer contracts, and one bronze run."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from assets.definitions.bronze import bronze_run_config
from checks.contract import Contract, load_contract

CONTRACTS = Path(__file__).resolve().parents[2] / "contracts"
HEADER = (
    "business_date,store_nbr,store_gln,store_name,city,state,store_type,upc,item_nbr,item_desc,"
    "brand_name,dept,qty_sold,sales_cents,on_hand_qty,last_modified"
)


def nwg_row(
    day: str = "11/02/2026",
    store: str = "101",
    upc: str = "012345678905",
    item: str = "5001",
    qty: str = "3",
    cents: str = "897",
    gln: str = "0614141000012",
) -> str:
    return (
        f"{day},{store},{gln},Store {store},Springfield,IL,SUPERCENTER,{upc},{item},Cola 1l,Fizz,"
        f"beverages,{qty},{cents},12,2026-11-02 23:00:00"
    )


def write_nwg(folder: Path, name: str, rows: list[str], header: str = HEADER) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def nwg_contract() -> Contract:
    return load_contract(CONTRACTS / "retailers" / "nwg_us" / "nwg_us.odcs.yaml")


def materialize_bronze(
    defs: dg.Definitions, instance: dg.DagsterInstance, key: dg.AssetKey, **config
) -> dg.ExecuteInProcessResult:
    """One run of a generated bronze asset with its `BronzeConfig` (files, replay, engine)."""
    job = defs.resolve_implicit_global_asset_job_def()
    return job.execute_in_process(
        run_config=bronze_run_config(key, **config),
        instance=instance,
        asset_selection=[key],
        raise_on_error=False,
    )
