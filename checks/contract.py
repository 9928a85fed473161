"""Load ODCS v3 contracts safely, with the line of every element, and validate them.

Contracts are validated against the ODCS JSON schema of their own `apiVersion` (v3.0.0, v3.0.1,
v3.0.2, v3.1.0, v3.2.0; all shipped in this package), then read as the v3.1 model the rules work on:
a v3.0.x contract is upgraded in memory (`checks.upgrade`, docs/odcs-versions.md), a v3.2 one is a
superset of v3.1 and read as it is. Then it is parsed with the `open-data-contract-standard`
pydantic model. Positions are kept so every problem can be reported as `path:line:column: message`,
which is what editors and CI annotations understand.
"""

from __future__ import annotations

import copy
import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from checks.safe_yaml import YamlRefused, parse_bounded, plain_with_positions
from checks.upgrade import Change, needs_upgrade, upgrade_tree

MAX_CONTRACT_BYTES = 1_000_000
CONTRACT_SUFFIXES = (".odcs.yaml", ".odcs.yml")
ODCS_API_VERSION = "v3.1.0"
"""The version of the model the rules work on (older contracts are upgraded to it in memory)."""
SCHEMA_VERSIONS = ("v3.0.0", "v3.0.1", "v3.0.2", "v3.1.0", "v3.2.0")
"""apiVersions validated against their own schema (`checks/odcs-json-schema-<version>.json`)."""
V2_API_VERSIONS = ("v2.2.0", "v2.2.1", "v2.2.2")
"""Allowed by the v3.x schemas' apiVersion enum: such a file is validated and read as v3.1.0."""
WARNING = "warning"
ON_VIOLATION = ("block", "quarantine", "warn")
DELIVERY_SERVER = "deliveryServer"
"""Contract customProperty naming the server the retailer delivers through (default: the first)."""
EXECUTION_ENGINE = "executionEngine"
"""Contract customProperty choosing where a retailer's pipeline runs: `polars` (in one process, the
default) or `spark` (PySpark over the same Delta tables: Sail locally, Databricks in production)."""
EXECUTION_ENGINES = ("polars", "spark")
DEFAULT_EXECUTION_ENGINE = "polars"
SERVER_HINT_KEYS = ("delimiter", "encoding")
"""Server keys the ODCS model (and datacontract-cli) know beside the JSON schema's: accepted on any
server, and read as format hints (`format_hints`)."""
SERVER_FORMATS = {"csv": "csv", "text": "text", "parquet": "parquet", "jsonl": "jsonl", "json": "jsonl",
                   "ndjson": "jsonl", "delta": "delta", "xlsx": "xlsx", "excel": "xlsx"}
"""A server's `format` -> the reader's format name (`checks.readers.FORMATS`)."""
HOLDS_DATA_BACK = ("block", "quarantine")
"""`onViolation` values whose failures keep data out of the next layer (warn only reports)."""

JsonPath = tuple[str | int, ...]


class ContractError(Exception):
    """A contract that cannot be used, located as precisely as we can."""

    def __init__(self, path: Path | str, message: str, line: int = 1, column: int = 1,
                 severity: str = "error"):
        self.path = Path(path)
        self.message = message
        self.line = line
        self.column = column
        self.severity = severity
        super().__init__(self.location_message())

    @property
    def is_error(self) -> bool:
        """False for a warning: something valid that the gates do not check (lint says so)."""
        return self.severity != WARNING

    def as_warning(self) -> ContractError:
        return ContractError(self.path, self.message, self.line, self.column, WARNING)

    def location_message(self) -> str:
        prefix = "" if self.is_error else "warning: "
        return f"{self.path}:{self.line}:{self.column}: {prefix}{self.message}"


