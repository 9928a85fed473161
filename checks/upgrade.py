"""ODCS v3.0.x contracts read as v3.1.0: the documented mapping (docs/odcs-versions.md, ADR 0015).

A v3.0.x contract is first validated against its own version's schema; the rules then work on the
v3.1 model, so the contract is upgraded in memory by `upgrade_tree`. The same function writes
`shelfguard contracts upgrade PATH`: it edits a ruamel round-trip tree in place, so comments, key
order and quoting survive, and every position it creates points at the line of what it came from
(lint and the gate locate problems in the file as written).

The mapping, each step listed as a `Change`:

1. `apiVersion` becomes `v3.1.0`.
2. `team` as a list of members becomes `team: {members: [...]}` (v3.1 deprecates the list).
3. A library rule's `rule` becomes `metric`, renamed where v3.0 named it differently
   (`V30_LIBRARY_RULES`); a `validValues` list beside it moves into `arguments.validValues`. A rule
   name with no v3.1 metric stays as the deprecated `rule` (v3.1 still accepts it; the gate reports
   it `not_evaluated`).
4. A DuckDB server's integer `schema` becomes a string.
5. A custom property without `value` gets `value: null` (v3.1 requires the key).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

V31 = "v3.1.0"
V30_VERSIONS = ("v3.0.0", "v3.0.1", "v3.0.2")
V30_LIBRARY_RULES = {
    "nullCheck": "nullValues",
    "nullValues": "nullValues",
    "missingValues": "missingValues",
    "duplicateCount": "duplicateValues",
    "duplicateValues": "duplicateValues",
    "uniqueCheck": "duplicateValues",
    "validValues": "invalidValues",
    "invalidValues": "invalidValues",
    "rowCount": "rowCount",
}
"""v3.0 library rule names (the v3.0 schema's examples and the v3.1 metrics) -> v3.1 metric."""

JsonPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Change:
    """One step of the upgrade, at the JSON path (in the upgraded document) it changed."""

    path: JsonPath
    message: str


def needs_upgrade(api_version: Any) -> bool:
    return api_version in V30_VERSIONS


def upgrade_tree(tree: Any) -> list[Change]:
    """Upgrade a v3.0.x round-trip tree (ruamel CommentedMap) to v3.1.0 in place; the changes made."""
    from ruamel.yaml.comments import CommentedMap

    if not isinstance(tree, CommentedMap) or not needs_upgrade(tree.get("apiVersion")):
        return []
    changes = [Change(("apiVersion",), f"apiVersion {tree['apiVersion']} -> {V31}")]
    tree["apiVersion"] = V31
    team = tree.get("team")
    if isinstance(team, list):
        members = CommentedMap()
        members["members"] = team
        team.ca.comment = None  # the comment after `team:` belongs to the key, which stays
        _copy_position(tree, "team", members, "members")
        tree["team"] = members
        changes.append(Change(("team",), "team: the list of members -> team.members"))
    for path, quality in _listed(tree.get("schema"), "quality", ("schema",)):
        changes.extend(_upgrade_rule(quality, path))
    for index, server in enumerate(_list(tree.get("servers"))):
        if isinstance(server, dict) and server.get("type") == "duckdb" and type(server.get("schema")) is int:
            server["schema"] = str(server["schema"])
            changes.append(Change(("servers", index, "schema"), "duckdb server schema: integer -> string"))
    for path, item in _listed(tree, "customProperties"):
        if "property" in item and "value" not in item:
            item["value"] = None
            _copy_position(item, "property", item, "value")
            changes.append(Change(path, "custom property without value -> value: null"))
    return changes


def _upgrade_rule(quality: Any, here: JsonPath) -> Iterator[Change]:
    from ruamel.yaml.comments import CommentedMap

    if quality.get("type", "library") != "library" or "rule" not in quality or "metric" in quality:
        return
    name = quality["rule"]
    metric = V30_LIBRARY_RULES.get(name) if isinstance(name, str) else None
    if metric is None:
        return
    _rename(quality, "rule", "metric", metric)
    yield Change((*here, "metric"), f"library rule {name!r} -> metric {metric}")
    if metric == "invalidValues" and "validValues" in quality:
        arguments = quality.get("arguments")
        if isinstance(arguments, dict):
            _copy_position(quality, "validValues", arguments, "validValues")
            arguments["validValues"] = quality.pop("validValues")
        else:
            arguments = CommentedMap()
            arguments["validValues"] = quality["validValues"]
            _copy_position(quality, "validValues", arguments, "validValues")
            _rename(quality, "validValues", "arguments", arguments)
        yield Change((*here, "arguments", "validValues"), "validValues -> arguments.validValues")


def _rename(mapping: Any, old: str, new: str, value: Any) -> None:
    """Replace key `old` by `new` (with `value`) at the same place, keeping its comment and line."""
    index = list(mapping).index(old)
    position = (mapping.lc.data or {}).get(old)
    comment = mapping.ca.items.pop(old, None)
    mapping.pop(old)
    mapping.insert(index, new, value)
    if position is not None:
        mapping.lc.add_kv_line_col(new, position)
    if comment is not None:
        mapping.ca.items[new] = comment


def _copy_position(source: Any, key: str, target: Any, new_key: str) -> None:
    position = (source.lc.data or {}).get(key)
    if position is not None:
        target.lc.add_kv_line_col(new_key, list(position))
        if target is not source:
            target.lc.line, target.lc.col = position[0], position[1]


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _listed(node: Any, key: str, here: JsonPath = ()) -> Iterator[tuple[JsonPath, Any]]:
    """(path, item) of every mapping listed under `key`, anywhere in the document."""
    if isinstance(node, dict):
        for name, value in node.items():
            if name == key and isinstance(value, list):
                listed = enumerate(value)
                yield from (((*here, name, i), item) for i, item in listed if isinstance(item, dict))
            elif isinstance(value, dict | list):
                yield from _listed(value, key, (*here, name))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _listed(value, key, (*here, index))


def upgraded_text(text: str, tree: Any) -> str:
    """`tree` (already upgraded) as YAML in the indentation style of the original `text`."""
    import io

    from ruamel.yaml import YAML

    yaml = YAML(typ="rt", pure=True)
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap long lines the author wrote on one line
    mapping, sequence, offset = _indentation(text)
    yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
    if text.startswith("---"):
        yaml.explicit_start = True
    out = io.StringIO()
    yaml.dump(tree, out)
    return out.getvalue()


def _indentation(text: str) -> tuple[int, int, int]:
    """(mapping, sequence, offset) indents as ruamel names them, guessed from the first nested
    mapping key and the first block sequence under a key; ruamel's defaults where there is none."""
    import re

    mapping, offset = 2, None
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    for parent, child in zip(lines, lines[1:], strict=False):
        if not parent.rstrip().endswith(":") or parent.lstrip().startswith("- "):
            continue
        parent_indent = len(parent) - len(parent.lstrip())
        child_indent = len(child) - len(child.lstrip())
        if child_indent <= parent_indent and not child.lstrip().startswith("- "):
            continue
        if child.lstrip().startswith("- ") and offset is None:
            offset = child_indent - parent_indent
        elif re.match(r"\s*[^\s-][^:]*:", child) and child_indent > parent_indent:
            mapping = child_indent - parent_indent
            if offset is not None:
                break
    offset = 0 if offset is None else offset
    return mapping, offset + 2, offset
