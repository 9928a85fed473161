"""Walker of who may read what: roles and their grants, secure group keys, masking, classification.

Every access change is flagged whatever its direction (ADR 0012): a grant added or lost, a horizon
moved, a measure unmasked or a governed tag changed must be approved by a person.
"""

from __future__ import annotations

from typing import Any

from checks.contract import entry_custom_properties
from checks.diff.recorder import DOC_FIELDS, Recorder, keys, listed

CONTRACT_ACCESS = {
    "secureGroupKey": "access_changed:secure_group_key",
    "maskingHorizonDays": "access_changed:masking_horizon",
    "grantedToNobody": "access_changed:granted_to_nobody",
}
"""Contract-level customProperties that decide access."""


def walk_roles(rec: Recorder, before: list[dict[str, Any]], after: list[dict[str, Any]]) -> None:
    by_name_before = {r.get("role"): r for r in before}
    by_name_after = {r.get("role"): r for r in after}
    for name in keys(by_name_before, by_name_after):
        old, new = by_name_before.get(name), by_name_after.get(name)
        if old == new:
            continue
        field = f"roles[{name}]"
        view_old, view_new = _access_view(old), _access_view(new)
        seen = {"field": field, "before": view_old, "after": view_new, "role": name}
        if old is None or new is None:
            present, view = (new, view_new) if old is None else (old, view_old)
            kind = "access_changed:role_added" if old is None else "access_changed:role_removed"
            rec.saw(kind, **seen, access=present.get("access", "read"), grants=_grants(view))
        elif _without(old, DOC_FIELDS) == _without(new, DOC_FIELDS):
            rec.rest(old, new, ("role",), prefix=f"{field}.")
        else:
            rec.saw("access_changed:role_grants", **seen, details=_grant_changes(view_old, view_new))


def walk_measure_masking(
    rec: Recorder, obj: str, prop: str, old: dict[str, Any], new: dict[str, Any]
) -> None:
    """`antitrustMasked` of a measure (the property's customProperties)."""
    field = "customProperties.antitrustMasked"
    rec.compare(
        "access_changed:antitrust_masked", old, new, "antitrustMasked", obj=obj, prop=prop, field=field
    )


def walk_classification(rec: Recorder, obj: str, prop: str, old: dict[str, Any], new: dict[str, Any]) -> None:
    shown = {"old": _shown(old.get("classification")), "new": _shown(new.get("classification"))}
    rec.compare("access_changed:classification", old, new, "classification", obj=obj, prop=prop, **shown)


def walk_server_roles(rec: Recorder, prefix: str, old: dict[str, Any], new: dict[str, Any]) -> None:
    rec.compare("access_changed:server_roles", old, new, "roles", field=prefix + "roles")


def _access_view(role: dict[str, Any] | None) -> dict[str, Any] | None:
    if role is None:
        return None
    return {"access": role.get("access"), **entry_custom_properties(role)}


def _grants(view: dict[str, Any]) -> str:
    granted = {k: v for k, v in view.items() if k != "access" and v not in (None, [], "")}
    return f" ({'; '.join(f'{k} {_shown(v)}' for k, v in granted.items())})" if granted else ""


def _grant_changes(old: dict[str, Any], new: dict[str, Any]) -> str:
    """Each grant that differs: list grants by what is gained and lost, others as before → after."""
    parts = []
    for key in keys(old, new):
        before, after = old.get(key), new.get(key)
        if before == after:
            continue
        if (
            isinstance(before, list | type(None))
            and isinstance(after, list | type(None))
            and (before or after)
        ):
            gained = [v for v in after or [] if v not in (before or [])]
            lost = [v for v in before or [] if v not in (after or [])]
            words = [f"gains {listed(gained)}"] * bool(gained) + [f"loses {listed(lost)}"] * bool(lost)
            parts.append(f"{key} {' and '.join(words) or 'reordered'}")
        else:
            parts.append(f"{key} {_shown(before)} → {_shown(after)}")
    return "; ".join(parts)


def _shown(value: Any) -> str:
    if isinstance(value, list):
        return listed(value)
    return "unset" if value is None else str(value)


def _without(mapping: dict[str, Any], fields: frozenset[str]) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if k not in fields}