@dataclass
class Contract:
    """One contract file: the validated ODCS model plus what we need to point at its lines."""

    path: Path
    document: dict[str, Any]
    positions: dict[JsonPath, tuple[int, int]] = field(repr=False)
    model: Any = field(repr=False)
    api_version: str = ODCS_API_VERSION
    """The `apiVersion` as written; `document` is the v3.1 reading of it."""
    upgrade: list[Change] = field(default_factory=list, repr=False)
    """The steps that upgraded a v3.0.x document in memory (empty for v3.1 and v3.2)."""

    @property
    def id(self) -> str:
        return self.document["id"]

    @property
    def version(self) -> str:
        return str(self.document["version"])

    @property
    def name(self) -> str:
        return self.document.get("name") or self.path.name.removesuffix(".odcs.yaml")

    @property
    def status(self) -> str:
        return self.document.get("status", "")

    @property
    def custom(self) -> dict[str, Any]:
        return custom_properties(self.document.get("customProperties"))

    @property
    def objects(self) -> list[dict[str, Any]]:
        return list(self.document.get("schema") or [])

    @property
    def object_names(self) -> list[str]:
        return [obj["name"] for obj in self.objects]

    def object(self, name: str) -> dict[str, Any]:
        for obj in self.objects:
            if obj["name"] == name:
                return obj
        raise ContractError(
            self.path, f"unknown object {name!r}; the contract has: {', '.join(self.object_names)}"
        )

    @property
    def execution_engine(self) -> str:
        """Where this retailer's pipeline runs (`executionEngine`, default polars); a value that
        names no engine is refused, never read as the default."""
        engine = self.custom.get(EXECUTION_ENGINE, DEFAULT_EXECUTION_ENGINE)
        if engine not in EXECUTION_ENGINES:
            raise self.error(
                f"unknown {EXECUTION_ENGINE} {engine!r}; expected one of {', '.join(EXECUTION_ENGINES)}",
                "customProperties",
            )
        return str(engine)

    @property
    def servers(self) -> list[dict[str, Any]]:
        return list(self.document.get("servers") or [])

    def server(self, name: str | None = None) -> dict[str, Any]:
        """The server called `name`; without a name the delivery server: the one the
        `deliveryServer` customProperty names, else the first. `{}` for a contract without servers;
        `ContractError` for a name that no server has."""
        wanted = name if name is not None else self.custom.get(DELIVERY_SERVER)
        if wanted is None:
            return self.servers[0] if self.servers else {}
        for server in self.servers:
            if server.get("server") == wanted:
                return server
        known = ", ".join(str(s.get("server")) for s in self.servers) or "none"
        where = ("servers",) if name is not None else ("customProperties",)
        raise self.error(f"unknown server {wanted!r}; the contract's servers: {known}", *where)

    @property
    def team(self) -> dict[str, Any]:
        team = self.document.get("team") or {}
        return {"members": team} if isinstance(team, list) else team

    @property
    def owners(self) -> list[str]:
        """E-mail addresses of the team members whose role is owner (Dagster `owners`)."""
        members = self.team.get("members") or []
        return [m["username"] for m in members if m.get("role") == "owner" and "@" in m["username"]]

    @property
    def description(self) -> str:
        description = self.document.get("description") or {}
        return "\n\n".join(description[k] for k in ("purpose", "usage", "limitations") if description.get(k))

    @property
    def sla(self) -> list[dict[str, Any]]:
        return list(self.document.get("slaProperties") or [])

    def position(self, *json_path: str | int) -> tuple[int, int]:
        """Line and column (1-based) of the deepest element of `json_path` that has a position."""
        for end in range(len(json_path), -1, -1):
            if json_path[:end] in self.positions:
                return self.positions[json_path[:end]]
        return (1, 1)

    def error(self, message: str, *json_path: str | int) -> ContractError:
        line, column = self.position(*json_path)
        return ContractError(self.path, message, line, column)

    def warning(self, message: str, *json_path: str | int) -> ContractError:
        """Something valid the gates do not check, or read in a way worth knowing (lint warning)."""
        return self.error(message, *json_path).as_warning()


def format_hints(contract: Contract, server_name: str | None = None) -> dict[str, Any]:
    """How a server of the contract delivers files, as keyword arguments of
    `checks.readers.read_batch`: the server called `server_name`, else the delivery server
    (`Contract.server`). Here, not in `checks.readers`, so that lint reads it without Polars.

    From the server's `format` and its customProperties `delimiter`, `encoding`, `decimalSeparator`,
    `sheet` and `header` (docs/onboarding.md), or its own `delimiter` and `encoding` keys (as
    datacontract-cli writes them); defaults where the contract says nothing.
    """
    server = contract.server(server_name)
    custom = {**{k: server[k] for k in SERVER_HINT_KEYS if server.get(k)},
              **custom_properties(server.get("customProperties"))}
    header = custom.get("header", True)
    return {
        "format": SERVER_FORMATS.get(str(server.get("format", "")).lower()),
        "delimiter": str(custom.get("delimiter") or ","),
        "encoding": str(custom.get("encoding") or "utf-8"),
        "decimal_separator": str(custom.get("decimalSeparator") or "."),
        "sheet": custom.get("sheet"),
        "header": header not in (False, "false", "False", 0),
    }


