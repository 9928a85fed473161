"""The gold views for BI tools as a Dagster asset: one DuckDB database per reader group, rebuilt
after every gold publish (declarative automation), recorded in lineage like every other table.

(No `from __future__ import annotations`: Dagster reads resource types from the annotations.)
"""

import dagster as dg

from assets.definitions.column_lineage import dagster_column_lineage
from assets.definitions.gating import contract_metadata
from assets.definitions.resources.home import DataHomeResource
from assets.definitions.resources.openlineage import OpenLineageResource
from assets.definitions.silver_gold import AUTOMATION
from assets.gold.views import GoldViews, group_database_path
from assets.lineage.datasets import gold_views_lineage
from assets.plan import CANONICAL_OBJECTS, PipelinePlan, gold_key
from shelfguard.settings import DataHome

GOLD_VIEWS_KEY = dg.AssetKey(["gold", "reader_views"])


def build_gold_views_asset(plan: PipelinePlan) -> dg.AssetsDefinition:
    canonical = plan.canonical

    @dg.asset(
        key=GOLD_VIEWS_KEY,
        deps=[dg.AssetKey(list(gold_key(obj))) for obj in CANONICAL_OBJECTS],
        group_name="gold",
        owners=canonical.owners,
        kinds={"duckdb"},
        tags={"layer": "gold"},
        description=(
            "The gold views for BI tools: per reader group a DuckDB database (SHELFGUARD_HOME/views/"
            "<group>.duckdb) holding only the rows the contracts' roles grant that group, competition "
            "measures masked by age as of the build date (docs/access.md)."
        ),
        automation_condition=AUTOMATION,
        metadata=contract_metadata(canonical),
    )
    def reader_views(
        context: dg.AssetExecutionContext, home: DataHomeResource, openlineage: OpenLineageResource
    ) -> dg.MaterializeResult:
        data_home = home.home()
        views = GoldViews(data_home, canonical, plan.retailers, directory={})
        paths = {group: group_database_path(data_home, group) for group in views.groups}
        inputs, outputs = gold_views_lineage(plan, data_home, paths)
        with openlineage.run(context, inputs=inputs, outputs=outputs):
            published = views.publish_group_databases()
        return dg.MaterializeResult(
            metadata={
                "dagster/uri": dg.MetadataValue.path(str(data_home.views)),
                "databases": dg.MetadataValue.json(
                    {group: {"file": str(p), "rows": counts} for group, (p, counts) in published.items()}
                ),
                "groups": len(published),
                "dagster/column_lineage": _column_lineage(outputs, plan, data_home),
                **contract_metadata(canonical),
            }
        )

    return reader_views


def _column_lineage(outputs: list, plan: PipelinePlan, home: DataHome) -> dg.TableColumnLineage:
    """Each view column from its gold columns (every group's view of a table reads the same ones)."""
    deps: dict[str, dict[tuple, dg.TableColumnDep]] = {}
    for output in outputs:
        for column, sources in dagster_column_lineage(output, plan, home).deps_by_column.items():
            for dep in sources:
                deps.setdefault(column, {})[(dep.asset_key, dep.column_name)] = dep
    return dg.TableColumnLineage(deps_by_column={c: list(d.values()) for c, d in deps.items()})
