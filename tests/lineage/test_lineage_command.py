"""`shelfguard lineage` over an event file of two retailers' landing → bronze → silver → gold runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openlineage.client.event_v2 import InputDataset, OutputDataset

from assets.lineage.emit import LineageEmitter, make_client
from assets.lineage.naming import DatasetId, file_dataset, table_dataset
from assets.plan import build_plan
from shelfguard.cli import main
from shelfguard.settings import DataHome
from tests.lineage.pipeline import emit_pipeline, landing_file

FIRST_DAY, LATEST_DAY = "20240102", "20240103"


@pytest.fixture
def pipeline(shelfguard_home: Path, contracts_dir: Path):
    """Two days of deliveries for nwg_us (one big CSV) and alp_de (dimension and sales CSVs)."""
    home = DataHome.from_env().ensure()
    plan = build_plan(contracts_dir)
    emitter = LineageEmitter(make_client(home.lineage_file))
    for day in (FIRST_DAY, LATEST_DAY):
        emit_pipeline(emitter, plan, home, day)
    return home, plan


def lineage(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["lineage", *args])
    out, err = capsys.readouterr()
    return code, out, err


def graph_of(capsys: pytest.CaptureFixture[str], node: str, depth: int) -> dict[str, dict]:
    code, out, _ = lineage(capsys, "--node", node, "--depth", str(depth), "--format", "json")
    assert code == 0
    return {n["id"]: n for n in json.loads(out)["graph"]}


def test_gold_column_leads_back_to_the_exact_columns_of_each_retailers_latest_file(pipeline, capsys):
    home, plan = pipeline
    gold = table_dataset(home, "gold", "daily_store_fact")
    code, out, err = lineage(capsys, "--node", gold.node_id, "--columns", "--column", "net_sales",
                             "--format", "json")
    assert code == 0, err
    (column,) = json.loads(out)["columns"]
    nwg = next(c for c in plan.retailers if c.id.endswith("nwg_us"))
    alp = next(c for c in plan.retailers if c.id.endswith("alp_de"))
    origins = {(o["namespace"], o["name"], o["field"]) for o in column["origins"]}
    assert origins == {
        ("file", str(landing_file(home, nwg, "pos_daily", LATEST_DAY)), "sales_cents"),
        ("file", str(landing_file(home, alp, "sales", LATEST_DAY)), "Umsatz"),
    }
    nwg_silver = next(i for i in column["inputs"] if i["name"].endswith("nwg_us__daily_store_fact"))
    (nwg_bronze,) = nwg_silver["inputs"]
    assert nwg_bronze["field"] == "sales_cents"
    assert "cents_to_units" in nwg_bronze["transformations"][0]["description"]

    code, out, _ = lineage(capsys, "--node", gold.node_id, "--columns", "--column", "net_sales",
                           "--depth", "1", "--format", "json")
    one_hop = {(o["name"], o["field"]) for o in json.loads(out)["columns"][0]["origins"]}
    assert one_hop == {(str(home.table("silver", f"{code}__daily_store_fact")), "net_sales")
                       for code in ("nwg_us", "alp_de")}

    code, text, _ = lineage(capsys, "--node", gold.node_id, "--columns", "--column", "net_sales")
    assert code == 0
    latest_file = file_dataset(landing_file(home, nwg, "pos_daily", LATEST_DAY))
    assert f"<- sales_cents  in {latest_file.node_id}" in text
    assert FIRST_DAY not in text


def test_every_traced_gold_column_ends_in_a_delivered_column(pipeline, capsys):
    home, plan = pipeline
    delivered = {(str(landing_file(home, c, o["name"], LATEST_DAY)), p["name"])
                 for c in plan.retailers for o in c.objects for p in o["properties"]}
    code, out, _ = lineage(capsys, "--node", table_dataset(home, "gold", "daily_store_fact").node_id,
                           "--columns", "--format", "json")
    assert code == 0
    columns = {c["name"]: c for c in json.loads(out)["columns"]}
    for name in ("sale_date", "site_id", "product_id", "units_sold", "site_sk", "product_sk"):
        origins = {(o["name"], o["field"]) for o in columns[name]["origins"]}
        assert origins and origins <= delivered, name
    currency = {(o["name"], o["field"]) for o in columns["currency"]["origins"]}
    assert currency == {(str(home.table("silver", f"{code}__daily_store_fact")), "currency")
                        for code in ("nwg_us", "alp_de")}, "set in silver from the contract"


def test_depth_counts_job_hops_like_marquez(pipeline, capsys):
    home, _ = pipeline
    gold_job = "job:shelfguard:gold.daily_store_fact"

    def jobs(depth: int) -> set[str]:
        return {i for i, n in graph_of(capsys, gold_job, depth).items() if n["type"] == "JOB"}

    assert jobs(0) == {gold_job}
    assert set(graph_of(capsys, gold_job, 0)) == {gold_job, *(
        table_dataset(home, layer, table).node_id for layer, table in (
            ("gold", "daily_store_fact"), ("silver", "nwg_us__daily_store_fact"),
            ("silver", "alp_de__daily_store_fact")))}
    one = jobs(1)
    assert {"job:shelfguard:silver.nwg_us__daily_store_fact",
            "job:shelfguard:silver.alp_de__daily_store_fact",
            "job:shelfguard:silver.nwg_us__weekly_store_fact"} <= one
    assert not any(j.startswith("job:shelfguard:bronze.") for j in one)
    two = jobs(2)
    assert {"job:shelfguard:bronze.nwg_us__pos_daily", "job:shelfguard:bronze.alp_de__sales"} <= two
    assert one < two <= jobs(20)
    dataset_start = graph_of(capsys, table_dataset(home, "gold", "daily_store_fact").node_id, 0)
    assert {i for i, n in dataset_start.items() if n["type"] == "JOB"} == {gold_job}


def test_graph_has_marquez_shape_and_table_level_edges(pipeline, capsys):
    home, plan = pipeline
    nwg = next(c for c in plan.retailers if c.id.endswith("nwg_us"))
    graph = graph_of(capsys, "job:shelfguard:bronze.nwg_us__pos_daily", 20)
    for node_id, node in graph.items():
        assert set(node) == {"id", "type", "data", "inEdges", "outEdges"}
        assert node["type"] in ("JOB", "DATASET")
        for edge in node["inEdges"]:
            assert edge["destination"] == node_id and edge in graph[edge["origin"]]["outEdges"]
        for edge in node["outEdges"]:
            assert edge["origin"] == node_id and edge in graph[edge["destination"]]["inEdges"]
    latest_file = file_dataset(landing_file(home, nwg, "pos_daily", LATEST_DAY)).node_id
    bronze = table_dataset(home, "bronze", "nwg_us__pos_daily").node_id
    job = graph["job:shelfguard:bronze.nwg_us__pos_daily"]
    assert job["inEdges"] == [{"origin": latest_file, "destination": job["id"]}]
    assert job["outEdges"] == [{"origin": job["id"], "destination": bronze}]
    assert job["data"]["latestRun"]["state"] == "COMPLETE"
    assert [f["name"] for f in graph[latest_file]["data"]["fields"]][:2] == ["business_date", "store_nbr"]
    assert file_dataset(landing_file(home, nwg, "pos_daily", FIRST_DAY)).node_id not in graph


def test_text_output_is_a_tree_up_and_down(pipeline, capsys):
    home, _ = pipeline
    silver = table_dataset(home, "silver", "nwg_us__daily_store_fact").node_id
    code, out, _ = lineage(capsys, "--node", silver, "--depth", "1")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == silver
    upstream, downstream = lines.index("  upstream:"), lines.index("  downstream:")
    assert lines[upstream + 1].startswith("    <- job:shelfguard:silver.nwg_us__daily_store_fact  [COMPLETE ")
    gold_job = "-> job:shelfguard:gold.daily_store_fact"
    assert any(line.strip().startswith(gold_job) for line in lines[downstream:])


def test_unknown_node_and_missing_file_are_one_line_errors(pipeline, capsys, tmp_path: Path):
    code, out, err = lineage(capsys, "--node", "dataset:file:/nowhere/gold/daily_store_fact")
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and "unknown node 'dataset:file:/nowhere/gold/daily_store_fact'" in err
    code, _, err = lineage(capsys, "--node", "job:shelfguard:gold.daily_store_fct")
    assert code == 2 and "did you mean job:shelfguard:gold.daily_store_fact?" in err
    code, _, err = lineage(capsys, "--node", "gold.daily_store_fact")
    assert code == 2 and "expected dataset:<namespace>:<name>" in err
    code, _, err = lineage(capsys, "--node", "job:shelfguard:gold.daily_store_fact", "--columns")
    assert code == 2 and "--columns needs a dataset node" in err
    home, _ = pipeline
    gold = table_dataset(home, "gold", "daily_store_fact").node_id
    code, _, err = lineage(capsys, "--node", gold, "--column", "no_such_column")
    assert code == 2 and "has no column 'no_such_column'" in err
    missing = tmp_path / "none.ndjson"
    code, _, err = lineage(capsys, "--node", gold, "--events", str(missing))
    assert code == 2 and f"no lineage event file at {missing}" in err and err.count("\n") == 1


def test_unreadable_lines_are_skipped_with_a_warning(pipeline, capsys):
    home, _ = pipeline
    with home.lineage_file.open("a") as events:
        events.write('{"eventType": "START", "run": \n')
    code, out, err = lineage(capsys, "--node", "job:shelfguard:gold.prod_dim", "--depth", "0")
    assert code == 0 and "gold.prod_dim" in out
    assert "skipped, not JSON" in err and str(home.lineage_file) in err


def test_datasets_of_other_storage_are_nodes_too(tmp_path: Path, capsys):
    events = tmp_path / "events.ndjson"
    emitter = LineageEmitter(make_client(events))
    source = DatasetId("sqlite:///data/crl_au.sqlite", "sales")
    target = DatasetId("file", "/w/bronze/crl_au__sales")
    with emitter.run("bronze.crl_au__sales", [InputDataset(source.namespace, source.name)],
                     [OutputDataset(target.namespace, target.name)]):
        pass
    code, out, _ = lineage(capsys, "--node", source.node_id, "--events", str(events), "--format", "json")
    assert code == 0
    assert {n["id"] for n in json.loads(out)["graph"]} == {source.node_id, target.node_id,
                                                            "job:shelfguard:bronze.crl_au__sales"}
