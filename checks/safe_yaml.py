"""Parse untrusted YAML (contracts, rule snippets inside them) with bounds, constructing no objects.

The YAML event stream is checked before anything is built: a tag other than YAML's core ones
(`!!python/object`, `!custom`, …) is refused, nesting deeper than `MAX_DEPTH` is refused as soon as
it is seen (so 200k nested lists fail in about a second instead of running for minutes, and 100k
nested mappings never reach a recursive composer), and aliases are accepted — a contract dumped by
PyYAML from shared objects uses them — but counted as the nodes they expand to, so a document
larger than `MAX_NODES` once expanded (a billion-laughs bomb) is refused before it is expanded.

`parse_bounded` builds plain values and positions straight from the checked events, in one
iterative pass over libyaml's C parser (ruamel.yaml's `_ruamel_yaml`: a 3,000-line contract in
about a tenth of the time of the pure-Python event pass and round-trip load); scalars are resolved and
constructed by ruamel's round-trip resolver and constructor (YAML 1.2), as a round-trip load does.
Whatever that pass does not handle the round-trip way for certain — any error or refusal, a
duplicate key, a `%` directive, a complex key, a tag beyond the plain scalars, several documents,
no C parser — is parsed again by the reference path, `load_tree` (ruamel's pure-Python round-trip
loader after the same event check), so messages, positions and values are the ones it gives.
`load_tree` is also what keeps comments and quotes for `contracts upgrade`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

MAX_DEPTH = 64
"""Deepest nesting of mappings and lists (ODCS contracts nest about ten levels)."""
MAX_NODES = 200_000
"""Most scalars and collections in a document, aliases counted as what they expand to."""
TAG_PREFIX = "tag:yaml.org,2002:"
CORE_TAGS = frozenset(
    f"{TAG_PREFIX}{name}" for name in ("str", "int", "float", "bool", "null", "map", "seq", "timestamp")
)
_CONSTRUCTED_TAGS = frozenset(f"{TAG_PREFIX}{name}" for name in ("int", "float", "bool", "null", "timestamp"))
"""Scalar tags the fast pass constructs with ruamel's round-trip constructor (str is kept as it is)."""
_STR = f"{TAG_PREFIX}str"
_MERGE = f"{TAG_PREFIX}merge"

Position = tuple[int, int]
JsonPath = tuple[str | int, ...]


class YamlRefused(Exception):
    """YAML that cannot or may not be read; `line` and `column` are 1-based."""

    def __init__(self, message: str, line: int = 1, column: int = 1):
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


class _NotPlain(Exception):
    """Something the fast pass leaves to the reference path (`load_tree`)."""


def parse_bounded(text: str) -> tuple[Any, dict[JsonPath, Position]]:
    """The document as plain values (dict, list, str, int, float, bool, None) and the 1-based
    (line, column) of every element by its path; `YamlRefused` for invalid or hostile YAML."""
    from ruamel.yaml.error import YAMLError

    try:
        return _plain_from_c_events(text)
    except (_NotPlain, YamlRefused, YAMLError, ImportError):  # the reference path decides, in its words
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
    for _ in bounded(events):
        pass


def bounded(events: Any) -> Iterator[Any]:
    """The events, each passed on once it is known not to break a bound (see `check_events`)."""
    from ruamel.yaml.events import AliasEvent, CollectionEndEvent, CollectionStartEvent, NodeEvent

    open_nodes: list[tuple[str | None, int]] = []  # (anchor, node count when it opened)
    anchors: dict[str, int] = {}  # anchor -> nodes it expands to
    nodes = 0
    for event in events:
        if isinstance(event, CollectionEndEvent):
            anchor, opened = open_nodes.pop()
            if anchor is not None:
                anchors[anchor] = nodes - opened
            yield event
            continue
        if not isinstance(event, NodeEvent):
            yield event
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
        yield event


def _short_tag(tag: str) -> str:
    return "!!" + tag.removeprefix(TAG_PREFIX) if tag.startswith(TAG_PREFIX) else tag


# -- the fast pass: plain values and positions from libyaml's events ---------------------------------


class _Collection:
    """A mapping or list being built: its value, where its elements go in `positions`, and for a
    mapping the key waiting for its value and the mappings merged into it (`<<`)."""

    __slots__ = ("anchor", "key", "keys", "mark", "merged", "positions", "value")

    def __init__(self, value: dict | list, mark: Position, anchor: str | None):
        self.value = value
        self.mark = mark
        self.anchor = anchor
        self.key: tuple[Any, Position] | None = None
        self.merged: list[tuple[dict, dict[JsonPath, Position]]] | None = None
        self.positions: dict[JsonPath, Position] = {}
        self.keys: set[Any] = set()
        """The keys as constructed (1 and true are the same key, as in a round-trip load)."""