def custom_properties(items: Iterable[dict[str, Any]] | None) -> dict[str, Any]:
    """ODCS `customProperties` lists as a plain mapping."""
    return {item["property"]: item.get("value") for item in items or [] if "property" in item}


def entry_custom_properties(entry: Any) -> dict[str, Any]:
    """An entry's `customProperties` as a plain mapping, skipping what is malformed (lint and the
    access policy read documents the schema may not have passed)."""
    items = entry.get("customProperties") if isinstance(entry, dict) else None
    if not isinstance(items, list):
        return {}
    return custom_properties(i for i in items if isinstance(i, dict) and isinstance(i.get("property"), str))


def properties_of(obj: dict[str, Any]) -> list[dict[str, Any]]:
    return list(obj.get("properties") or [])


@cache
def odcs_json_schema(version: str = ODCS_API_VERSION) -> dict[str, Any]:
    """The ODCS JSON schema of one version, shipped with this package (`SCHEMA_VERSIONS`). The
    v3.2.0 one is the `open-data-contract-standard` package's, a later draft than the one in the
    ODCS repository's dev branch (it adds `vector` and relationship `id`)."""
    text = resources.files("checks").joinpath(f"odcs-json-schema-{version}.json").read_text("utf-8")
    return json.loads(text)


@cache
def _validator(version: str) -> Any:
    """The compiled validator of one version's schema (the draft its `$schema` declares, 2019-09 for
    all shipped ones), built once per process. `jsonschema-rs` evaluates `unevaluatedProperties` in
    time linear in the document; the backtracking `jsonschema` took minutes on a 3,000-line nested
    contract (issue 26). Formats are annotations, as the draft says, not checked."""
    import jsonschema_rs

    return jsonschema_rs.validator_for(odcs_json_schema(version), validate_formats=False)


def schema_version(api_version: Any) -> str | None:
    """The schema a document of this `apiVersion` is validated against (None: not an ODCS v3 version)."""
    if api_version in SCHEMA_VERSIONS:
        return str(api_version)
    if api_version in V2_API_VERSIONS:
        return ODCS_API_VERSION
    return None


def parse_yaml(path: Path, text: str) -> tuple[Any, dict[JsonPath, tuple[int, int]]]:
    """Parse a contract's YAML as plain values with the position of every element, with the bounds
    of `checks.safe_yaml` (libyaml's C parser where it can; the round-trip tree is built only where
    it is written back: `parse_yaml_tree`)."""
    try:
        return parse_bounded(text)
    except YamlRefused as exc:
        raise ContractError(path, exc.message, exc.line, exc.column) from None


def parse_yaml_tree(path: Path, text: str) -> Any:
    """The YAML as a ruamel round-trip tree (comments, quotes and positions kept), parsed with bounds
    (`checks.safe_yaml`: no objects constructed, core tags only, depth and expanded-size limits,
    aliases accepted)."""
    from checks.safe_yaml import load_tree

    try:
        return load_tree(text, preserve_quotes=True)  # `contracts upgrade` writes the tree back as quoted
    except YamlRefused as exc:
        raise ContractError(path, exc.message, exc.line, exc.column) from None


def schema_errors(
    path: Path, document: Any, positions: dict[JsonPath, tuple[int, int]]
) -> list[ContractError]:
    """Every violation of the ODCS JSON schema of the document's own `apiVersion`, each at the line
    of the offending element."""
    if not isinstance(document, dict):
        return [ContractError(path, "a contract must be a YAML mapping")]
    found = document.get("apiVersion")
    version = schema_version(found)
    if version is None:
        line, column = positions.get(("apiVersion",), (1, 1))
        message = (f"apiVersion must be one of {', '.join(SCHEMA_VERSIONS)} (the ODCS v3 versions); "
                   f"found {found!r}")
        return [ContractError(path, message, line, column)]
    return _schema_errors_as(version, path, document, positions)


