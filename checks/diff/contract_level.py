"""Walker of a contract's top level: id, status, identity stamps, owners, version; it hands each
area to its own walker."""

from __future__ import annotations

from checks.contract import DEFAULT_EXECUTION_ENGINE, DELIVERY_SERVER, EXECUTION_ENGINE, Contract
from checks.diff.access import CONTRACT_ACCESS, walk_roles
from checks.diff.catalogue import Severity
from checks.diff.recorder import Recorder
from checks.diff.schema import walk_objects
from checks.diff.servers import walk_servers
from checks.diff.sla import walk_slas

CONTRACT_PROPERTIES = {
    **CONTRACT_ACCESS,
    "retailerCode": "identity_changed:retailer_code",
    "dataProviderCode": "identity_changed:data_provider_code",
    "currency": "meaning_changed:currency",
    "shape": "documentation_changed:shape",
    "country": "meaning_changed:country",
    "layer": "meaning_changed:layer",
    "timezone": "sla_changed:timezone",
    "cadence": "sla_changed:cadence",
}
"""Contract-level customProperties and their catalogue rows; any other is not covered."""
WALKED = (
    "id",
    "version",
    "status",
    "customProperties",
    "roles",
    "team",
    "slaProperties",
    "servers",
    "schema",
)


def walk_contract(rec: Recorder, base: Contract, head: Contract) -> None:
    b, h = base.document, head.document
    if b.get("id") != h.get("id"):
        rec.saw("identity_changed:id", field="id", before=b.get("id"), after=h.get("id"))
    _status(rec, base.status, head.status)
    rec.custom(base.custom, head.custom, CONTRACT_PROPERTIES, handled=(DELIVERY_SERVER, EXECUTION_ENGINE))
    _execution_engine(rec, base.custom, head.custom)
    walk_roles(rec, b.get("roles") or [], h.get("roles") or [])
    _team(rec, base, head)
    walk_slas(rec, base, head)
    walk_servers(rec, base, head)
    walk_objects(rec, base, head)
    rec.rest(b, h, WALKED)
    _version(rec, base.version, head.version)


def _status(rec: Recorder, before: str, after: str) -> None:
    if before == after:
        return
    variant = "deactivated" if before == "active" else "activated" if after == "active" else "inactive"
    rec.saw(f"status_changed:{variant}", field="status", before=before, after=after)


def _execution_engine(rec: Recorder, before: dict, after: dict) -> None:
    """Judged on the engine each revision runs on: writing the default out changes nothing."""
    engines = [side.get(EXECUTION_ENGINE, DEFAULT_EXECUTION_ENGINE) for side in (before, after)]
    field = f"customProperties.{EXECUTION_ENGINE}"
    if engines[0] != engines[1]:
        rec.saw("execution_changed:engine", field=field, before=engines[0], after=engines[1],
                old=engines[0], new=engines[1])
    elif before.get(EXECUTION_ENGINE) != after.get(EXECUTION_ENGINE):
        rec.saw("documentation_changed:execution_engine", field=field,
                before=before.get(EXECUTION_ENGINE), after=after.get(EXECUTION_ENGINE))


def _team(rec: Recorder, base: Contract, head: Contract) -> None:
    if base.owners != head.owners:
        rec.saw("owners_changed", field="team.members", before=base.owners, after=head.owners)
    elif base.team != head.team:
        rec.saw("documentation_changed:team", field="team", before=base.team, after=head.team)


def _version(rec: Recorder, before: str, after: str) -> None:
    """Judged last: whether the version had to move depends on every other change."""
    changed = bool(rec.changes)
    if before == after:
        if changed:
            rec.saw("version_not_bumped", field="version", before=before, after=after)
        return
    rec.saw(
        "version_changed:bumped" if changed else "version_changed:only",
        field="version",
        before=before,
        after=after,
    )
    breaking = any(c.severity == Severity.BREAKING for c in rec.changes)
    major_before, major_after = _major(before), _major(after)
    if breaking and major_before is not None and major_after is not None and major_after <= major_before:
        rec.saw("major_version_not_bumped", field="version", before=before, after=after)


def _major(version: str) -> int | None:
    head = str(version).lstrip("v").split(".")[0]
    return int(head) if head.isdigit() else None