def _plain_from_c_events(text: str) -> tuple[Any, dict[JsonPath, Position]]:
    """`parse_bounded`'s fast pass; `_NotPlain` (or any parser error) leaves the text to `load_tree`."""
    import _ruamel_yaml
    from ruamel.yaml import YAML
    from ruamel.yaml.events import (
        AliasEvent,
        DocumentStartEvent,
        MappingStartEvent,
        ScalarEvent,
        SequenceStartEvent,
    )
    from ruamel.yaml.nodes import ScalarNode

    if any(line.startswith("%") for line in text.splitlines()):
        raise _NotPlain("a directive")
    yaml = YAML(typ="rt", pure=True)
    resolver, constructor = yaml.resolver, yaml.constructor
    parser = _ruamel_yaml.CParser(text)

    def events() -> Iterator[Any]:
        while parser.check_event():
            yield parser.get_event()

    stack: list[_Collection] = []
    anchored: dict[str, tuple[Any, dict[JsonPath, Position], Position]] = {}
    """anchor -> value, its elements' positions relative to it, its own position (an alias used as
    a list item is at the anchored node's position, as in a round-trip load)."""
    documents = 0
    root: Any = None
    root_positions: dict[JsonPath, Position] = {}

    resolved: dict[tuple[str, tuple[bool, bool]], str] = {}  # resolving is most of the pass: once per text

    def scalar(event: Any) -> Any:
        tag = event.tag
        if tag is None:
            key = (event.value, event.implicit)
            tag = resolved.get(key)
            if tag is None:
                tag = resolved[key] = str(resolver.resolve(ScalarNode, event.value, event.implicit))
        tag = str(tag)
        if tag == _STR:
            return event.value
        if tag == _MERGE and event.implicit[0]:
            return _MERGE_KEY
        if tag not in _CONSTRUCTED_TAGS:
            raise _NotPlain(f"tag {tag}")
        value = constructor.construct_object(ScalarNode(tag, event.value, event.start_mark, event.end_mark,
                                                        style=event.style), deep=True)
        return _plain(value, (), {})

    def add(value: Any, relative: dict[JsonPath, Position], mark: Position) -> None:
        """Put a finished value (and its elements' positions, relative to it) into its parent."""
        nonlocal root, root_positions
        at_key = bool(stack) and isinstance(stack[-1].value, dict) and stack[-1].key is None
        if value is _MERGE_KEY and not at_key:
            raise _NotPlain("a merge key that is not a key")
        if not stack:
            root, root_positions = value, relative
            return
        parent = stack[-1]
        if isinstance(parent.value, list):
            index = len(parent.value)
            parent.value.append(value)
            _place(parent.positions, (index,), mark, relative)
            return
        if parent.key is None:
            if isinstance(value, dict | list):
                raise _NotPlain("a complex key")
            parent.key = (value, mark)
            return
        key, key_mark = parent.key
        parent.key = None
        if key is _MERGE_KEY:
            if parent.merged is not None:
                raise _NotPlain("two merge keys")
            parent.merged = _merged(value, relative)
            return
        name = str(key)
        if key in parent.keys or name in parent.value:
            raise _NotPlain("a duplicate key")
        parent.keys.add(key)
        parent.value[name] = value
        _place(parent.positions, (name,), key_mark, relative)

    for event in bounded(events()):
        if isinstance(event, DocumentStartEvent):
            documents += 1
            if documents > 1:
                raise _NotPlain("several documents")
            continue
        mark = (event.start_mark.line + 1, event.start_mark.column + 1)
        if isinstance(event, AliasEvent):
            value, relative, anchor_mark = anchored[event.anchor]
            add(_copy(value), relative, anchor_mark)
        elif isinstance(event, ScalarEvent):
            value = scalar(event)
            if event.anchor is not None:
                anchored[event.anchor] = (value, {}, mark)
            add(value, {}, mark)
        elif isinstance(event, MappingStartEvent | SequenceStartEvent):
            expected = f"{TAG_PREFIX}{'map' if isinstance(event, MappingStartEvent) else 'seq'}"
            if event.tag is not None and str(event.tag) != expected:
                raise _NotPlain(f"tag {event.tag} on a collection")
            stack.append(_Collection({} if isinstance(event, MappingStartEvent) else [], mark, event.anchor))
        elif type(event).__name__ in ("MappingEndEvent", "SequenceEndEvent"):
            done = stack.pop()
            if done.merged:
                for merged, relative in done.merged:
                    for name, value in merged.items():
                        if name not in done.value:
                            done.value[name] = _copy(value)
                            _place(done.positions, (name,), done.mark, _under(relative, name))
            if done.anchor is not None:
                anchored[done.anchor] = (done.value, done.positions, done.mark)
            add(done.value, done.positions, done.mark)
    return root, root_positions


class _MergeKey:
    """The `<<` key of a mapping (merge the mappings it names into this one)."""


_MERGE_KEY = _MergeKey()


def _merged(value: Any, relative: dict[JsonPath, Position]) -> list[tuple[dict, dict[JsonPath, Position]]]:
    """The mappings a `<<` merges, in order of precedence: one mapping, or a list of them."""
    if isinstance(value, dict):
        return [(value, relative)]
    if isinstance(value, list) and all(isinstance(item, dict) for item in value):
        return [(item, _under(relative, index)) for index, item in enumerate(value)]
    raise _NotPlain("a merge of something other than mappings")


def _under(positions: dict[JsonPath, Position], key: str | int) -> dict[JsonPath, Position]:
    """The positions below `key`, relative to it."""
    return {path[1:]: mark for path, mark in positions.items() if len(path) > 1 and path[0] == key}


def _place(positions: dict[JsonPath, Position], here: JsonPath, mark: Position,
           relative: dict[JsonPath, Position]) -> None:
    positions[here] = mark
    for path, inner in relative.items():
        positions[(*here, *path)] = inner


def _copy(value: Any) -> Any:
    """Each place an aliased value is used gets its own copy (plain values, never shared)."""
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value


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
