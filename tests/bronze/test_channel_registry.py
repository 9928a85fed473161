"""The intake channels are one registry: each contract's server type names a registered channel, a
channel's module loads only when asked for, and the landing channel hands bronze what a run asks for."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from assets.bronze.ledger import read_ledger
from assets.intake import CHANNELS, LANDING, channel_of, get_channel
from assets.intake.base import IntakeRequest
from assets.plan import load_retailer_contracts
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
