"""The declarative automation sensors: one per retailer's silver, one for gold, one for the views.

Dagster puts every asset one automation sensor requests in a tick into one run. With a single
sensor, one retailer's blocked silver batch (a failed blocking check) would skip gold, and the other
retailers' silver in the same run would share its red run. Each sensor here targets one retailer's
silver tables, the gold tables, or the readers' views, so a run never mixes retailers or layers: a
blocked retailer fails its own run, gold runs next (reading only what silver published), and the
views are rebuilt after any gold run, even one whose blocking check failed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import dagster as dg

from assets.definitions.gold_views import GOLD_VIEWS_KEY
from assets.plan import PipelinePlan, retailer_code

SENSOR_PREFIX = "automation_"


@dataclass(frozen=True)
class RunGroup:
    """Assets that run together, and only together: one automation sensor's target."""

    name: str
    keys: tuple[dg.AssetKey, ...]
    tags: dict[str, str] = field(hash=False)
    description: str


def run_groups(plan: PipelinePlan) -> list[RunGroup]:
    """Each retailer's silver tables, then the gold tables, then the readers' views, in run order."""
    groups = []
    for contract in plan.retailers:
        code = retailer_code(contract)
        keys = tuple(dg.AssetKey(list(node.key)) for node in plan.retailer_nodes(code, "silver"))
        if keys:
            groups.append(RunGroup(code, keys, {"retailer": code, "layer": "silver"},
                                   f"Moves {code}'s accepted deliveries to its silver tables, in runs of "
                                   f"{code} alone."))
    gold = tuple(dg.AssetKey(list(node.key)) for node in plan.nodes if node.layer == "gold")
    groups.append(RunGroup("gold", gold, {"layer": "gold"},
                           "Merges what silver published into the gold tables once no silver run is in "
                           "progress."))
    groups.append(RunGroup("reader_views", (GOLD_VIEWS_KEY,), {"layer": "gold"},
                           "Rebuilds the readers' gold views after gold changed."))
    return groups


def automation_sensors(plan: PipelinePlan) -> list[dg.SensorDefinition]:
    """The sensors that move accepted deliveries on, without anyone clicking: one per run group."""
    return [
        dg.AutomationConditionSensorDefinition(
            f"{SENSOR_PREFIX}{group.name}",
            target=dg.AssetSelection.assets(*group.keys),
            run_tags=group.tags,
            default_status=dg.DefaultSensorStatus.RUNNING,
            description=group.description,
        )
        for group in run_groups(plan)
    ]
