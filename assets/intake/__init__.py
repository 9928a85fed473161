"""Intake channels: how a delivery arrives (landing files, a database, an HTTP API), Dagster-free.

One registry, like the gate engines': a contract's server type names its channel, and the channel's
module is imported only when asked for (`get_channel`). Adding a channel is one module with a class
that implements `assets.intake.base.Channel`, and one entry in `CHANNELS`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from assets.intake.base import Channel
from checks.contract import Contract


@dataclass(frozen=True)
class ChannelEntry:
    target: str
    """`module:Class` of the channel, imported on first use."""
    server_types: tuple[str, ...]
    """The ODCS server types it reads; a type no entry names lands files (`LANDING`)."""


LANDING = "landing"
CHANNELS: dict[str, ChannelEntry] = {
    LANDING: ChannelEntry("assets.intake.landing:LandingChannel", ("local",)),
    "database": ChannelEntry("assets.intake.database:DatabaseChannel", ("custom",)),
    "api": ChannelEntry("assets.intake.api:ApiChannel", ("api",)),
}


def channel_of(contract: Contract) -> str:
    """The registered name of the channel the contract's server delivers through."""
    server_type = contract.server().get("type") or "local"
    return next((name for name, entry in CHANNELS.items() if server_type in entry.server_types), LANDING)


def get_channel(name: str) -> Channel:
    """A new instance of the named channel, its module imported on demand."""
    module_name, class_name = CHANNELS[name].target.split(":")
    return getattr(importlib.import_module(module_name), class_name)()
