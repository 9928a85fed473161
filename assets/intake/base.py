"""What every intake channel shares: the delivery it hands bronze, its error, and the protocol a
channel implements (registered in `assets.intake.CHANNELS`)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import ClassVar, Protocol

import polars as pl

from assets.plan import object_option, retailer_code, server_options
from checks.contract import Contract
from shelfguard.settings import DataHome


@dataclass
class Delivery:
    """One tracked unit of data: a landing file, or one pull from a database or an API."""

    retailer_code: str
    object_name: str
    channel: str
    source: str
    content_sha256: str
    period: str
    delivered_at: datetime
    path: Path | None = None
    frame: pl.DataFrame | None = None
    source_size: int | None = None
    source_mtime_ns: int | None = None
    watermark: str | None = None
    refused: str | None = None
    """Why the landing zone refused the file (a symlink, outside the landing folder, not a regular
    file, unreadable): it is recorded as unreadable and nothing of it is read or copied."""

    @property
    def delivery_id(self) -> str:
        return f"{self.retailer_code}:{self.object_name}:{self.content_sha256[:16]}"


class ChannelError(Exception):
    """A pull that could not be made (configuration missing, source down after retries)."""


@dataclass(frozen=True)
class IntakeRequest:
    """What a bronze run asks a channel for: the deliveries of one retailer object not taken in yet."""

    home: DataHome
    contract: Contract
    object_name: str
    ledger: pl.DataFrame
    """The delivery ledger as read under the object's lock: what was taken in already."""
    now: datetime
    watermark: str | None = None
    """Where the last pull of the object ended (pull channels start after it)."""
    files: Sequence[Path] = field(default_factory=tuple)
    """Landing files named by the run; empty means every new one."""


class Channel(Protocol):
    """One way deliveries arrive. `polled`: the retailer's sensor polls it on a schedule (a pull);
    otherwise the sensor watches the landing folder and starts one run per waiting file."""

    polled: ClassVar[bool]

    def deliveries(self, request: IntakeRequest) -> list[Delivery]: ...


class PullChannel:
    """A channel the retailer's sensor polls: one pull from the object's watermark is at most one
    delivery. A subclass gives `pull(contract, object_name, watermark, now) -> Delivery | None`."""

    polled: ClassVar[bool] = True
    pull: ClassVar[Callable[[Contract, str, str | None, datetime], Delivery | None]]

    def deliveries(self, request: IntakeRequest) -> list[Delivery]:
        delivery = type(self).pull(request.contract, request.object_name, request.watermark, request.now)
        return [delivery] if delivery else []


def pulled_delivery(contract: Contract, object_name: str, channel: str, source: str, frame: pl.DataFrame,
                    watermark: str | None, new_watermark: str, now: datetime) -> Delivery:
    """One pull as a delivery: its id from the rows' content, its period from watermark to watermark."""
    return Delivery(
        retailer_code=retailer_code(contract),
        object_name=object_name,
        channel=channel,
        source=source,
        content_sha256=frame_sha256(frame),
        period=f"{watermark or 'start'}..{new_watermark}",
        delivered_at=now,
        frame=frame,
        watermark=new_watermark,
    )


def frame_sha256(frame: pl.DataFrame) -> str:
    """Content hash of a pulled batch: its rows in a canonical CSV form."""
    return hashlib.sha256(frame.write_csv().encode("utf-8")).hexdigest()


def pull_watermark(contract: Contract, object_name: str, watermark: str | None) -> str | None:
    """Where a pull starts: after the last watermark, or from the start for a `refresh: full`
    object, whose every delivery is the retailer's whole state (unchanged content is then one
    delivery: bronze takes the same content in once)."""
    return None if object_option(contract, object_name, "refresh") == "full" else watermark


def environment_setting(contract: Contract, option: str) -> str:
    """The value of the environment variable the server option `option` names (a URL, a token)."""
    name = server_options(contract).get(option)
    if not name:
        raise ChannelError(f"{contract.path}: server customProperty {option!r} is not set")
    value = os.environ.get(str(name))
    if not value:
        raise ChannelError(f"environment variable {name} is not set (contract {contract.path}, {option})")
    return value
