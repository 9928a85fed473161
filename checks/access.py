"""Who may read which retailer's gold rows, and how: the access policy the contracts' `roles` state.

One reading of the contracts for every consumer (lint, the local reader connections, the Unity
Catalog SQL): a `Grant` says a group may read the rows of one secure group key, as their *owner*
(everything) or as *competition* (antitrust-masked measures hidden while younger than the canonical
contract's `maskingHorizonDays`). The fields are documented in docs/access.md.

- A retailer contract's `roles` entry `{role: G, access: read}` grants G that retailer's key as
  owner (customProperty `readsAs: competition` makes it a competition grant): a retailer's grants
  live in its own folder.
- A canonical contract role grants by list (`secureGroupKeys`) or by rule (`grantRule:
  activeRetailers`: the key of every active retailer), read as its `readsAs` says (required there).
- A retailer with `grantedToNobody: true` is granted to no group (rules skip it; a grant is an error).
- An owner grant wins over a competition grant of the same group and key.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from checks.contract import Contract, entry_custom_properties, properties_of

OWNER = "owner"
COMPETITION = "competition"
READS_AS = (OWNER, COMPETITION)
ACTIVE_RETAILERS = "activeRetailers"
GRANT_RULES = (ACTIVE_RETAILERS,)
GRANTED_TO_NOBODY = "grantedToNobody"
DEFAULT_HORIZON_DAYS = 90


@dataclass(frozen=True)
class Grant:
    """A group may read rows of one secure group key; `masked`: as competition data."""

    group: str
    secure_group_key: str
    masked: bool


@dataclass(frozen=True)
class RoleGrant:
    """What one `roles` entry grants: keys by list and/or by rule, read as owner or competition."""

    group: str
    reads_as: str
    keys: tuple[str, ...] = ()
    rule: str | None = None


def read_roles(document: dict[str, Any]) -> Iterator[tuple[int, dict[str, Any]]]:
    roles = document.get("roles")
    for index, role in enumerate(roles if isinstance(roles, list) else []):
        readable = isinstance(role, dict) and role.get("access", "read") == "read"
        if readable and isinstance(role.get("role"), str):
            yield index, role


def canonical_role_grants(canonical: Contract) -> list[RoleGrant]:
    """The canonical contract's read roles as grants (a role without keys or rule grants nothing)."""
    grants = []
    for _, role in read_roles(canonical.document):
        custom = entry_custom_properties(role)
        keys = custom.get("secureGroupKeys")
        rule = custom.get("grantRule")
        grants.append(
            RoleGrant(
                group=role["role"],
                reads_as=str(custom.get("readsAs", COMPETITION)),
                keys=tuple(str(k) for k in keys) if isinstance(keys, list) else (),
                rule=rule if rule in GRANT_RULES else None,
            )
        )
    return grants


def retailer_role_grants(retailer: Contract) -> list[RoleGrant]:
    """The retailer contract's read roles: its own key, as owner unless `readsAs: competition`."""
    key = secure_group_key(retailer)
    if key is None or granted_to_nobody(retailer):
        return []
    return [
        RoleGrant(group=role["role"], reads_as=str(entry_custom_properties(role).get("readsAs", OWNER)),
                  keys=(key,))
        for _, role in read_roles(retailer.document)
    ]


def secure_group_key(retailer: Contract) -> str | None:
    key = retailer.custom.get("secureGroupKey")
    return key if isinstance(key, str) and key else None


def granted_to_nobody(retailer: Contract) -> bool:
    return retailer.custom.get(GRANTED_TO_NOBODY) is True


def access_grants(canonical: Contract, retailers: Sequence[Contract]) -> list[Grant]:
    """Every (group, key) the contracts allow over `retailers`, owner grants winning over competition.

    Keys of retailers not among `retailers`, or granted to nobody, are never granted (fail closed).
    """
    known = {secure_group_key(r): r for r in retailers if secure_group_key(r) is not None}
    grantable = {key for key, r in known.items() if not granted_to_nobody(r)}
    active = {key for key in grantable if known[key].status == "active"}
    masked: dict[tuple[str, str], bool] = {}
    role_grants = [g for r in retailers for g in retailer_role_grants(r)] + canonical_role_grants(canonical)
    for grant in role_grants:
        keys = set(grant.keys) | (active if grant.rule == ACTIVE_RETAILERS else set())
        for key in keys & grantable:
            pair = (grant.group, key)
            masked[pair] = masked.get(pair, True) and grant.reads_as != OWNER
    return [Grant(group, key, flag) for (group, key), flag in sorted(masked.items())]


def groups(canonical: Contract, retailers: Sequence[Contract]) -> list[str]:
    """Every group a read role names, granted anything or not (a group may see nothing)."""
    named = {role["role"] for c in (canonical, *retailers) for _, role in read_roles(c.document)}
    return sorted(named)


def masked_measures(canonical: Contract, canonical_object: str) -> list[str]:
    """The canonical object's measures marked `antitrustMasked: true`."""
    return [
        p["name"]
        for p in properties_of(canonical.object(canonical_object))
        if entry_custom_properties(p).get("antitrustMasked") is True
    ]


def masking_horizon_days(canonical: Contract) -> int:
    return int(canonical.custom.get("maskingHorizonDays", DEFAULT_HORIZON_DAYS))


def role_errors(document: dict[str, Any], *, canonical: bool) -> Iterator[tuple[str, tuple[Any, ...]]]:
    """(message, JSON path) for every role customProperty the policy cannot read as written."""
    roles = document.get("roles")
    for index, role in enumerate(roles if isinstance(roles, list) else []):
        if not isinstance(role, dict):
            continue
        here: tuple[Any, ...] = ("roles", index)
        custom = entry_custom_properties(role)
        at = {
            item.get("property"): (*here, "customProperties", n, "value")
            for n, item in enumerate(role.get("customProperties") or [])
            if isinstance(item, dict)
        }
        name = role.get("role")
        if "maskCompetition" in custom:
            yield (f"role {name}: maskCompetition is not read; say readsAs: competition (or owner)",
                   at["maskCompetition"])
        if "readsAs" in custom and custom["readsAs"] not in READS_AS:
            yield (f"role {name}: unknown readsAs {custom['readsAs']!r}; expected owner or competition",
                   at["readsAs"])
        if not canonical:
            for field in ("secureGroupKeys", "grantRule"):
                if field in custom:
                    yield (f"role {name}: {field} is read in the canonical contract only; a retailer "
                           "contract's role grants that retailer's own key", at[field])
            continue
        keys = custom.get("secureGroupKeys")
        if "secureGroupKeys" in custom and not (
            isinstance(keys, list) and all(isinstance(k, str) and k for k in keys)
        ):
            yield f"role {name}: secureGroupKeys must be a list of secure group keys", at["secureGroupKeys"]
        if "grantRule" in custom and custom["grantRule"] not in GRANT_RULES:
            yield (f"role {name}: unknown grantRule {custom['grantRule']!r}; expected "
                   f"{', '.join(GRANT_RULES)}", at["grantRule"])
        grants = bool(keys) or "grantRule" in custom
        if grants and "readsAs" not in custom:
            yield (f"role {name}: say how the group reads what it is granted: readsAs: competition "
                   "(masked by age) or owner", (*here, "customProperties"))
        if grants and role.get("access", "read") != "read":
            yield f"role {name}: only access: read roles grant gold rows", (*here, "access")
