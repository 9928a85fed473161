"""The asset graph, derived from the contracts alone (no Dagster imports).

One source of truth for which tables exist and what feeds what: the Dagster definitions are built
from it, and the contract review uses it to name the downstream assets and owners of a change.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from checks.contract import Contract, contract_files, custom_properties, load_contract, properties_of

CANONICAL_DIMS = ("prod_dim", "site_dim")
CANONICAL_FACTS = ("daily_store_fact", "weekly_store_fact")
CANONICAL_OBJECTS = CANONICAL_DIMS + CANONICAL_FACTS
CANONICAL_CONTRACT = Path("canonical") / "pos_canonical.odcs.yaml"
MASTER_CONTRACT = Path("canonical") / "corporate_master.odcs.yaml"


@dataclass(frozen=True)
class ColumnMapping:
    """One retailer column feeding one canonical column (from the `canonical` customProperty)."""

    retailer_object: str
    retailer_column: str
    canonical_object: str
    canonical_column: str
    transform: str | None = None


@dataclass(frozen=True)
class AssetNode:
    key: tuple[str, ...]
    layer: str
    table: str
    """Delta table name under warehouse/<layer>/."""
    object: str
    """The retailer object (bronze) or canonical object (silver, gold)."""
    contract: Contract = field(compare=False, hash=False, repr=False)
    retailer: str | None = None
    deps: tuple[tuple[str, ...], ...] = ()

    @property
    def owners(self) -> list[str]:
        return self.contract.owners


def column_mappings(contract: Contract) -> list[ColumnMapping]:
    """Every retailer column → canonical column edge of a retailer contract, in contract order."""
    mappings = []
    for obj in contract.objects:
        for prop in properties_of(obj):
            props = custom_properties(prop.get("customProperties"))
            targets = props.get("canonical") or []
            for target in [targets] if isinstance(targets, str) else targets:
                canonical_object, _, canonical_column = str(target).partition(".")
                mappings.append(
                    ColumnMapping(
                        obj["name"], prop["name"], canonical_object, canonical_column, props.get("transform")
                    )
                )
    return mappings


def fed_objects(contract: Contract) -> list[str]:
    """Canonical objects a retailer feeds in silver: the mapped ones, plus the weekly roll-up of daily."""
    mapped = {m.canonical_object for m in column_mappings(contract)}
    if "daily_store_fact" in mapped:
        mapped.add("weekly_store_fact")
    return [name for name in CANONICAL_OBJECTS if name in mapped]


def retailer_code(contract: Contract) -> str:
    return str(contract.custom["retailerCode"])


def bronze_table(code: str, object_name: str) -> str:
    return f"{code}__{object_name}"


def silver_table(code: str, canonical_object: str) -> str:
    return f"{code}__{canonical_object}"


def asset_key(layer: str, table: str) -> tuple[str, str]:
    """`<layer>/<table>`, the Delta table's path under warehouse/: a retailer's tables carry its code
    (`bronze/alp_de__sales`), because the UI's graph names a node by the last part of its key."""
    return (layer, table)


def bronze_key(code: str, object_name: str) -> tuple[str, str]:
    return asset_key("bronze", bronze_table(code, object_name))


def silver_key(code: str, canonical_object: str) -> tuple[str, str]:
    return asset_key("silver", silver_table(code, canonical_object))


def gold_key(canonical_object: str) -> tuple[str, str]:
    return asset_key("gold", canonical_object)


_LOADED: dict[tuple[Path, str], Contract] = {}


def _content_key(path: Path) -> tuple[Path, str]:
    return path.resolve(), hashlib.sha256(path.read_bytes()).hexdigest()


def cached_contract(path: Path) -> Contract:
    """`load_contract`, parsed once per file content: the definitions, the pipeline and the demo
    sources read the same contracts in one process, and parsing is most of building the graph."""
    try:
        key = _content_key(path)
    except OSError:
        return load_contract(path)  # raises its own ContractError for an unreadable file
    if key not in _LOADED:
        _LOADED[key] = load_contract(path)
    return _LOADED[key]


