"""The intake channels are one registry: each contract's server type names a registered channel, a
channel's module loads only when asked for, the landing channel hands bronze what a run asks for,
and a new channel is one class and one registry entry."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from assets import intake
from assets.bronze.ledger import read_ledger
from assets.definitions.bronze import BronzeConfig, pending_deliveries
from assets.intake import CHANNELS, LANDING, ChannelEntry, channel_of, get_channel
from assets.intake.base import Delivery, IntakeRequest, PullChannel, pulled_delivery
from assets.plan import load_retailer_contracts
from checks.contract import Contract
from shelfguard.settings import DataHome
from tests.bronze.conftest import nwg_row, write_nwg
from tests.conftest import CONTRACTS_DIR, REPO_ROOT


def test_every_server_type_names_a_registered_channel():
    contracts = load_retailer_contracts(CONTRACTS_DIR)
    assert {channel_of(c) for c in contracts} == set(CHANNELS)
    for contract in contracts:
        assert get_channel(channel_of(contract)).polled == (channel_of(contract) != LANDING)


def test_a_channel_module_is_imported_only_when_asked_for():
    probe = ("import sys, assets.intake as i; print([n for n, e in i.CHANNELS.items() "
             "if e.target.split(':')[0] in sys.modules])")
    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=300, check=True)
    assert done.stdout.strip() == "[]"


def test_the_landing_channel_hands_every_new_file_or_the_named_ones(shelfguard_home: Path, nwg_contract):
    home = DataHome(shelfguard_home).ensure()
    folder = home.landing_for("nwg_us")
    paths = [write_nwg(folder, f"nwg_pos_2026110{d}.csv", [nwg_row(day=f"11/0{d}/2026")]) for d in (2, 3)]
    asked = dict(home=home, contract=nwg_contract, object_name="pos_daily",
                 ledger=read_ledger(home.warehouse), now=datetime.now(UTC))
    channel = get_channel(LANDING)
    every = channel.deliveries(IntakeRequest(**asked))
    assert sorted(d.path.name for d in every) == [p.name for p in paths]
    assert all(d.channel == LANDING and d.refused is None for d in every)
    named = channel.deliveries(IntakeRequest(**asked, files=[paths[1]]))
    assert [d.path for d in named] == [paths[1]]


class FixedChannel(PullChannel):
    """A channel added by one class and one registry entry (here: a pull that always returns one row)."""

    @staticmethod
    def pull(contract: Contract, object_name: str, watermark: str | None, now: datetime) -> Delivery | None:
        frame = pl.DataFrame({"business_date": ["11/02/2026"], "store_nbr": ["101"]})
        return pulled_delivery(contract, object_name, "fixed", "fixed://rows", frame, watermark, "w1", now)


def test_a_channel_is_one_class_and_one_registration(shelfguard_home: Path, nwg_contract, monkeypatch):
    entry = ChannelEntry(f"{__name__}:FixedChannel", ("local",))
    monkeypatch.setattr(intake, "CHANNELS", {"fixed": entry, **intake.CHANNELS})
    assert channel_of(nwg_contract) == "fixed"
    home = DataHome(shelfguard_home).ensure()
    ledger = read_ledger(home.warehouse)
    [delivery] = pending_deliveries(home, nwg_contract, "pos_daily", BronzeConfig(), ledger)
    assert (delivery.channel, delivery.source, delivery.period) == ("fixed", "fixed://rows", "start..w1")
    assert delivery.delivery_id.startswith("nwg_us:pos_daily:")
