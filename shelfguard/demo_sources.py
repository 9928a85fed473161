"""Make the demo's pull sources reachable: the retailer databases and the retailer APIs.

In production these are the retailers' own systems, configured by environment variables named in
the contracts (`urlEnv`, `tokenEnv`, `locationEnv`). For the demo and tests, the databases are the
SQLite files `shelfguard demo-data` wrote and the APIs are served on 127.0.0.1 for as long as the
context lasts; the variables point at them for that long and are restored afterwards. An API token
that is already set is used as the demo server's token.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterator
from contextlib import ExitStack, contextmanager

from assets.intake import channel_of
from assets.plan import load_retailer_contracts, retailer_code, server_options
from shelfguard.retailer_api import serve_retailer_api
from shelfguard.settings import CONTRACTS_DIR, DataHome

DEMO_API_TOKEN = "demo-token"


@contextmanager
def demo_sources(
    home: DataHome, *, fail_next: int = 0, retailers: Collection[str] | None = None
) -> Iterator[dict[str, str]]:
    """Set the pull channels' environment for the demo data in `home`; yields what was set.

    `retailers`: only these retailers' sources (default all); serving an API loads all its pages,
    which a run for other retailers would wait for in vain."""
    exported: dict[str, str] = {}
    with ExitStack() as stack:
        for contract in load_retailer_contracts(CONTRACTS_DIR):
            code = retailer_code(contract)
            if retailers is not None and code not in retailers:
                continue
            options = server_options(contract)
            channel = channel_of(contract)
            database = home.sources / f"{code}.sqlite"
            if channel == "database" and database.exists():
                exported[str(options["urlEnv"])] = f"sqlite:///{database}"
            if channel == "api" and (home.sources / f"{code}_api" / "api.json").exists():
                token = os.environ.get(str(options["tokenEnv"])) or DEMO_API_TOKEN
                base_url = stack.enter_context(serve_retailer_api(home, token, fail_next, retailer=code))
                exported[str(options["tokenEnv"])] = token
                if options.get("locationEnv"):
                    exported[str(options["locationEnv"])] = base_url
        previous = {name: os.environ.get(name) for name in exported}
        os.environ.update(exported)
        try:
            yield exported
        finally:
            for name, value in previous.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