def contracts_fingerprint(contracts_dir: Path) -> tuple[tuple[Path, str], ...]:
    """Every contract file under `contracts_dir` with its content hash: equal when nothing changed."""
    return tuple(_content_key(p) for p in contract_files([contracts_dir]))


def load_retailer_contracts(contracts_dir: Path) -> list[Contract]:
    """Active retailer contracts under `contracts_dir/retailers`, ordered by retailer code."""
    contracts = [cached_contract(p) for p in contract_files([contracts_dir / "retailers"])]
    return sorted((c for c in contracts if c.status == "active"), key=retailer_code)


@dataclass
class PipelinePlan:
    canonical: Contract
    master: Contract
    retailers: list[Contract]
    nodes: list[AssetNode]

    def node(self, key: Iterable[str]) -> AssetNode:
        wanted = tuple(key)
        for node in self.nodes:
            if node.key == wanted:
                return node
        raise KeyError(f"no asset {'/'.join(wanted)}")

    def downstream(self, key: Iterable[str]) -> list[AssetNode]:
        """Every asset that depends, directly or not, on `key`, in plan order."""
        reached = {tuple(key)}
        changed = True
        while changed:
            changed = False
            for node in self.nodes:
                if node.key not in reached and reached.intersection(node.deps):
                    reached.add(node.key)
                    changed = True
        return [n for n in self.nodes if n.key in reached and n.key != tuple(key)]

    def retailer_nodes(self, code: str, layer: str) -> list[AssetNode]:
        return [n for n in self.nodes if n.retailer == code and n.layer == layer]


def build_plan(contracts_dir: Path) -> PipelinePlan:
    """Bronze per retailer object → silver per retailer canonical object → gold per canonical object."""
    canonical = cached_contract(contracts_dir / CANONICAL_CONTRACT)
    master = cached_contract(contracts_dir / MASTER_CONTRACT)
    retailers = load_retailer_contracts(contracts_dir)
    nodes: list[AssetNode] = []
    silver_by_object: dict[str, list[tuple[str, ...]]] = {name: [] for name in CANONICAL_OBJECTS}
    for contract in retailers:
        code = retailer_code(contract)
        mappings = column_mappings(contract)
        for obj in contract.objects:
            nodes.append(
                AssetNode(
                    bronze_key(code, obj["name"]),
                    "bronze",
                    bronze_table(code, obj["name"]),
                    obj["name"],
                    contract,
                    code,
                )
            )
        for canonical_object in fed_objects(contract):
            sources = {m.retailer_object for m in mappings if m.canonical_object == canonical_object}
            deps = [bronze_key(code, name) for name in contract.object_names if name in sources]
            if canonical_object in CANONICAL_FACTS:
                deps += [silver_key(code, dim) for dim in CANONICAL_DIMS]
            if canonical_object == "weekly_store_fact" and not sources:
                deps.append(silver_key(code, "daily_store_fact"))
            key = silver_key(code, canonical_object)
            nodes.append(
                AssetNode(
                    key,
                    "silver",
                    silver_table(code, canonical_object),
                    canonical_object,
                    canonical,
                    code,
                    tuple(deps),
                )
            )
            silver_by_object[canonical_object].append(key)
    for canonical_object in CANONICAL_OBJECTS:
        nodes.append(
            AssetNode(
                gold_key(canonical_object),
                "gold",
                canonical_object,
                canonical_object,
                canonical,
                None,
                tuple(silver_by_object[canonical_object]),
            )
        )
    return PipelinePlan(canonical, master, retailers, nodes)


def server_options(contract: Contract) -> dict:
    """The contract's server with its customProperties as plain keys (`urlEnv`, `tokenEnv`, ...)."""
    server = contract.server()
    return {**server, **custom_properties(server.get("customProperties"))}


def object_option(contract: Contract, object_name: str, name: str, default: str | None = None) -> str | None:
    """An object's customProperty (`filePattern`, `refresh`, `watermark`, ...) as text."""
    value = custom_properties(contract.object(object_name).get("customProperties")).get(name, default)
    return None if value is None else str(value)
