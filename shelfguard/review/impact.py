"""Who a contract change reaches: the downstream assets with their owners, and the canonical columns.

The asset graph is `assets.plan` (built from the contracts, without Dagster), so the review names
exactly the assets the Dagster code location would build from the same contracts.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cached_property

from pydantic import BaseModel, Field

from assets.plan import AssetNode, ColumnMapping, PipelinePlan, bronze_key, build_plan, column_mappings
from checks.contract import Contract, ContractError
from checks.diff import Change, affects_data
from shelfguard.review.git import ReviewError, Revision

MASTER_ENRICHES = {"product_master": "prod_dim", "site_master": "site_dim"}
"""Corporate master objects and the silver dimension each one enriches (by GTIN, by GLN)."""


class ImpactedAsset(BaseModel):
    key: str = Field(description="Dagster asset key, slash-separated, e.g. bronze/alp_de__sales.")
    layer: str = Field(description="bronze, silver or gold.")
    table: str = Field(description="Delta table name under warehouse/<layer>/.")
    owners: list[str] = Field(
        default_factory=list, description="Owners of the asset (from its contract's team)."
    )


class CanonicalFeed(BaseModel):
    canonical_column: str = Field(description="Canonical column, `<object>.<column>`, e.g. prod_dim.gtin.")
    retailer: str | None = Field(None, description="Retailer whose column feeds it; null when none does.")
    object: str | None = Field(None, description="The retailer object of the feeding column.")
    property: str | None = Field(None, description="The retailer column feeding the canonical column.")
    transform: str | None = Field(None, description="Named transform on the way to silver, if any.")


class ContractImpact(BaseModel):
    contract: str = Field(description="Id of the changed contract.")
    path: str = Field(description="Path of the contract file in the repository.")
    retailer: str | None = Field(None, description="Retailer code, for retailer contracts.")
    objects: list[str] = Field(default_factory=list, description="Objects with breaking or risky changes.")
    assets: list[ImpactedAsset] = Field(
        default_factory=list, description="Assets built from the changed objects and everything downstream."
    )
    canonical_columns: list[CanonicalFeed] = Field(
        default_factory=list, description="Canonical columns fed by (or being) a changed property."
    )
    note: str = Field("", description="Why the list is empty or taken from the base revision, when it is.")


class Plans:
    """The asset graphs of both revisions, built only when needed."""

    def __init__(self, base: Revision, head: Revision):
        self.revisions = {"base": base, "head": head}

    def _build(self, side: str) -> PipelinePlan:
        revision = self.revisions[side]
        try:
            return build_plan(revision.contracts_dir)
        except ContractError as exc:
            raise ReviewError(revision.locate(exc), located=True) from None

    @cached_property
    def base(self) -> PipelinePlan:
        return self._build("base")

    @cached_property
    def head(self) -> PipelinePlan:
        return self._build("head")


def contract_impact(
    changes: list[Change], base: Contract | None, head: Contract | None, plans: Plans
) -> ContractImpact:
    """What the breaking and risky `changes` of one contract reach downstream; for a new contract,
    what it starts to feed."""
    contract = head or base
    code = contract.custom.get("retailerCode")
    impact = ContractImpact(
        contract=contract.id,
        path=changes[0].path if changes else str(contract.path),
        retailer=str(code) if code else None,
    )
    relevant = [c for c in changes if affects_data(c)]
    in_head = head is not None and head.status == "active"
    if base is None:
        if not in_head:
            impact.note = "a new contract that is not active: no assets are built from it"
            return impact
        impact.note = "a new contract: these assets are added or start receiving its rows"
    elif not relevant:
        impact.note = "only safe or versioning changes: nothing downstream is affected"
        return impact
    elif not in_head:
        impact.note = (
            "not active in the head revision: these are the assets of the base revision that go away"
        )
    objects = list(dict.fromkeys(c.object for c in relevant if c.object))
    if base is None or any(c.object is None for c in relevant):
        objects = list(
            dict.fromkeys([*objects, *contract.object_names, *(base.object_names if base else [])])
        )
    impact.objects = objects
    plan = plans.head if in_head else plans.base
    layer = contract.custom.get("layer")
    if code:
        starts = [bronze_key(str(code), name) for name in objects]
    elif layer == "canonical":
        starts = _canonical_starts(plan, objects)
    else:
        enriched = [MASTER_ENRICHES[n] for n in objects if n in MASTER_ENRICHES]
        starts = _canonical_starts(plan, enriched, gold=False)
    impact.assets = [_asset(node) for node in _reached(plan, starts)]
    if not impact.assets and not impact.note:
        impact.note = "no assets are built from the changed objects"
    if code:
        impact.canonical_columns = _retailer_feeds(relevant, base, head, str(code))
    elif layer == "canonical":
        impact.canonical_columns = _canonical_feeds(relevant, plan)
    return impact


def _canonical_starts(
    plan: PipelinePlan, objects: Iterable[str], *, gold: bool = True
) -> list[tuple[str, ...]]:
    wanted = set(objects)
    return [
        n.key
        for n in plan.nodes
        if n.object in wanted and (n.layer == "silver" or (gold and n.layer == "gold"))
    ]


def _reached(plan: PipelinePlan, starts: list[tuple[str, ...]]) -> list[AssetNode]:
    keys = {n.key for n in plan.nodes}
    reached = {key for key in starts if key in keys}
    for key in list(reached):
        reached.update(n.key for n in plan.downstream(key))
    return [n for n in plan.nodes if n.key in reached]


def _asset(node: AssetNode) -> ImpactedAsset:
    return ImpactedAsset(key="/".join(node.key), layer=node.layer, table=node.table, owners=node.owners)


def _retailer_feeds(
    changes: list[Change], base: Contract | None, head: Contract | None, code: str
) -> list[CanonicalFeed]:
    """Canonical columns fed by a changed retailer column, in either revision (a lost mapping counts)."""
    changed = set()
    for change in changes:
        if change.object and change.property:
            changed.add((change.object, change.property))
            if change.change == "property_renamed":
                changed.add((change.object, str(change.before)))
    feeds: dict[tuple[str, ...], CanonicalFeed] = {}
    for contract in (head, base):
        for m in column_mappings(contract) if contract else []:
            if (m.retailer_object, m.retailer_column) in changed:
                column = f"{m.canonical_object}.{m.canonical_column}"
                feeds.setdefault((column, m.retailer_object, m.retailer_column), _feed(column, code, m))
    return list(feeds.values())


def _canonical_feeds(changes: list[Change], plan: PipelinePlan) -> list[CanonicalFeed]:
    """A changed canonical column, with every retailer column that feeds it."""
    feeds: list[CanonicalFeed] = []
    columns = list(dict.fromkeys(f"{c.object}.{c.property}" for c in changes if c.object and c.property))
    for column in columns:
        feeders = [
            (str(r.custom["retailerCode"]), m)
            for r in plan.retailers
            for m in column_mappings(r)
            if f"{m.canonical_object}.{m.canonical_column}" == column
        ]
        feeds += [_feed(column, code, m) for code, m in feeders]
        if not feeders:
            feeds.append(CanonicalFeed(canonical_column=column))
    return feeds


def _feed(column: str, code: str, mapping: ColumnMapping) -> CanonicalFeed:
    """The canonical column `column` fed by one retailer column."""
    return CanonicalFeed(
        canonical_column=column,
        retailer=code,
        object=mapping.retailer_object,
        property=mapping.retailer_column,
        transform=mapping.transform,
    )
