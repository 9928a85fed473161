"""One instance per engine for the whole session: creating Great Expectations' context is slow."""

from __future__ import annotations

import pytest

from checks.engines import get_engine
from checks.engines.base import Engine


@pytest.fixture(scope="session", params=["soda", "gx"])
def engine(request: pytest.FixtureRequest) -> Engine:
    """The Soda or the GX engine (each test runs on both)."""
    return get_engine(request.param)


@pytest.fixture(scope="session")
def soda() -> Engine:
    return get_engine("soda")


@pytest.fixture(scope="session")
def gx() -> Engine:
    return get_engine("gx")
