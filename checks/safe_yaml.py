"""Parse untrusted YAML (contracts, rule snippets inside them) with bounds, constructing no objects.

The YAML event stream is checked before anything is built: a tag other than YAML's core ones
(`!!python/object`, `!custom`, …) is refused, nesting deeper than `MAX_DEPTH` is refused as soon as
it is seen (so 200k nested lists fail in about a second instead of running for minutes, and 100k
nested mappings never reach a recursive composer), and aliases are accepted — a contract dumped by
PyYAML from shared objects uses them — but counted as the nodes they expand to, so a document
larger than `MAX_NODES` once expanded (a billion-laughs bomb) is refused before it is expanded.
Only then is the text loaded (ruamel.yaml round-trip, for the line of every element) and turned
into plain Python values.
"""

from __future__ import annotations

from typing import Any

MAX_DEPTH = 64
"""Deepest nesting of mappings and lists (ODCS contracts nest about ten levels)."""
MAX_NODES = 200_000
"""Most scalars and collections in a document, aliases counted as what they expand to."""
CORE_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null", "map", "seq", "timestamp")
)

Position = tuple[int, int]
JsonPath = tuple[str | int, ...]


class YamlRefused(Exception):
    """YAML that cannot or may not be read; `line` and `column` are 1-based."""

    def __init__(self, message: str, line: int = 1, column: int = 1):
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


def parse_bounded(text: str) -> tuple[Any, dict[JsonPath, Position]]:
    """The document as plain values (dict, list, str, int, float, bool, None) and the 1-based
    (line, column) of every element by its path; `YamlRefused` for invalid or hostile YAML."""
    return plain_with_positions(load_tree(text))


def load_tree(text: str, *, preserve_quotes: bool = False) -> Any:
    """The document as a ruamel.yaml round-trip tree, loaded only once its events pass
    `check_events`; `YamlRefused` for invalid or hostile YAML."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    yaml = YAML(typ="rt", pure=True)
    yaml.preserve_quotes = preserve_quotes
    try:
        check_events(yaml.parse(text))
        return yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise YamlRefused(f"invalid YAML: {exc.problem or exc.context}", line, column) from None
    except YAMLError as exc:
        raise YamlRefused(f"invalid YAML: {exc}") from None
    except RecursionError:
        raise YamlRefused(f"YAML nested too deeply (the limit is {MAX_DEPTH} levels)") from None


def plain_with_positions(tree: Any) -> tuple[Any, dict[JsonPath, Position]]:
    """A round-trip tree as plain Python values, and the 1-based position of every element."""
    positions: dict[JsonPath, Position] = {}
    return _plain(tree, (), positions), positions


def check_events(events: Any) -> None:
    """Refuse a stream with a non-core tag, nesting over `MAX_DEPTH` or, aliases expanded, more than
    `MAX_NODES` nodes; consume it lazily so that a refusal comes as soon as the cause is parsed."""
    from ruamel.yaml.events import AliasEvent, CollectionEndEvent, CollectionStartEvent, NodeEvent

    open_nodes: list[tuple[str | None, int]] = []  # (anchor, node count when it opened)
    anchors: dict[str, int] = {}  # anchor -> nodes it expands to
    nodes = 0
    for event in events:
        if isinstance(event, CollectionEndEvent):
            anchor, opened = open_nodes.pop()
            if anchor is not None:
                anchors[anchor] = nodes - opened
            continue
        if not isinstance(event, NodeEvent):
            continue
        where = (event.start_mark.line + 1, event.start_mark.column + 1)
        if isinstance(event, AliasEvent):
            if event.anchor not in anchors:
                raise YamlRefused(f"alias *{event.anchor} refers to no complete anchor before it", *where)
            nodes += anchors[event.anchor]
        else:
            tag = getattr(event, "tag", None)
            if tag is not None and str(tag) not in CORE_TAGS:
                raise YamlRefused(f"YAML tag {_short_tag(str(tag))} is not allowed (only plain values, "
                                  "mappings and lists)", *where)
            nodes += 1
            if isinstance(event, CollectionStartEvent):
                open_nodes.append((event.anchor, nodes - 1))
                if len(open_nodes) > MAX_DEPTH:
                    raise YamlRefused(f"YAML nested deeper than {MAX_DEPTH} levels", *where)
            elif event.anchor is not None:
                anchors[event.anchor] = 1
        if nodes > MAX_NODES:
            raise YamlRefused(f"YAML expands to more than {MAX_NODES:,} nodes (aliases counted as what they "
                              "repeat): refused", *where)


def _short_tag(tag: str) -> str:
    return "!!" + tag.removeprefix("tag:yaml.org,2002:") if tag.startswith("tag:yaml.org,2002:") else tag


def _plain(node: Any, here: JsonPath, positions: dict[JsonPath, Position]) -> Any:
    """Round-trip YAML nodes as plain Python values, recording each child's 1-based position (an
    aliased node is copied at each place it is used; a merged key has its mapping's position)."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    if isinstance(node, CommentedMap):
        plain = {}
        for key, value in node.items():
            try:
                line, column = node.lc.key(key)
            except (KeyError, TypeError):  # from a `<<` merge: no position of its own
                line, column = node.lc.line, node.lc.col
            positions[(*here, str(key))] = (line + 1, column + 1)
            plain[str(key)] = _plain(value, (*here, str(key)), positions)
        return plain
    if isinstance(node, CommentedSeq):
        items = []
        for index, value in enumerate(node):
            line, column = node.lc.item(index)
            positions[(*here, index)] = (line + 1, column + 1)
            items.append(_plain(value, (*here, index), positions))
        return items
    if isinstance(node, str):
        return str(node)
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    return str(node)
