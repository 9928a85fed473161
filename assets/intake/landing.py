"""Landing files: what a retailer drops in its landing folder, each file one delivery, refused at
the boundary when it is a link, not a regular file or outside the folder (ADR 0016)."""

from __future__ import annotations

import hashlib
import os
import re
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

import polars as pl

from assets.intake import LANDING
from assets.intake.base import Delivery, IntakeRequest
from assets.plan import object_option, retailer_code
from checks.contract import Contract
from checks.errors import one_line
from shelfguard.settings import DataHome


class LandingChannel:
    """The files named by the run, or every landed file of the object the ledger has not recorded."""

    polled: ClassVar[bool] = False

    def deliveries(self, request: IntakeRequest) -> list[Delivery]:
        contract, name = request.contract, request.object_name
        paths = list(request.files) or new_landing_files(request.home, contract, name, request.ledger)
        landing = request.home.landing_for(retailer_code(contract))
        return [landing_delivery(contract, name, path, landing) for path in paths]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_period(contract: Contract, object_name: str, path: Path) -> str:
    """The delivery period of a landing file from the object's `periodPattern` (else the file stem)."""
    pattern = object_option(contract, object_name, "periodPattern")
    if pattern:
        match = re.fullmatch(pattern, path.name)
        if match and match.groupdict().get("period"):
            return match.group("period")
    return path.stem


def landing_delivery(
    contract: Contract, object_name: str, path: Path, landing: Path | None = None
) -> Delivery:
    """A landing file as a delivery; refused (see `Delivery.refused`) when it is a symbolic link, not
    a regular file, not inside `landing` (the retailer's landing folder, when given) or unreadable."""
    info = path.lstat()
    refused = landing_refusal(path, info, landing)
    digest = ""
    if refused is None:
        try:
            digest = file_sha256(path)
        except OSError as exc:
            refused = f"cannot read the file: {one_line(exc)}"
    if refused is not None:  # an id from what the landing zone shows, never from the target's bytes
        seen = f"refused\0{landing_source(path)}\0{info.st_size}\0{info.st_mtime_ns}"
        digest = hashlib.sha256(seen.encode()).hexdigest()
    return Delivery(
        retailer_code=retailer_code(contract),
        object_name=object_name,
        channel=LANDING,
        source=landing_source(path),
        content_sha256=digest,
        period=file_period(contract, object_name, path),
        delivered_at=datetime.fromtimestamp(info.st_mtime, UTC),
        path=path,
        source_size=info.st_size,
        source_mtime_ns=info.st_mtime_ns,
        refused=refused,
    )


def landing_source(path: Path) -> str:
    """A landing file's absolute path as the ledger records it: the folder resolved, the name as
    delivered (a symlink is recorded as itself, never as its target)."""
    return str(path.absolute().parent.resolve() / path.name)


def landing_refusal(path: Path, info: os.stat_result, landing: Path | None) -> str | None:
    """Why a landing file is refused at the boundary, or None. Nothing of a link's target (its path
    or content) is part of the reason."""
    if stat.S_ISLNK(info.st_mode):
        dangling = "a dangling " if not path.exists() else "a "
        return f"refused: {dangling}symbolic link; the landing zone takes regular files only, never links"
    if not stat.S_ISREG(info.st_mode):
        return "refused: not a regular file (a pipe, socket or device); the landing zone takes files only"
    if landing is not None and not Path(landing_source(path)).is_relative_to(landing.resolve()):
        return "refused: the file is outside the retailer's landing folder"
    return None


def landing_files(home: DataHome, contract: Contract, object_name: str) -> list[Path]:
    """Files of an object in the retailer's landing folder, oldest first (delivery order).

    Everything the pattern matches is listed, symlinks (dangling ones too) and other non-files
    included, so that each gets a ledger record when `landing_delivery` refuses it."""
    pattern = object_option(contract, object_name, "filePattern")
    folder = home.landing_for(retailer_code(contract))
    if not pattern or not folder.is_dir():
        return []
    files = [p for p in folder.glob(pattern) if p.is_symlink() or not p.is_dir()]
    return sorted(files, key=lambda p: (p.lstat().st_mtime_ns, p.name))


def new_landing_files(
    home: DataHome, contract: Contract, object_name: str, ledger: pl.DataFrame
) -> list[Path]:
    """Landing files not taken in yet, judged by path, size and mtime only: nothing is re-read."""
    taken = {
        (s, size, mtime)
        for s, size, mtime in ledger.filter(
            (pl.col("retailer_code") == retailer_code(contract)) & (pl.col("object") == object_name)
        )
        .select("source", "source_size", "source_mtime_ns")
        .iter_rows()
    }
    fresh = []
    for path in landing_files(home, contract, object_name):
        info = path.lstat()
        if (landing_source(path), info.st_size, info.st_mtime_ns) not in taken:
            fresh.append(path)
    return fresh
