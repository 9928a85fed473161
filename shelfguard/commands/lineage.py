"""`shelfguard lineage`: browse lineage from the local OpenLineage event file, as Marquez would.

Without `--columns` it prints the graph of Marquez's `GET /api/v1/lineage?nodeId=…&depth=…`
(`--format json` prints exactly that shape); with `--columns` it follows the column lineage of a
dataset's columns back to the retailer's delivered files, tables and endpoints.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from pathlib import Path
from typing import Any

from assets.lineage.graph import (
    MARQUEZ_DEFAULT_DEPTH,
    ColumnTrace,
    EventFileError,
    JobId,
    LineageStore,
    UnknownNodeError,
)
from assets.lineage.naming import DatasetId
from shelfguard.cli import UsageError
from shelfguard.settings import DataHome


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--node", required=True, metavar="NODE_ID",
                        help="dataset:<namespace>:<name> or job:<namespace>:<name> (Marquez node id)")
    parser.add_argument("--depth", type=int, default=MARQUEZ_DEFAULT_DEPTH,
                        help=f"job-to-job hops (Marquez depth; default {MARQUEZ_DEFAULT_DEPTH}); "
                             "with --columns, column hops")
    parser.add_argument("--columns", action="store_true",
                        help="column-level lineage of a dataset's columns back to the retailer sources")
    parser.add_argument("--column", metavar="NAME", help="only this column (implies --columns)")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("--events", metavar="PATH",
                        help="NDJSON event file (default: SHELFGUARD_HOME/lineage/openlineage.ndjson)")


def run(args: argparse.Namespace) -> int:
    if args.depth < 0:
        raise UsageError(f"--depth must be 0 or more, not {args.depth}")
    if not args.node.startswith(("dataset:", "job:")):
        raise UsageError(f"--node {args.node!r}: expected dataset:<namespace>:<name> "
                         "or job:<namespace>:<name>")
    path = Path(args.events) if args.events else DataHome.from_env().lineage_file
    try:
        store, problems = LineageStore.from_file(path)
    except EventFileError as exc:
        raise UsageError(str(exc)) from None
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)
    try:
        node = store.resolve(args.node)
    except UnknownNodeError as exc:
        close = difflib.get_close_matches(args.node, store.node_ids(), n=1, cutoff=0.6)
        raise UsageError(f"{exc} of {path}" + (f"; did you mean {close[0]}?" if close else "")) from None
    if args.columns or args.column:
        if not isinstance(node, DatasetId):
            raise UsageError("--columns needs a dataset node (dataset:<namespace>:<name>)")
        try:
            traces = store.column_lineage(node, args.column, args.depth)
        except UnknownNodeError as exc:
            raise UsageError(str(exc)) from None
        print(json.dumps(columns_json(node, traces), indent=2) if args.format == "json"
              else render_columns(node, traces))
        return 0
    graph = store.lineage(args.node, args.depth)
    print(json.dumps(graph, indent=2) if args.format == "json"
          else render_graph(graph, args.node, store, node))
    return 0


def columns_json(dataset: DatasetId, traces: list[ColumnTrace]) -> dict[str, Any]:
    return {
        "node": dataset.node_id,
        "columns": [{
            "name": trace.field,
            "inputs": [i.as_json() for i in trace.inputs],
            "origins": [{"namespace": o.dataset.namespace, "name": o.dataset.name, "field": o.field}
                        for o in trace.origins() if o is not trace],
        } for trace in traces],
    }


def _transformations(trace: ColumnTrace) -> str:
    parts = []
    for t in trace.transformations:
        text = " ".join(str(t[k]) for k in ("type", "subtype") if t.get(k))
        parts.append(f"{text}: {t['description']}" if t.get("description") else text)
    return f"  [{'; '.join(parts)}]" if parts else ""


def render_columns(dataset: DatasetId, traces: list[ColumnTrace]) -> str:
    lines = [dataset.node_id]
    for trace in traces:
        lines.append(f"  {trace.field}")
        stack = [(source, 0) for source in reversed(trace.inputs)]
        while stack:
            item, level = stack.pop()
            indent = "    " + "   " * level
            lines.append(f"{indent}<- {item.field}  in {item.dataset.node_id}{_transformations(item)}")
            stack.extend((source, level + 1) for source in reversed(item.inputs))
        origins = [o for o in trace.origins() if o is not trace]
        lines.append("    sources: " + ("; ".join(f"{o.field} in {o.dataset.node_id}" for o in origins)
                                        if origins else "none recorded"))
    return "\n".join(lines)


def _label(node: dict[str, Any]) -> str:
    if node["type"] != "JOB":
        return node["id"]
    latest = node["data"].get("latestRun") or {}
    when = latest.get("endedAt") or latest.get("startedAt")
    return f"{node['id']}  [{latest.get('state') or 'no run'}{f' {when}' if when else ''}]"


def render_graph(graph: dict[str, Any], node_id: str, store: LineageStore, node: JobId | DatasetId) -> str:
    """The requested node with its upstream and downstream trees within the graph; a node already
    shown is marked instead of repeated."""
    nodes = {n["id"]: n for n in graph["graph"]}
    lines = []
    root = node_id
    if root not in nodes:
        start = store.start_job(node).node_id
        lines.append(f"note: {node_id} is not an input or output of the latest run of {start}; "
                     "showing that job (as Marquez does)")
        root = start
    lines.append(_label(nodes[root]))
    for title, edges, end, arrow in (("upstream", "inEdges", "origin", "<-"),
                                     ("downstream", "outEdges", "destination", "->")):
        lines.append(f"  {title}:")
        shown: set[str] = {root}
        branch = _tree(nodes, root, edges, end, arrow, 2, shown)
        lines.extend(branch or ["    (none)"])
    return "\n".join(lines)


def _tree(nodes: dict[str, dict[str, Any]], node_id: str, edges: str, end: str, arrow: str, level: int,
          shown: set[str]) -> list[str]:
    lines = []
    for edge in nodes[node_id][edges]:
        other = edge[end]
        if other not in nodes:
            continue
        if other in shown:
            lines.append(f"{'  ' * level}{arrow} {other}  (shown above)")
            continue
        shown.add(other)
        lines.append(f"{'  ' * level}{arrow} {_label(nodes[other])}")
        lines.extend(_tree(nodes, other, edges, end, arrow, level + 1, shown))
    return lines