def _schema_errors_as(version: str, path: Path, document: dict[str, Any],
                      positions: dict[JsonPath, tuple[int, int]]) -> list[ContractError]:
    errors, seen = [], set()
    for error in sorted(_validator(version).iter_errors(_without_server_hints(document)),
                        key=lambda e: list(map(str, e.instance_path))):
        if (key := (tuple(error.instance_path), error.message)) in seen:
            continue  # one violation reached through two subschemas (allOf branches) is one error
        seen.add(key)
        where = (*error.instance_path, *_unexpected_key(error))
        line, column = (1, 1)
        for end in range(len(where), -1, -1):
            if where[:end] in positions:
                line, column = positions[where[:end]]
                break
        pointer = "/".join(map(str, where)) or "(root)"
        message = f"ODCS schema ({version}): {pointer}: {_short(error)}"
        errors.append(ContractError(path, message, line, column))
    return errors


def _without_server_hints(document: dict[str, Any]) -> dict[str, Any]:
    """The document without the SERVER_HINT_KEYS of its servers, which the JSON schema does not list."""
    servers = document.get("servers")
    if not isinstance(servers, list):
        return document
    plain = [{k: v for k, v in s.items() if k not in SERVER_HINT_KEYS} if isinstance(s, dict) else s
             for s in servers]
    return {**document, "servers": plain}


@dataclass
class ReadDocument:
    """A contract file read and validated against its own version's schema, in the v3.1 reading."""

    document: Any
    positions: dict[JsonPath, tuple[int, int]]
    problems: list[ContractError]
    """Schema errors of its own version; warnings for what the v3.1 reading cannot carry."""
    api_version: str
    changes: list[Change]


READ_CACHE_SIZE = 64
"""Contract readings kept per process (the pipeline loads each contract for many assets)."""
_read_cache: OrderedDict[tuple[str, str], ReadDocument] = OrderedDict()
_read_cache_lock = threading.Lock()  # gates of one process may load contracts from several threads


def read_document(path: Path) -> ReadDocument:
    """`parse_document` of the file's current text, parsed once per content: a file read again
    with the same text (same path, same SHA-256) is not parsed again. Each caller gets its own
    copy of the document, so changing it changes no other caller's."""
    text = read_contract_text(path)
    key = (str(path), hashlib.sha256(text.encode("utf-8")).hexdigest())
    with _read_cache_lock:
        read = _read_cache.get(key)
    if read is None:
        read = parse_document(path, text)
    with _read_cache_lock:
        _read_cache[key] = read
        _read_cache.move_to_end(key)
        while len(_read_cache) > READ_CACHE_SIZE:
            _read_cache.popitem(last=False)
    return replace(read, document=copy.deepcopy(read.document), positions=dict(read.positions),
                   problems=list(read.problems), changes=list(read.changes))


def parse_document(path: Path, text: str) -> ReadDocument:
    """Parse, validate against the document's own ODCS schema, and upgrade a valid v3.0.x document
    to v3.1 (`checks.upgrade`). What the upgraded document still breaks of the v3.1 schema is a
    v3.0 construct without a v3.1 equivalent: a warning, never an error, since the file is valid."""
    document, positions = parse_yaml(path, text)
    problems = schema_errors(path, document, positions)
    api_version = str(document.get("apiVersion")) if isinstance(document, dict) else ""
    changes: list[Change] = []
    lenient = []
    if problems and needs_upgrade(api_version) and not _schema_errors_as(ODCS_API_VERSION, path, document,
                                                                          positions):
        # Written with v3.1 constructs under a v3.0 apiVersion, which the v3.1.0 schema allows.
        first = problems[0]
        message = (f"not valid against the {api_version} schema ({first.message}) but valid against the "
                   f"{ODCS_API_VERSION} one, whose apiVersion values include {api_version}: read as "
                   f"{ODCS_API_VERSION}")
        lenient = [ContractError(path, message, first.line, first.column, WARNING)]
        problems = []
    if not problems and needs_upgrade(api_version):
        tree = parse_yaml_tree(path, text)  # upgraded as the tree `contracts upgrade` writes back
        changes = upgrade_tree(tree)
        document, positions = plain_with_positions(tree)
        problems = [ContractError(p.path, f"{api_version} construct without a v3.1 equivalent "
                                  f"(kept as written, not checked): {p.message}", p.line, p.column, WARNING)
                    for p in schema_errors(path, document, positions)] + lenient
    elif not problems and api_version in V2_API_VERSIONS:
        line, column = positions.get(("apiVersion",), (1, 1))
        problems = [ContractError(path, f"apiVersion {api_version} with the ODCS v3 structure: read as "
                                  f"{ODCS_API_VERSION}", line, column, WARNING)]
    return ReadDocument(document, positions, problems, api_version, changes)


