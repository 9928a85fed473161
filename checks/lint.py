"""Lint contracts: the ODCS schema first, then what the schema cannot say about our contracts.

The schema checks the shape of a contract; this module checks its meaning before anything runs on
it: that rules and mappings point at columns that exist, that patterns compile for every engine,
that SLAs and cron deadlines parse, and that retailer identities are complete and unique. Every
problem is a `ContractError` at the line and column of the offending element, so editors and CI
annotations can point at it.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from checks.access import (
    ACTIVE_RETAILERS,
    GRANTED_TO_NOBODY,
    canonical_role_grants,
    granted_to_nobody,
    read_roles,
    role_errors,
)
from checks.contract import (
    DELIVERY_SERVER,
    EXECUTION_ENGINE,
    EXECUTION_ENGINES,
    WARNING,
    Contract,
    ContractError,
    JsonPath,
    contract_files,
    entry_custom_properties,
    format_hints,
    load_contract,
    odcs_model,
    on_violation_errors,
    read_document,
)
from checks.engines.semantics import UnsupportedDefinition, temporal_format, type_option
from checks.rules import (
    LIBRARY_METRICS,
    OPERATORS,
    ROW_LEVEL_METRICS,
    STRING_FORMATS_ANY_VALUE,
    TEMPORAL_TYPES,
    TYPE_OPTIONS,
    not_checked_reasons,
    on_violation_of,
)
from checks.sla import ONE_OFF, delivery_sla_entries, element_objects, parse_sla
from checks.sql_rules import PLACEHOLDER_NAMES

CADENCES = ("daily", "weekly", "monthly")
SHAPES = (
    "one_big_table",
    "dim_fact",
    "split_by_region",
    "many_dates",
    "per_store",
    "weekly_single_date",
    "weekly_all_days",
)
TRANSFORMS = ("cents_to_units", "negate")
REFRESH_MODES = ("full", "incremental", ONE_OFF)
LANDING_FORMATS = ("csv", "text", "parquet", "jsonl", "xlsx")
CUSTOM_ENGINES = ("soda", "greatExpectations")
RULE_UNITS = ("rows", "percent")
DECIMAL_SEPARATORS = (".", ",")
DATE_TYPES = ("date", "timestamp", "time")
RETAILER_PROPERTIES = (
    "retailerCode",
    "secureGroupKey",
    "dataProviderCode",
    "country",
    "currency",
    "timezone",
    "cadence",
    "shape",
)
UNIQUE_RETAILER_PROPERTIES = ("retailerCode", "secureGroupKey", "dataProviderCode")
# Canonical columns the pipeline fills itself: a retailer column must never be mapped to them.
DERIVED_COLUMNS = frozenset(
    {
        "retailer_code",
        "product_sk",
        "site_sk",
        "valid_from",
        "valid_to",
        "is_current",
        "secure_group_key",
        "data_provider_code",
        "ingested_at",
        "delivery_id",
        "extra_attributes",
        "corp_product_id",
        "corp_brand",
        "corp_category",
        "corp_site_id",
        "corp_channel",
    }
)
# Required canonical columns with a default when no retailer column feeds them: currency and country
# from the contract's customProperties, updated_at from the delivery time.
DEFAULTED_COLUMNS = frozenset({"currency", "country", "updated_at"})
RETAILER_CODE = re.compile(r"[a-z]{3}_[a-z]{2}")
COUNTRY_CODE = re.compile(r"[A-Z]{2}")
CURRENCY_CODE = re.compile(r"[A-Z]{3}")
RETAILER_ID_PREFIX = "urn:shelfguard:retailer:"


class Canonical:
    """What retailer contracts are checked against: canonical columns, and the groups the canonical
    roles grant secure group keys to (by list, or by rule to every active retailer)."""

    def __init__(self, contracts: list[Contract]):
        self.columns: dict[str, dict[str, dict[str, Any]]] = {}
        self.key_grants: dict[str, list[str]] = {}
        self.rule_groups: list[str] = []
        for contract in contracts:
            if contract.custom.get("layer") != "canonical":
                continue
            for obj in contract.objects:
                self.columns[obj["name"]] = {p["name"]: p for p in obj.get("properties") or []}
            for grant in canonical_role_grants(contract):
                for key in grant.keys:
                    self.key_grants.setdefault(key, []).append(grant.group)
                if grant.rule == ACTIVE_RETAILERS:
                    self.rule_groups.append(grant.group)

    def required_from_retailer(self, object_name: str) -> list[str]:
        """Required columns of a canonical object that only a retailer column can fill."""
        return [
            name
            for name, prop in self.columns.get(object_name, {}).items()
            if prop.get("required") and name not in DERIVED_COLUMNS | DEFAULTED_COLUMNS
        ]


def lint_paths(paths: list[Path], canonical_dir: Path | None = None, *,
               with_warnings: bool = False) -> list[ContractError]:
    """Every problem in the contracts under `paths`, sorted by file and position; with
    `with_warnings` also the warnings (`ContractError.is_error` false): what a valid contract says
    that the gates do not check, and how an older apiVersion was read.

    Mappings are checked against the canonical contracts in `canonical_dir`; by default the
    `canonical` folder beside the `retailers` folder a contract lives in (so a checkout of another
    revision is linted against its own canonical model), else this project's `contracts/canonical`.
    """
    problems: list[ContractError] = []
    contracts: list[Contract] = []
    schema_valid: dict[Path, bool] = {}
    for path in contract_files(paths):
        contract, file_problems = _lint_file(path)
        problems.extend(file_problems)
        if contract is not None:
            contracts.append(contract)
            schema_valid[path] = not any(p.is_error for p in file_problems)
            problems.extend(_run(CONTRACT_CHECKS, contract, (), tolerant=not schema_valid[path]))
    canonical_cache: dict[Path, Canonical] = {}
    linted = {c.path.resolve(): c for c in contracts if c.model is not None}
    for contract in contracts:
        if _is_retailer(contract):
            where = (canonical_dir or _canonical_dir_for(contract.path)).resolve()
            if where not in canonical_cache:
                canonical_cache[where] = _load_canonical(where, linted, problems)
            problems.extend(
                _run(
                    RETAILER_CHECKS,
                    contract,
                    (canonical_cache[where],),
                    tolerant=not schema_valid[contract.path],
                )
            )
    problems.extend(_uniqueness_errors(contracts))
    return _sorted_unique(p for p in problems if with_warnings or p.is_error)


def _lint_file(path: Path) -> tuple[Contract | None, list[ContractError]]:
    """The file read safely, with its schema errors (all of them) or else its model error."""
    try:
        read = read_document(path)
    except ContractError as exc:
        return None, [exc]
    problems = list(read.problems)
    if not isinstance(read.document, dict):
        return None, problems
    model = None
    if not any(p.is_error for p in problems):
        try:
            model = odcs_model(path, read.document, read.positions)
        except ContractError as exc:
            problems.append(exc)
    contract = Contract(path=path, document=read.document, positions=read.positions, model=model,
                        api_version=read.api_version, upgrade=read.changes)
    if read.changes:
        problems.append(contract.warning(f"apiVersion {read.api_version} read as v3.1.0: "
                                         f"{len(read.changes)} change(s) in memory (docs/odcs-versions.md); "
                                         "`shelfguard contracts upgrade` writes them", "apiVersion"))
    return contract, problems


def _run(
    checks: Iterable[Any], contract: Contract, args: tuple[Any, ...], *, tolerant: bool
) -> list[ContractError]:
    """Run meaning checks. A document the schema rejected may be too broken for one of them; that
    check is then skipped (the schema errors already say what is wrong) instead of failing the lint."""
    problems: list[ContractError] = []
    for check in checks:
        try:
            problems.extend(check(contract, *args))
        except (KeyError, TypeError, AttributeError, ValueError):
            if not tolerant:
                raise
    return problems


def _is_retailer(contract: Contract) -> bool:
    custom = entry_custom_properties(contract.document)
    return "retailers" in contract.path.parts[:-1] or "retailerCode" in custom


def _canonical_dir_for(path: Path) -> Path:
    parents = path.resolve().parents
    for parent in parents:
        if parent.name == "retailers" and (parent.parent / "canonical").is_dir():
            return parent.parent / "canonical"
    return Path(__file__).resolve().parents[1] / "contracts" / "canonical"


def _load_canonical(folder: Path, linted: dict[Path, Contract], problems: list[ContractError]) -> Canonical:
    """The canonical contracts in `folder`, reusing those just linted (YAML parsing is the slow part)."""
    contracts = []
    for path in contract_files([folder]) if folder.is_dir() else []:
        try:
            contracts.append(linted.get(path.resolve()) or load_contract(path))
        except ContractError as exc:
            problems.append(exc)
    if not contracts:
        problems.append(ContractError(folder, "no canonical contracts found to check mappings against"))
    return Canonical(contracts)


def _sorted_unique(problems: Iterable[ContractError]) -> list[ContractError]:
    unique = {p.location_message(): p for p in problems}
    return sorted(unique.values(), key=lambda p: (str(p.path), p.line, p.column, p.message))


# --- helpers over the plain document -----------------------------------------------------------------


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _custom_path(entry: dict[str, Any], name: str, *base: str | int) -> JsonPath:
    """JSON path of the `value` of customProperty `name` of `entry` (found at `base`)."""
    for index, item in enumerate(_list(entry.get("customProperties"))):
        if isinstance(item, dict) and item.get("property") == name:
            return (*base, "customProperties", index, "value")
    return (*base, "customProperties")


def _objects(contract: Contract) -> Iterator[tuple[int, dict[str, Any]]]:
    for index, obj in enumerate(_list(contract.document.get("schema"))):
        if isinstance(obj, dict):
            yield index, obj


def _properties(obj: dict[str, Any]) -> Iterator[tuple[int, dict[str, Any]]]:
    for index, prop in enumerate(_list(obj.get("properties"))):
        if isinstance(prop, dict):
            yield index, prop


def _property_names(obj: dict[str, Any]) -> set[str]:
    return {str(prop.get("name")) for _, prop in _properties(obj)}


HERE, ELSEWHERE, MISSING = "here", "elsewhere", "missing"


def _resolution(contract: Contract, reference: str) -> str:
    """Where `object.property` (shorthand) or `schema/<object>/properties/<property>` is: HERE,
    ELSEWHERE (an object this contract does not have, or another file: valid ODCS, resolved by the
    caller) or MISSING (this contract's object has no such property, or the reference is malformed)."""
    if "#" in reference:
        return ELSEWHERE
    parts = reference.strip("/").split("/")
    objects = [obj for _, obj in _objects(contract)]
    if len(parts) == 4 and parts[0] == "schema" and parts[2] == "properties":
        object_name = parts[1]
    elif len(parts) == 1 and reference.count(".") == 1:
        object_name = reference.split(".")[0]
    elif len(parts) == 1 and "." not in reference and any(reference == obj.get("name") for obj in objects):
        return HERE  # an object (an SLA element may name one)
    elif len(parts) == 1 and "." not in reference and len(objects) == 1:
        return HERE if _resolves(contract, reference) else MISSING
    else:
        return MISSING
    if not any(object_name in (obj.get("name"), obj.get("id")) for obj in objects):
        return ELSEWHERE
    return HERE if _resolves(contract, reference) else MISSING


def _resolves(contract: Contract, reference: str) -> bool:
    """Whether `object.property` (shorthand) or `schema/<object>/properties/<property>` exists here."""
    if "#" in reference:
        return True  # a reference into another file is not ours to resolve
    parts = reference.strip("/").split("/")
    objects = [obj for _, obj in _objects(contract)]
    if len(parts) == 4 and parts[0] == "schema" and parts[2] == "properties":
        object_name, property_name = parts[1], parts[3]
    elif len(parts) == 1 and reference.count(".") == 1:
        object_name, property_name = reference.split(".")
    elif len(parts) == 1 and "." not in reference and len(objects) == 1:
        object_name, property_name = objects[0].get("name"), reference  # the one object's property
    else:
        return False
    for _, obj in _objects(contract):
        if object_name in (obj.get("name"), obj.get("id")):
            return any(property_name in (p.get("name"), p.get("id")) for _, p in _properties(obj))
    return False


def _regex_error(pattern: Any) -> str | None:
    """Why a pattern is unusable: the gates run it, anchored, in linear-time regex engines (Rust
    regex in Polars, RE2 in DuckDB); a pattern they refuse (look-around, back-references) would
    block every batch."""
    from checks.engines.duckdb_sql import checked_pattern

    if not isinstance(pattern, str):
        return "a pattern must be a string"
    try:
        checked_pattern(pattern)
    except UnsupportedDefinition as exc:
        return str(exc)
    return None


# --- checks of one contract --------------------------------------------------------------------------


def _quality_rules(
    contract: Contract,
) -> Iterator[tuple[dict[str, Any], dict[str, Any], str | None, JsonPath]]:
    """(object, rule, property name or None, path of the rule) for every quality rule."""
    for i, obj in _objects(contract):
        for j, prop in _properties(obj):
            for k, rule in enumerate(_list(prop.get("quality"))):
                if isinstance(rule, dict):
                    yield obj, rule, prop.get("name"), ("schema", i, "properties", j, "quality", k)
        for k, rule in enumerate(_list(obj.get("quality"))):
            if isinstance(rule, dict):
                yield obj, rule, None, ("schema", i, "quality", k)


def _quality_errors(contract: Contract) -> Iterator[ContractError]:
    for obj, rule, property_name, here in _quality_rules(contract):
        kind = rule.get("type", "library")
        name = rule.get("id") or rule.get("name") or f"{kind} rule"
        if kind in ("library", "sql"):
            operators = [op for op in OPERATORS if op in rule]
            if len(operators) != 1:
                found = ", ".join(operators) or "none"
                yield _fails_closed(contract, rule,
                                    f"rule {name}: a {kind} rule needs exactly one operator "
                                    f"({', '.join(OPERATORS)}); found {found}", *here)
        if kind == "library":
            yield from _library_rule_errors(contract, obj, rule, name, here)
        elif kind == "sql":
            yield from _sql_rule_errors(contract, rule, name, property_name, here)
        elif kind == "custom" and rule.get("engine") not in CUSTOM_ENGINES:
            yield _fails_closed(contract, rule,
                                f"rule {name}: engine {rule.get('engine')!r} cannot be run here "
                                f"(shelfguard runs {', '.join(CUSTOM_ENGINES)})", *here, "engine")
        action = entry_custom_properties(rule).get("onViolation")
        metric = rule.get("metric") or rule.get("rule")
        if action == "quarantine" and not (kind == "library" and metric in ROW_LEVEL_METRICS):
            yield contract.error(
                f"rule {name}: onViolation quarantine needs a row-level rule "
                f"({', '.join(sorted(ROW_LEVEL_METRICS))}); use block or warn",
                *_custom_path(rule, "onViolation", *here),
            )


def _library_rule_errors(
    contract: Contract, obj: dict[str, Any], rule: dict[str, Any], name: str, here: JsonPath
) -> Iterator[ContractError]:
    metric = rule.get("metric") or rule.get("rule")
    if metric not in LIBRARY_METRICS:
        at = "metric" if "metric" in rule else "rule"
        yield _fails_closed(contract, rule, f"rule {name}: unknown metric {metric!r} "
                            f"(known: {', '.join(LIBRARY_METRICS)})", *here, at)
    if "unit" in rule and rule["unit"] not in RULE_UNITS:
        yield contract.warning(
            f"rule {name}: unit {rule['unit']!r} is not rows or percent; the gate counts rows", *here, "unit"
        )
    arguments = rule.get("arguments") if isinstance(rule.get("arguments"), dict) else {}
    known = _property_names(obj)
    for n, column in enumerate(_list(arguments.get("properties"))):
        if not isinstance(column, str) or column not in known:
            yield contract.error(
                f"rule {name}: unknown property {column!r} in object {obj.get('name')!r}",
                *here,
                "arguments",
                "properties",
                n,
            )
    if "pattern" in arguments:
        reason = _regex_error(arguments["pattern"])
        if reason:
            yield _fails_closed(contract, rule, f"rule {name}: {reason}", *here, "arguments", "pattern")
    if metric == "invalidValues" and "pattern" not in arguments and "validValues" not in arguments:
        yield _fails_closed(contract, rule, f"rule {name}: invalidValues needs arguments.validValues "
                            "or arguments.pattern", *here)


def _sql_rule_errors(
    contract: Contract, rule: dict[str, Any], name: str, property_name: str | None, here: JsonPath
) -> Iterator[ContractError]:
    for placeholder in re.findall(r"\{(\w*)\}", str(rule.get("query", ""))):
        if placeholder not in PLACEHOLDER_NAMES:
            known = ", ".join("{" + p + "}" for p in PLACEHOLDER_NAMES)
            yield _fails_closed(contract, rule, f"rule {name}: unknown placeholder {{{placeholder}}} in "
                                f"query (known: {known})", *here, "query")
        elif PLACEHOLDER_NAMES[placeholder] == "property" and property_name is None:
            yield _fails_closed(contract, rule, f"rule {name}: {{{placeholder}}} is only defined for rules "
                                "on a property, not for rules on an object", *here, "query")


def _fails_closed(contract: Contract, entry: dict[str, Any], message: str, *here: str | int) -> ContractError:
    """A warning for a valid rule the gates cannot evaluate: what the gate then does with it."""
    effect = "makes the verdict warn" if on_violation_of(entry) == "warn" else "blocks every batch"
    return contract.warning(f"{message}; the gate reports it not_evaluated, which {effect}", *here)


def _not_checked_warnings(contract: Contract) -> Iterator[ContractError]:
    """What a property says that the gates do not check (the same reasons as the gate's
    `notChecked` rules)."""
    for i, obj in _objects(contract):
        for j, prop in _properties(obj):
            for suffix, reason in not_checked_reasons(prop):
                nested = "properties" if prop.get("properties") else "items"
                at = "logicalType" if suffix == "type" else nested
                yield contract.warning(f"property {prop.get('name')!r}: {reason}",
                                       "schema", i, "properties", j, at)


def _relationship_errors(contract: Contract) -> Iterator[ContractError]:
    for i, obj in _objects(contract):
        for j, prop in _properties(obj):
            for k, relationship in enumerate(_list(prop.get("relationships"))):
                if isinstance(relationship, dict):
                    yield from _reference_errors(
                        contract, relationship, "to", ("schema", i, "properties", j, "relationships", k)
                    )
        for k, relationship in enumerate(_list(obj.get("relationships"))):
            if isinstance(relationship, dict):
                here = ("schema", i, "relationships", k)
                for end in ("from", "to"):
                    yield from _reference_errors(contract, relationship, end, here)
                widths = [len(v) if isinstance(v, list) else 1 for v in map(relationship.get, ("from", "to"))]
                if widths[0] != widths[1]:
                    yield contract.error(f"relationship from {widths[0]} column(s) to {widths[1]}: "
                                         "a composite key has as many columns at both ends", *here)


def _reference_errors(
    contract: Contract, relationship: dict[str, Any], end: str, here: JsonPath
) -> Iterator[ContractError]:
    targets = relationship.get(end)
    for n, target in enumerate(targets if isinstance(targets, list) else [targets]):
        if not isinstance(target, str):
            continue
        where = (*here, end, n) if isinstance(targets, list) else (*here, end)
        found = _resolution(contract, target)
        if found == MISSING:
            yield contract.error(f"relationship {end} {target!r}: no such property in this contract", *where)
        elif found == ELSEWHERE and end == "to":
            local = target.rpartition("#")[2].strip("/")
            table = local.split("/")[1] if "/" in local else local.split(".")[0]
            yield contract.warning(f"relationship to {target!r}: an object of another contract; the gate "
                                   f"checks it when given the table (`--reference {table}=PATH`), else "
                                   "lists it not_evaluated", *where)


def _object_sla_errors(contract: Contract, delivery: list[tuple[int, dict]]) -> Iterator[ContractError]:
    """Every freshness or latency SLA as the freshness sensor reads it (the first is the contract's,
    one whose `element` names an object is that object's own), one per object, none on a one-off."""
    owner: dict[str, int] = {}
    for i, entry in delivery:
        try:
            parse_sla(contract, i, entry)
        except ContractError as exc:
            yield exc
        for name in sorted(element_objects(contract, entry)):
            if name not in contract.object_names:
                continue  # an unknown element is reported below with the other element references
            if entry_custom_properties(contract.object(name)).get("refresh") == ONE_OFF:
                yield contract.error(
                    f"SLA for {name!r}: the object is delivered once (refresh: {ONE_OFF}) and is never "
                    "late; drop this SLA or the refresh", "slaProperties", i, "element")
            elif name in owner:
                first = f"slaProperties[{owner[name]}]"
                yield contract.error(f"second SLA for {name!r}: {first} already judges it",
                                     "slaProperties", i, "element")
            else:
                owner[name] = i


def _sla_errors(contract: Contract) -> Iterator[ContractError]:
    """The delivery SLA exactly as the freshness sensor reads it (`checks.sla`), then the cron
    schedules of the other SLA entries and every `element` reference."""
    from croniter import croniter

    delivery = delivery_sla_entries(contract)
    ours = _is_retailer(contract) or "layer" in entry_custom_properties(contract.document)
    for problem in _object_sla_errors(contract, delivery):
        # Our pipeline's contracts need an SLA the freshness sensor can judge; any other valid
        # contract is only told that this one is not judged.
        yield problem if ours else ContractError(
            problem.path, f"{problem.message}; the freshness sensor does not judge this SLA", problem.line,
            problem.column, WARNING)
    entries = [
        (i, sla)
        for i, sla in enumerate(_list(contract.document.get("slaProperties")))
        if isinstance(sla, dict)
    ]
    for i, sla in entries:
        here = ("slaProperties", i)
        schedule = sla.get("schedule")
        if (
            i not in dict(delivery)
            and schedule is not None
            and sla.get("scheduler", "cron") == "cron"
            and not (isinstance(schedule, str) and croniter.is_valid(schedule))
        ):
            yield contract.error(
                f"SLA schedule {schedule!r} is not a valid cron expression", *here, "schedule"
            )
        for element in str(sla.get("element") or "").split(","):
            found = _resolution(contract, element.strip()) if element.strip() else HERE
            if found == ELSEWHERE:
                yield contract.warning(f"SLA element {element.strip()!r}: not an object of this contract; "
                                       "the SLA is read for the contract as a whole", *here, "element")
            elif found == MISSING:
                yield contract.error(
                    f"SLA element {element.strip()!r}: no such property in this contract", *here, "element"
                )


def _date_format_errors(contract: Contract) -> Iterator[ContractError]:
    """Date, timestamp and time formats the gates cannot judge (`checks.formats`, the one
    translation of JDK patterns): valid ODCS, so a warning; the type rule then fails closed."""
    for i, obj in _objects(contract):
        for j, prop in _properties(obj):
            here = ("schema", i, "properties", j)
            logical_type = prop.get("logicalType")
            options = prop.get("logicalTypeOptions")
            if logical_type in DATE_TYPES and isinstance(options, dict) and "format" in options:
                try:
                    temporal_format(logical_type, str(options["format"]))
                except UnsupportedDefinition as exc:
                    yield _fails_closed(contract, prop, f"property {prop.get('name')!r}: {exc}",
                                        *here, "logicalTypeOptions", "format")


def _physical_name_warnings(contract: Contract) -> Iterator[ContractError]:
    """A `physicalName` that is another property's name or physicalName: a delivered column of that
    name is then read as the property whose name it is (checks.readers.with_logical_names)."""
    for i, obj in _objects(contract):
        names = {prop.get("name") for _, prop in _properties(obj)}
        seen: dict[str, str] = {}
        for j, prop in _properties(obj):
            physical = prop.get("physicalName")
            if not isinstance(physical, str) or physical == prop.get("name"):
                continue
            here = ("schema", i, "properties", j, "physicalName")
            if physical in names:
                yield contract.warning(f"property {prop.get('name')!r}: physicalName {physical!r} is the "
                                       "name of another property; a column of that name is that property",
                                       *here)
            elif physical in seen:
                yield contract.warning(f"property {prop.get('name')!r}: physicalName {physical!r} is also "
                                       f"{seen[physical]!r}'s; a column of that name is read as one of them "
                                       "only", *here)
            seen.setdefault(physical, str(prop.get("name")))


READING_OPTIONS = ("timezone", "defaultTimezone")
"""Timestamp and time options that say how values are read, not which are valid."""


def _type_option_warnings(contract: Contract) -> Iterator[ContractError]:
    """logicalTypeOptions the gates cannot check as written (an unknown string format, a pattern
    the linear-time engines refuse, a date bound in no known format), and array or object options
    on a delivery whose format carries no arrays or objects (CSV): each rule `<property>_<option>`
    is then not evaluated and fails closed."""
    try:
        delivered_as_text = format_hints(contract)["format"] in ("csv", "text", "xlsx")
    except ContractError:
        delivered_as_text = False  # an unknown deliveryServer is reported by the server checks
    for i, obj in _objects(contract):
        for j, prop in _properties(obj):
            logical_type, options = prop.get("logicalType"), prop.get("logicalTypeOptions")
            if not isinstance(options, dict) or logical_type not in TYPE_OPTIONS:
                continue
            fmt = options.get("format") if logical_type in TEMPORAL_TYPES else None
            for name, value in options.items():
                here = ("schema", i, "properties", j, "logicalTypeOptions", name)
                if name in READING_OPTIONS and logical_type in TEMPORAL_TYPES:
                    yield contract.warning(f"property {prop.get('name')!r}: logicalTypeOptions.{name} is not "
                                           "checked by the gates (it says how values are read; silver reads "
                                           "values without an offset in the retailer's timezone)", *here)
                if name not in TYPE_OPTIONS[logical_type] or (name == "format" and fmt is not None):
                    continue
                if logical_type == "string" and name == "format" and value in STRING_FORMATS_ANY_VALUE:
                    continue
                try:
                    option = type_option(str(logical_type), name, value,
                                         None if fmt is None else str(fmt))
                    reason = _regex_error(option.pattern) if option.pattern is not None else None
                except UnsupportedDefinition as exc:
                    reason = str(exc)
                if reason is None and logical_type in ("array", "object") and delivered_as_text:
                    reason = (f"{name}: the delivery format ({format_hints(contract)['format']}) carries no "
                              f"{logical_type}s, only text")
                if reason:
                    yield _fails_closed(contract, prop, f"property {prop.get('name')!r}: {reason}", *here)


def _between_readings(contract: Contract) -> Iterator[ContractError]:
    """Which reading of `mustBeBetween` applies: ODCS's text calls it the equivalent of
    mustBeGreaterThan and mustBeLessThan (bounds excluded), its table writes ∈ [a, b]; the gates,
    like datacontract-cli, include both bounds (docs/gates.md)."""
    for _, rule, _, here in _quality_rules(contract):
        name = rule.get("id") or rule.get("name") or rule.get("metric") or "rule"
        for operator in ("mustBeBetween", "mustNotBeBetween"):
            bounds = rule.get(operator)
            if not (isinstance(bounds, list) and len(bounds) == 2):
                continue
            low, high = bounds
            reading = f"{low} ≤ value ≤ {high}" if operator == "mustBeBetween" else \
                f"value < {low} or value > {high}"
            yield contract.warning(
                f"rule {name}: {operator} [{low}, {high}] is read with both bounds included ({reading}), "
                "as ODCS's table (∈) and datacontract-cli read it, not as its text's "
                "mustBeGreaterThan/mustBeLessThan", *here, operator)


# --- retailer contracts ------------------------------------------------------------------------------


def _identity_errors(contract: Contract, canonical: Canonical) -> Iterator[ContractError]:
    document = contract.document
    identity = _identity(contract)
    for name in RETAILER_PROPERTIES:
        if name not in identity:
            yield contract.error(
                f"retailer contract needs customProperty {name} (a string)", "customProperties"
            )

    def at(name: str) -> JsonPath:
        return _custom_path(document, name)

    code = identity.get("retailerCode")
    if code is not None:
        folder = contract.path.resolve().parent.name
        if not RETAILER_CODE.fullmatch(code):
            yield contract.error(
                f"retailerCode {code!r} must be three letters, '_' and a country code (e.g. alp_de)",
                *at("retailerCode"),
            )
        if code != folder:
            yield contract.error(
                f"retailerCode {code!r} must equal the contract's folder name {folder!r}", *at("retailerCode")
            )
        if document.get("id") != f"{RETAILER_ID_PREFIX}{code}":
            yield contract.error(f"id must be {RETAILER_ID_PREFIX}{code}", "id")
    checks = (
        ("cadence", lambda v: v in CADENCES, f"expected one of {', '.join(CADENCES)}"),
        ("shape", lambda v: v in SHAPES, f"expected one of {', '.join(SHAPES)}"),
        ("timezone", _is_time_zone, "expected an IANA time zone such as Europe/Berlin"),
        ("country", COUNTRY_CODE.fullmatch, "expected an ISO 3166-1 alpha-2 code"),
        ("currency", CURRENCY_CODE.fullmatch, "expected an ISO 4217 code"),
    )
    for name, is_valid, expected in checks:
        if name in identity and not is_valid(identity[name]):
            yield contract.error(f"unknown {name} {identity[name]!r}; {expected}", *at(name))
    custom = entry_custom_properties(document)
    engine = custom.get(EXECUTION_ENGINE)
    if EXECUTION_ENGINE in custom and engine not in EXECUTION_ENGINES:
        yield contract.error(
            f"unknown {EXECUTION_ENGINE} {engine!r}; expected one of {', '.join(EXECUTION_ENGINES)} "
            "(docs/spark-pipeline.md)",
            *at(EXECUTION_ENGINE),
        )


def _grant_errors(contract: Contract, canonical: Canonical) -> Iterator[ContractError]:
    """The retailer's secure group key is granted to some group, or explicitly to nobody (docs/access.md)."""
    key = _identity(contract).get("secureGroupKey")
    if not key or not canonical.columns:
        return
    at = _custom_path(contract.document, "secureGroupKey")
    own = [role["role"] for _, role in read_roles(contract.document)]
    listed = canonical.key_grants.get(key, [])
    by_rule = canonical.rule_groups if contract.status == "active" else []
    nobody = entry_custom_properties(contract.document).get(GRANTED_TO_NOBODY)
    if nobody is not None and not isinstance(nobody, bool):
        yield contract.error(f"{GRANTED_TO_NOBODY} must be true or false",
                             *_custom_path(contract.document, GRANTED_TO_NOBODY))
    if granted_to_nobody(contract):
        for group in [*own, *listed]:
            yield contract.error(
                f"{GRANTED_TO_NOBODY} is true but {key!r} is granted to {group!r}; remove the grant or "
                f"{GRANTED_TO_NOBODY}",
                *_custom_path(contract.document, GRANTED_TO_NOBODY),
            )
    elif not (own or listed or by_rule):
        yield contract.error(
            f"secureGroupKey {key!r} is granted to no group: add a role to this contract "
            "(roles: [{role: <group>, access: read}] reads it as owner), or say "
            f"customProperty {GRANTED_TO_NOBODY}: true",
            *at,
        )


def _role_errors(contract: Contract) -> Iterator[ContractError]:
    for message, here in role_errors(contract.document, canonical=not _is_retailer(contract)):
        yield contract.error(message, *here)


def _identity(contract: Contract) -> dict[str, str]:
    """The retailer's identity customProperties that are set to a non-empty string."""
    custom = entry_custom_properties(contract.document)
    return {
        name: custom[name]
        for name in RETAILER_PROPERTIES
        if isinstance(custom.get(name), str) and custom[name]
    }


def _is_time_zone(name: Any) -> bool:
    try:
        ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _server_errors(contract: Contract, canonical: Canonical) -> Iterator[ContractError]:
    servers = _list(contract.document.get("servers"))
    if not servers:
        yield contract.error("a retailer contract needs a server (how the retailer delivers)",
                             "customProperties")
    delivery = entry_custom_properties(contract.document).get(DELIVERY_SERVER)
    names = [server.get("server") for server in servers if isinstance(server, dict)]
    if delivery is not None and delivery not in names:
        yield contract.error(f"{DELIVERY_SERVER} {delivery!r} is not a server of this contract; servers: "
                             f"{', '.join(map(str, names))}",
                             *_custom_path(contract.document, DELIVERY_SERVER))
    for i, server in enumerate(servers):
        here = ("servers", i)
        custom = entry_custom_properties(server)
        kind = server.get("type")
        if kind == "local" and server.get("format") not in LANDING_FORMATS:
            yield contract.error(
                f"unknown landing format {server.get('format')!r}; expected one of "
                f"{', '.join(LANDING_FORMATS)}",
                *here,
                "format",
            )
        elif kind == "custom":
            if server.get("format") != "sql":
                yield contract.error("a retailer database server has format: sql", *here, "format")
            if not custom.get("urlEnv"):
                yield contract.error("a retailer database server needs customProperty urlEnv", *here)
        elif kind == "api" and not custom.get("tokenEnv"):
            yield contract.error("a retailer API server needs customProperty tokenEnv", *here)
        elif kind not in ("local", "custom", "api"):
            yield contract.error(
                f"unsupported server type {kind!r}; expected local, custom or api", *here, "type"
            )
        if "encoding" in custom:
            try:
                codecs.lookup(str(custom["encoding"]))
            except LookupError:
                yield contract.error(
                    f"unknown encoding {custom['encoding']!r}", *_custom_path(server, "encoding", *here)
                )
        if "decimalSeparator" in custom and custom["decimalSeparator"] not in DECIMAL_SEPARATORS:
            yield contract.error(
                "decimalSeparator must be '.' or ','", *_custom_path(server, "decimalSeparator", *here)
            )
        if "delimiter" in custom and len(str(custom["delimiter"])) != 1:
            yield contract.error("delimiter must be one character", *_custom_path(server, "delimiter", *here))


def _object_errors(contract: Contract, canonical: Canonical) -> Iterator[ContractError]:
    for i, obj in _objects(contract):
        here = ("schema", i)
        custom = entry_custom_properties(obj)
        if "refresh" in custom and custom["refresh"] not in REFRESH_MODES:
            yield contract.error(
                f"unknown refresh {custom['refresh']!r}; expected {', '.join(REFRESH_MODES)}",
                *_custom_path(obj, "refresh", *here),
            )
        watermark = custom.get("watermark")
        if "watermark" in custom and (
            not isinstance(watermark, str) or watermark not in _property_names(obj)
        ):
            yield contract.error(
                f"watermark {watermark!r} is not a property of object {obj.get('name')!r}",
                *_custom_path(obj, "watermark", *here),
            )
        if "periodPattern" in custom:
            at = _custom_path(obj, "periodPattern", *here)
            try:
                groups = re.compile(str(custom["periodPattern"])).groupindex
            except re.error as exc:
                yield contract.error(f"periodPattern is not a valid regular expression: {exc}", *at)
            else:
                if "period" not in groups:
                    yield contract.error("periodPattern needs a named group (?P<period>...)", *at)
        for j, prop in _properties(obj):
            transform = entry_custom_properties(prop).get("transform")
            if transform is not None and transform not in TRANSFORMS:
                yield contract.error(
                    f"unknown transform {transform!r}; expected one of {', '.join(TRANSFORMS)}",
                    *_custom_path(prop, "transform", *here, "properties", j),
                )


def _mapping_errors(contract: Contract, canonical: Canonical) -> Iterator[ContractError]:
    """`canonical` mappings point at canonical columns the pipeline does not fill itself, once each."""
    for i, obj in _objects(contract):
        fed: dict[str, set[str]] = {}
        seen: dict[str, str] = {}
        for j, prop in _properties(obj):
            if "canonical" not in entry_custom_properties(prop):
                continue
            at = _custom_path(prop, "canonical", "schema", i, "properties", j)
            targets = entry_custom_properties(prop)["canonical"]
            if not isinstance(targets, list) or not all(isinstance(t, str) for t in targets):
                yield contract.error("canonical must be a list of <canonical object>.<column>", *at)
                continue
            for n, target in enumerate(targets):
                object_name, _, column = target.partition(".")
                if column not in canonical.columns.get(object_name, {}):
                    yield contract.error(
                        f"canonical target {target!r} is not a column of the canonical model", *at, n
                    )
                elif column in DERIVED_COLUMNS:
                    yield contract.error(
                        f"canonical target {target!r} is filled by the pipeline, not mapped", *at, n
                    )
                elif target in seen:
                    yield contract.error(
                        f"canonical target {target!r} is already fed by {seen[target]!r}", *at, n
                    )
                else:
                    seen[target] = prop.get("name")
                    fed.setdefault(object_name, set()).add(column)
        for object_name, columns in fed.items():
            missing = [c for c in canonical.required_from_retailer(object_name) if c not in columns]
            if missing:
                yield contract.error(
                    f"object {obj.get('name')!r} feeds {object_name} but maps nothing to "
                    f"{', '.join(object_name + '.' + c for c in missing)}",
                    "schema",
                    i,
                    "name",
                )


# --- across contracts --------------------------------------------------------------------------------


def _uniqueness_errors(contracts: list[Contract]) -> Iterator[ContractError]:
    """Contract ids, and retailer codes, secure group keys and data provider codes, are used once."""
    first: dict[tuple[str, str], tuple[Contract, JsonPath]] = {}
    for contract in contracts:
        entries: list[tuple[str, Any, JsonPath]] = [("id", contract.document.get("id"), ("id",))]
        if _is_retailer(contract):
            identity = _identity(contract)
            entries += [
                (name, identity.get(name), _custom_path(contract.document, name))
                for name in UNIQUE_RETAILER_PROPERTIES
            ]
        for name, value, at in entries:
            if not isinstance(value, str) or not value:
                continue
            earlier, earlier_at = first.setdefault((name, value), (contract, at))
            if earlier is not contract:
                line, _ = earlier.position(*earlier_at)
                yield contract.error(f"{name} {value!r} is already used by {earlier.path}:{line}", *at)


CONTRACT_CHECKS = (
    _quality_errors,
    _not_checked_warnings,
    _relationship_errors,
    _sla_errors,
    _date_format_errors,
    _type_option_warnings,
    _physical_name_warnings,
    _between_readings,
    on_violation_errors,
    _role_errors,
)
RETAILER_CHECKS = (_identity_errors, _grant_errors, _server_errors, _object_errors, _mapping_errors)
