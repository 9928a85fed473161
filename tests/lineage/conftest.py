"""Fixtures of the lineage tests: a clean OpenLineage environment and a small contracts folder."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
RETAILERS = ("nwg_us", "alp_de")


@pytest.fixture(autouse=True)
def openlineage_env(monkeypatch: pytest.MonkeyPatch):
    """No OpenLineage settings from the developer's shell, and none left behind: the client copies
    OPENLINEAGE_URL into OPENLINEAGE__TRANSPORT__… variables of the process, which we remove."""
    for name in list(os.environ):
        if name.startswith("OPENLINEAGE"):
            monkeypatch.delenv(name)
    yield
    for name in list(os.environ):
        if name.startswith("OPENLINEAGE__"):
            del os.environ[name]


def copy_contracts(target: Path) -> Path:
    """The canonical contracts and two retailers (a one-big-table CSV and a dim/fact CSV retailer)."""
    shutil.copytree(REPO_ROOT / "contracts" / "canonical", target / "canonical")
    for code in RETAILERS:
        shutil.copytree(REPO_ROOT / "contracts" / "retailers" / code, target / "retailers" / code)
    return target


@pytest.fixture
def contracts_dir(tmp_path: Path) -> Path:
    return copy_contracts(tmp_path / "contracts")
