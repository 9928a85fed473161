"""Walker of servers: which server deliveries come through, and how each server's files are read."""

from __future__ import annotations

import codecs
from typing import Any

from checks.contract import DELIVERY_SERVER, Contract, ContractError, custom_properties
from checks.diff.access import walk_server_roles
from checks.diff.recorder import Recorder, keys

FORMAT_HINTS = {"delimiter": ",", "encoding": "utf-8", "decimalSeparator": ".", "header": True, "sheet": None}
"""Server format hints and their defaults (docs/onboarding.md): a change misreads current files."""
CHANNEL_FIELDS = ("type", "format", "path", "location")
ENV_PROPERTIES = ("urlEnv", "tokenEnv", "locationEnv")
SERVER_PROPERTIES = {"pageSize": "delivery_changed:page_size"}


def walk_servers(rec: Recorder, base: Contract, head: Contract) -> None:
    """One server on each side is the same server renamed or not; otherwise servers pair by name,
    and a change of the server deliveries come through (`deliveryServer`, else the first) is one."""
    before, after = base.servers, head.servers
    if len(before) == 1 and len(after) == 1:
        _server(rec, before[0], after[0])
        return
    delivery_before, delivery_after = _delivery_server(base), _delivery_server(head)
    if delivery_before and delivery_after and delivery_before != delivery_after:
        rec.saw(
            "delivery_changed:delivery_server",
            field=f"customProperties.{DELIVERY_SERVER}",
            before=delivery_before,
            after=delivery_after,
            old=delivery_before,
            new=delivery_after,
        )
    by_name_before = {s.get("server"): s for s in before}
    by_name_after = {s.get("server"): s for s in after}
    for name in keys(by_name_before, by_name_after):
        old, new = by_name_before.get(name), by_name_after.get(name)
        if old is None:
            rec.saw(
                "server_added", field=f"servers[{name}]", after=_server_view(new), delivery=delivery_after
            )
        elif new is None:
            rec.saw("server_removed", field=f"servers[{name}]", before=_server_view(old), name=name)
        else:
            _server(rec, old, new)


def _delivery_server(contract: Contract) -> str | None:
    """The name of the server the pipeline takes deliveries through (None without servers)."""
    try:
        server = contract.server()
    except ContractError:  # lint reports a deliveryServer that names no server
        server = contract.servers[0] if contract.servers else {}
    return str(server["server"]) if server else None


def _server(rec: Recorder, old: dict[str, Any], new: dict[str, Any]) -> None:
    name = new.get("server")
    prefix = f"servers[{name}]."
    if old.get("server") != name:
        rec.saw(
            "documentation_changed:server_name", field=prefix + "server", before=old.get("server"), after=name
        )
    for key in CHANNEL_FIELDS:
        rec.compare("delivery_changed:server", old, new, key, field=prefix + key, key=key)
    custom_old = custom_properties(old.get("customProperties"))
    custom_new = custom_properties(new.get("customProperties"))
    for key, default in FORMAT_HINTS.items():
        value_old, value_new = custom_old.get(key, default), custom_new.get(key, default)
        if _hint(key, value_old) != _hint(key, value_new):
            rec.saw(
                "format_changed",
                field=f"{prefix}customProperties.{key}",
                before=value_old,
                after=value_new,
                key=key,
            )
    for key in ENV_PROPERTIES:
        if custom_old.get(key) != custom_new.get(key):
            rec.saw(
                "deployment_changed",
                field=f"{prefix}customProperties.{key}",
                before=custom_old.get(key),
                after=custom_new.get(key),
                old=custom_old.get(key) or "nothing",
                new=custom_new.get(key) or "nothing",
            )
    rec.custom(
        custom_old, custom_new, SERVER_PROPERTIES, handled=(*FORMAT_HINTS, *ENV_PROPERTIES), prefix=prefix
    )
    walk_server_roles(rec, prefix, old, new)
    rec.rest(old, new, (*CHANNEL_FIELDS, "customProperties", "roles", "server"), prefix=prefix)


def _hint(key: str, value: Any) -> Any:
    """Format hints as the reader sees them: encodings by their codec (latin-1 = ISO-8859-1)."""
    if key == "encoding":
        try:
            return codecs.lookup(str(value)).name
        except LookupError:
            return str(value)
    return value


def _server_view(server: dict[str, Any] | None) -> dict[str, Any] | None:
    if server is None:
        return None
    return {k: server.get(k) for k in ("server", *CHANNEL_FIELDS) if k in server}