def _unexpected_key(error: Any) -> tuple[str, ...]:
    """For "... properties are not allowed" errors, the first offending key (in document order),
    to point at its line."""
    unexpected = set(getattr(error.kind, "unexpected", None) or ())
    if unexpected and isinstance(error.instance, dict):
        for key in error.instance:
            if key in unexpected:
                return (str(key),)
    return ()


def _short(error: Any) -> str:
    """The most specific message of a validation error (anyOf/oneOf errors nest the useful one in
    the errors of each branch)."""
    best = error
    while branches := [e for branch in getattr(best.kind, "context", None) or () for e in branch]:
        best = min(branches, key=lambda e: len(e.message))
    return best.message if len(best.message) < 300 else best.message[:297] + "..."


def read_contract_text(path: Path) -> str:
    """A contract file's text, refusing files over the size limit before reading them."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ContractError(path, f"cannot read contract: {exc.strerror}") from None
    if size > MAX_CONTRACT_BYTES:
        raise ContractError(path, f"contract is {size} bytes; the limit is {MAX_CONTRACT_BYTES}")
    try:
        return path.read_text("utf-8")
    except UnicodeDecodeError as exc:
        raise ContractError(path, f"contract is not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def load_contract(path: Path | str) -> Contract:
    """Read, schema-validate and parse one contract; raise `ContractError` on the first problem.

    An unknown `onViolation` is rejected here, not only by lint: read as the default it would
    silently change what a failing rule does."""
    path = Path(path)
    read = read_document(path)
    errors = [p for p in read.problems if p.is_error]
    if errors:
        raise errors[0]
    model = odcs_model(path, read.document, read.positions)
    contract = Contract(path=path, document=read.document, positions=read.positions, model=model,
                        api_version=read.api_version, upgrade=read.changes)
    for error in on_violation_errors(contract):
        raise error
    return contract


def on_violation_errors(contract: Contract) -> Iterator[ContractError]:
    """Every `onViolation` customProperty (on rules, properties, relationships) that is not one of
    ON_VIOLATION, at the line of its value."""

    def walk(node: Any, here: JsonPath) -> Iterator[ContractError]:
        if isinstance(node, dict):
            items = node.get("customProperties")
            for index, item in enumerate(items if isinstance(items, list) else []):
                if not isinstance(item, dict) or item.get("property") != "onViolation":
                    continue
                action = item.get("value")
                if action not in ON_VIOLATION:
                    expected = ", ".join(ON_VIOLATION)
                    yield contract.error(f"unknown onViolation {action!r}; expected one of {expected}",
                                         *here, "customProperties", index, "value")
            for key, value in node.items():
                yield from walk(value, (*here, key))
        elif isinstance(node, list):
            for index, value in enumerate(node):
                yield from walk(value, (*here, index))

    yield from walk(contract.document, ())


def odcs_model(path: Path, document: dict[str, Any], positions: dict[JsonPath, tuple[int, int]]) -> Any:
    """The `open-data-contract-standard` pydantic model of a schema-valid document."""
    from open_data_contract_standard.model import OpenDataContractStandard
    from pydantic import ValidationError

    try:
        return OpenDataContractStandard.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = tuple(first["loc"])
        line, column = positions.get(where, (1, 1))
        message = f"ODCS model: {'/'.join(map(str, where))}: {first['msg']}"
        raise ContractError(path, message, line, column) from None


def contract_files(paths: Iterable[Path | str]) -> Iterator[Path]:
    """Contract files under the given files or folders, in a stable order."""
    for root in map(Path, paths):
        if root.is_dir():
            yield from sorted(p for p in root.rglob("*") if p.name.endswith(CONTRACT_SUFFIXES))
        else:
            yield root
