"""Compile an ODCS contract object into the rules every engine evaluates.

A `Rule` is engine-neutral: it says what to measure (metric, columns, arguments), how to compare
(threshold, unit) and what a failure does (`on_violation`). Engines only measure; thresholds,
quarantine and the verdict are decided once, in `checks.gate`, so that every engine gives the same
verdict for the same numbers.
"""

from __future__ import annotations

import operator
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field, model_validator

from checks.contract import Contract, custom_properties, properties_of

OPERATORS = (
    "mustBe",
    "mustNotBe",
    "mustBeGreaterThan",
    "mustBeGreaterOrEqualTo",
    "mustBeLessThan",
    "mustBeLessOrEqualTo",
    "mustBeBetween",
    "mustNotBeBetween",
)
LIBRARY_METRICS = ("rowCount", "nullValues", "missingValues", "invalidValues", "duplicateValues")
DEFAULT_MISSING_VALUES: list[Any] = [None, ""]
UPDATED_AT = "updated_at"
TEMPORAL_TYPES = ("date", "timestamp", "time")
TYPE_OPTIONS: dict[str, tuple[str, ...]] = {
    "string": ("minLength", "maxLength", "pattern", "format"),
    "integer": ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "format"),
    "number": ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "format"),
    "date": ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"),
    "timestamp": ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"),
    "time": ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"),
    "array": ("minItems", "maxItems", "uniqueItems"),
    "object": ("minProperties", "maxProperties", "required"),
}
"""The `logicalTypeOptions` of each logicalType that constrain values: each one is a rule
`<property>_<option>`. The others are not about values: `format` of a date, timestamp or time is
its castability (`<property>_type`); `timezone` and `defaultTimezone` of a timestamp say how to read
it; string formats `password` and `binary` allow any text (STRING_FORMATS_ANY_VALUE)."""

STRING_FORMATS_ANY_VALUE = ("password", "binary")
"""String formats that every text satisfies (a hint for tools that display or store the value)."""


class RuleKind(StrEnum):
    COLUMNS_PRESENT = "columnsPresent"
    TYPE = "type"
    TYPE_OPTION = "typeOption"
    REQUIRED = "required"
    UNIQUE = "unique"
    PRIMARY_KEY = "primaryKey"
    RELATIONSHIP = "relationship"
    LIBRARY = "library"
    SQL = "sql"
    CUSTOM = "custom"
    TEXT = "text"
    NOT_CHECKED = "notChecked"
    """What a valid contract says that the gates cannot check: listed `not_evaluated` with the
    reason (in `description`), never counted as passed; lint warns about it."""
    EXTRA_COLUMNS = "extraColumns"


ROW_LEVEL_KINDS = {
    RuleKind.TYPE,
    RuleKind.TYPE_OPTION,
    RuleKind.REQUIRED,
    RuleKind.UNIQUE,
    RuleKind.PRIMARY_KEY,
    RuleKind.RELATIONSHIP,
}
ROW_LEVEL_METRICS = {"nullValues", "missingValues", "invalidValues", "duplicateValues"}


class OrderColumn(BaseModel):
    """The column that says which of several duplicate rows is the latest (the one kept)."""

    name: str = Field(description="Column name as delivered.")
    logical_type: str | None = Field(None, description="Its logicalType (date/timestamp text is parsed).")
    type_format: str | None = Field(None, description="Its logicalTypeOptions.format (JDK pattern).")


class Rule(BaseModel):
    """One rule of a gate, as compiled from the contract."""

    id: str = Field(description="Stable id: the contract's, or `<property>_<metric>` / `<object>_<metric>`.")
    object: str = Field(description="The schema object (table) the rule belongs to.")
    kind: RuleKind
    metric: str = Field(
        description="rowCount, nullValues, missingValues, invalidValues, duplicateValues, "
        "columnsPresent, extraColumns, sql or custom."
    )
    property: str | None = Field(None, description="The column, for column rules.")
    properties: list[str] = Field(default_factory=list, description="Columns of a multi-column rule.")
    arguments: dict[str, Any] = Field(default_factory=dict, description="ODCS `arguments` of the rule.")
    threshold: dict[str, Any] = Field(default_factory=dict, description="One ODCS operator and its value.")
    unit: str = Field("rows", description="rows or percent.")
    on_violation: str = Field("block", description="block, quarantine or warn.")
    logical_type: str | None = Field(None, description="For type and typeOption rules: the logicalType.")
    type_format: str | None = Field(None, description="For type and typeOption rules: logicalTypeOptions."
                                    "format of a date, timestamp or time (JDK).")
    references: str | None = Field(None, description="For relationships: what is referenced, for people: "
                                   "`<object>.<column>`, or `<object>.(<column>, ...)` for a composite key.")
    reference_table: str | None = Field(None, description="For relationships: the referenced object.")
    reference_columns: list[str] = Field(default_factory=list, description="For relationships: the "
                                         "referenced columns, in the order of the rule's own columns.")
    query: str | None = Field(None, description="For sql rules.")
    engine: str | None = Field(None, description="For custom rules: soda or greatExpectations.")
    implementation: Any = Field(None, description="For custom rules: the engine-specific definition.")
    keep_latest_by: OrderColumn | None = Field(
        None,
        description="For duplicate rules: keep the row with the latest value of this column "
        "(the table's updated_at); None keeps the first in delivery order.",
    )
    description: str = ""

    @model_validator(mode="after")
    def _single_column_reference(self) -> Rule:
        """`references: table.column` alone (one column) says the referenced table and column too."""
        if self.references and self.reference_table is None and "(" not in self.references:
            table, _, column = self.references.rpartition(".")
            self.reference_table, self.reference_columns = table, [column]
        return self

    def is_row_level(self) -> bool:
        library_row_metric = self.kind == RuleKind.LIBRARY and self.metric in ROW_LEVEL_METRICS
        return self.kind in ROW_LEVEL_KINDS or library_row_metric

    def read_columns(self) -> list[str]:
        """Every column the rule reads (for a relationship: its key, in the referenced order)."""
        return self.properties or ([self.property] if self.property else [])

    def threshold_holds(self, value: float) -> bool:
        return threshold_holds(self.threshold, value)


_COMPARE = {
    "mustBe": operator.eq,
    "mustNotBe": operator.ne,
    "mustBeGreaterThan": operator.gt,
    "mustBeGreaterOrEqualTo": operator.ge,
    "mustBeLessThan": operator.lt,
    "mustBeLessOrEqualTo": operator.le,
}


def threshold_holds(threshold: dict[str, Any], value: float) -> bool:
    """Compare a metric with its ODCS operator (`mustBeBetween` is inclusive)."""
    ((name, expected),) = threshold.items()
    if name == "mustBeBetween":
        low, high = expected
        return low <= value <= high
    if name == "mustNotBeBetween":
        low, high = expected
        return not low <= value <= high
    return _COMPARE[name](value, expected)


def on_violation_of(entry: dict[str, Any], default: str = "block") -> str:
    """`onViolation` of a rule or property; `severity: warning|info` alone means warn."""
    explicit = custom_properties(entry.get("customProperties")).get("onViolation")
    if explicit:
        return str(explicit)
    if str(entry.get("severity", "")).lower() in ("warning", "info"):
        return "warn"
    return default


def compile_rules(contract: Contract, object_name: str) -> list[Rule]:
    """All rules of one schema object, schema-derived first, in contract order, with unique ids."""
    obj = contract.object(object_name)
    rules: list[Rule] = []
    props = properties_of(obj)
    rules.append(
        Rule(
            id=f"{object_name}_columns_present",
            object=object_name,
            kind=RuleKind.COLUMNS_PRESENT,
            metric="columnsPresent",
            properties=[p["name"] for p in props],
            threshold={"mustBe": 0},
            description="Every column the contract lists is delivered.",
        )
    )
    key = sorted((p for p in props if p.get("primaryKey")), key=lambda p: p.get("primaryKeyPosition", -1))
    for prop in props:
        rules.extend(_schema_rules(contract, object_name, prop, in_key=prop in key))
    if key:
        rules.append(
            Rule(
                id=f"{object_name}_primary_key",
                object=object_name,
                kind=RuleKind.PRIMARY_KEY,
                metric="duplicateValues",
                properties=[p["name"] for p in key],
                on_violation=on_violation_of(key[0]),
                **_schema_limit(on_violation_of(key[0])),
                description="The primary key is unique.",
            )
        )
    rules.extend(_table_relationship_rules(contract, object_name))
    for prop in props:
        for quality in prop.get("quality") or []:
            rules.append(_quality_rule(object_name, quality, prop["name"]))
    for quality in obj.get("quality") or []:
        rules.append(_quality_rule(object_name, quality, None))
    order = updated_at_column(props)
    if order:
        rules = [
            r.model_copy(update={"keep_latest_by": order}) if r.metric == "duplicateValues" else r
            for r in rules
        ]
    rules.append(
        Rule(
            id=f"{object_name}_extra_columns",
            object=object_name,
            kind=RuleKind.EXTRA_COLUMNS,
            metric="extraColumns",
            properties=[p["name"] for p in props],
            threshold={"mustBe": 0},
            on_violation="warn",
            description="Columns the contract does not list are reported.",
        )
    )
    return _with_unique_ids(rules)


def updated_at_column(props: list[dict[str, Any]]) -> OrderColumn | None:
    """The table's `updated_at`: the property of that name, else the one mapped to a canonical
    `<object>.updated_at` (retailers call it `last_modified`, `Änderungsdatum`, …; see onboarding)."""

    def mapped(prop: dict[str, Any]) -> bool:
        targets = custom_properties(prop.get("customProperties")).get("canonical") or []
        targets = [targets] if isinstance(targets, str) else targets
        return any(str(t).rsplit(".", 1)[-1] == UPDATED_AT for t in targets)

    chosen = next((p for p in props if p["name"] == UPDATED_AT), None) or next(filter(mapped, props), None)
    if chosen is None:
        return None
    return OrderColumn(
        name=chosen["name"],
        logical_type=chosen.get("logicalType"),
        type_format=(chosen.get("logicalTypeOptions") or {}).get("format"),
    )


def _schema_limit(action: str) -> dict[str, Any]:
    """Threshold and unit of a schema-derived rule: no violation at all, except that with
    `onViolation: quarantine` the violating rows are taken out and the rest goes on, so the rule
    never blocks (`mustBeLessOrEqualTo: 100` percent, as gate-semantics.md puts it). To quarantine
    up to a limit and block beyond it, write a library rule with that threshold instead."""
    if action == "quarantine":
        return {"threshold": {"mustBeLessOrEqualTo": 100}, "unit": "percent"}
    return {"threshold": {"mustBe": 0}}


STRUCTURED_TYPES = ("object", "array", "map", "vector")
"""logicalTypes whose values have a structure the gates do not check (a `<property>_type` rule
is listed as not checked)."""


def not_checked_reasons(prop: dict[str, Any]) -> list[tuple[str, str]]:
    """(id suffix, reason) of what a property says that the gates cannot check; lint warns with
    the same reasons."""
    reasons = []
    logical_type = prop.get("logicalType")
    if logical_type in STRUCTURED_TYPES:
        reasons.append(("type", f"logicalType {logical_type}: the structure of its values is not checked "
                                "(documentation only)"))
    if prop.get("properties") or prop.get("items"):
        reasons.append(("nested", "nested properties (properties, items) are not checked"))
    return reasons


def enum_values(prop: dict[str, Any]) -> list[Any] | None:
    """The values of an ODCS v3.2 `enum` (`[{value: ...}, ...]`), None without one."""
    enum = prop.get("enum")
    if not isinstance(enum, list):
        return None
    return [item.get("value") if isinstance(item, dict) else item for item in enum]


def _schema_rules(contract: Contract, object_name: str, prop: dict[str, Any], *, in_key: bool) -> list[Rule]:
    name = prop["name"]
    action = on_violation_of(prop)
    rules = []
    for suffix, reason in not_checked_reasons(prop):
        rules.append(Rule(id=f"{name}_{suffix}", object=object_name, kind=RuleKind.NOT_CHECKED,
                          metric=RuleKind.NOT_CHECKED.value, property=name, on_violation=action,
                          description=reason))
    if prop.get("logicalType") and prop["logicalType"] not in (*STRUCTURED_TYPES, "string"):
        rules.append(
            _column_rule(
                object_name, name, RuleKind.TYPE, action, f"Values are castable to {prop['logicalType']}.",
                logical_type=prop["logicalType"],
                type_format=(prop.get("logicalTypeOptions") or {}).get("format"),
            )
        )
    rules.extend(_type_option_rules(object_name, prop, action))
    if prop.get("required") or in_key:
        rules.append(_column_rule(object_name, name, RuleKind.REQUIRED, action, "The column is never null."))
    if prop.get("unique"):
        rules.append(_column_rule(object_name, name, RuleKind.UNIQUE, action, "The column is unique."))
    values = enum_values(prop)
    if values is not None:
        rules.append(Rule(id=f"{name}_enum", object=object_name, kind=RuleKind.LIBRARY,
                          metric="invalidValues", property=name, arguments={"validValues": values},
                          on_violation=action,
                          **_schema_limit(action), description="Values are one of the enum's values."))
    for relationship in prop.get("relationships") or []:
        action_of_relationship = on_violation_of(relationship, action)
        target = _ends(relationship["to"], contract)
        if len(target[1]) != 1:
            raise contract.error(f"property {name!r}: a relationship of one property refers to one column; "
                                 f"found {len(target[1])}")
        rule = _relationship_rule(object_name, [name], target, action_of_relationship)
        rules.append(_with_relationship_id(rule, relationship))
    return rules


def _type_option_rules(object_name: str, prop: dict[str, Any], action: str) -> list[Rule]:
    """One rule `<property>_<option>` per logicalTypeOption that constrains values
    (semantics.TYPE_OPTIONS), in the order the contract lists them."""
    logical_type = prop.get("logicalType")
    options = prop.get("logicalTypeOptions")
    if not isinstance(options, dict) or logical_type not in TYPE_OPTIONS:
        return []
    type_format = options.get("format") if logical_type in TEMPORAL_TYPES else None
    rules = []
    for name, value in options.items():
        if name not in TYPE_OPTIONS[logical_type] or (name == "format" and logical_type in TEMPORAL_TYPES):
            continue
        if logical_type == "string" and name == "format" and value in STRING_FORMATS_ANY_VALUE:
            continue
        rules.append(Rule(
            id=f"{prop['name']}_{name}", object=object_name, kind=RuleKind.TYPE_OPTION,
            metric="invalidValues", property=prop["name"], arguments={"option": name, "value": value},
            on_violation=action,
            **_schema_limit(action), logical_type=logical_type, type_format=type_format,
            description=f"logicalTypeOptions {name}: {value}",
        ))
    return rules


def _with_relationship_id(rule: Rule, relationship: dict[str, Any]) -> Rule:
    """A relationship's own `id` (ODCS v3.2) is its rule's id."""
    return rule.model_copy(update={"id": relationship["id"]}) if relationship.get("id") else rule


_COLUMN_RULES = {
    RuleKind.TYPE: ("type", "invalidValues"),
    RuleKind.REQUIRED: ("nullValues", "nullValues"),
    RuleKind.UNIQUE: ("duplicateValues", "duplicateValues"),
    RuleKind.RELATIONSHIP: ("relationship", "invalidValues"),
}
"""Per kind of rule the schema implies for a column: its id suffix and its metric."""


def _column_rule(object_name: str, column: str, kind: RuleKind, action: str, description: str,
                 **fields: Any) -> Rule:
    """A rule the schema implies for one column (`<column>_<suffix>`), its limit set by its action."""
    suffix, metric = _COLUMN_RULES[kind]
    return Rule(
        id=f"{column}_{suffix}",
        object=object_name,
        kind=kind,
        metric=metric,
        property=column,
        on_violation=action,
        **_schema_limit(action),
        description=description,
        **fields,
    )


def _relationship_rule(object_name: str, columns: list[str], target: tuple[str, list[str]],
                       action: str) -> Rule:
    """Every key of `columns` without a null exists in the referenced columns of `target`
    (`(object, columns)`): a foreign key, over one column or several (a composite key)."""
    table, referenced = target
    shown = f"{table}.{referenced[0]}" if len(referenced) == 1 else f"{table}.({', '.join(referenced)})"
    if len(columns) == 1:
        rule = _column_rule(object_name, columns[0], RuleKind.RELATIONSHIP, action,
                            f"Every value exists in {shown}.", references=shown)
    else:
        rule = Rule(id=f"{'_'.join(columns)}_relationship", object=object_name, kind=RuleKind.RELATIONSHIP,
                    metric="invalidValues", properties=columns, on_violation=action, **_schema_limit(action),
                    description=f"Every key ({', '.join(columns)}) without a null exists in {shown}.",
                    references=shown)
    return rule.model_copy(update={"reference_table": table, "reference_columns": referenced})


def reference_parts(reference: str, contract: Contract | None = None) -> tuple[str, str]:
    """(object, column) of an ODCS reference: `object.column`, `schema/<object>/properties/<column>`
    (by name or by `id`), either after `<file>#` (another contract: the object is supplied by the
    caller under its name)."""
    local = reference.rpartition("#")[2]
    parts = local.strip("/").split("/")
    if len(parts) == 4 and parts[0] == "schema" and parts[2] == "properties":
        table, column = parts[1], parts[3]
        for obj in contract.objects if contract is not None and "#" not in reference else []:
            if table in (obj.get("name"), obj.get("id")):
                props = properties_of(obj)
                column = next((p["name"] for p in props if column in (p.get("name"), p.get("id"))), column)
                return obj["name"], column
        return table, column
    table, _, column = local.rpartition(".")
    return table, column


def _ends(reference: str | list[str], contract: Contract) -> tuple[str, list[str]]:
    """(object, columns) of one end of a relationship (one reference or a list, one per column)."""
    references = reference if isinstance(reference, list) else [reference]
    parts = [reference_parts(r, contract) for r in references]
    tables = {table for table, _ in parts}
    if len(tables) != 1:
        raise ValueError(f"the columns of one end of a relationship must be in one object; "
                         f"found {sorted(tables)}")
    return parts[0][0], [column for _, column in parts]


def _table_relationship_rules(contract: Contract, object_name: str) -> list[Rule]:
    """`schema[].relationships` (`from`/`to`) whose `from` is in this object, whichever object lists
    them (a relationship between two objects may be written on either): one rule each, over one
    column or a composite key."""
    props = {p["name"]: p for p in properties_of(contract.object(object_name))}
    rules = []
    for index, obj in enumerate(contract.objects):
        for k, relationship in enumerate(obj.get("relationships") or []):
            here = ("schema", index, "relationships", k)
            if relationship.get("type", "foreignKey") != "foreignKey":
                continue
            try:
                table, columns = _ends(relationship["from"], contract)
                target = _ends(relationship["to"], contract)
            except ValueError as exc:
                raise contract.error(str(exc), *here) from None
            if table != object_name:
                continue
            unknown = [c for c in columns if c not in props]
            if unknown or len(columns) != len(target[1]):
                raise contract.error(f"relationship from {relationship['from']!r}: "
                                     + (f"{unknown[0]!r} is not a property of {object_name!r}" if unknown else
                                        "from and to have different numbers of columns"), *here, "from")
            action = on_violation_of(relationship, on_violation_of(props[columns[0]]))
            rules.append(_with_relationship_id(_relationship_rule(object_name, columns, target, action),
                                               relationship))
    return rules


def _quality_rule(object_name: str, quality: dict[str, Any], property_name: str | None) -> Rule:
    kind = RuleKind(quality.get("type", "library"))
    metric = quality.get("metric") or quality.get("rule") or kind.value
    threshold = {op: quality[op] for op in OPERATORS if op in quality}
    arguments = dict(quality.get("arguments") or {})
    properties = list(arguments.get("properties") or [])
    generated = f"{property_name or object_name}_{metric}"
    return Rule(
        id=quality.get("id") or generated,
        object=object_name,
        kind=kind,
        metric=metric,
        property=property_name,
        properties=properties,
        arguments=arguments,
        threshold=threshold,
        unit=quality.get("unit", "rows"),
        on_violation=on_violation_of(quality),
        query=quality.get("query"),
        engine=quality.get("engine"),
        implementation=quality.get("implementation"),
        description=quality.get("description") or quality.get("name") or "",
    )


def implementation_of(rule: Rule) -> Any:
    """A custom rule's `implementation` as data: ODCS writes it as a text block (YAML), or as YAML
    directly. Text that is not YAML raises `ValueError` naming the rule."""
    from checks.safe_yaml import YamlRefused, parse_bounded

    implementation = rule.implementation
    if not isinstance(implementation, str):
        return implementation
    try:
        return parse_bounded(implementation)[0]
    except YamlRefused as exc:
        raise ValueError(f"rule {rule.id}: implementation is not YAML: {exc}") from None


def _with_unique_ids(rules: list[Rule]) -> list[Rule]:
    """Generated ids can collide (two rules of one metric on one column): number the later ones."""
    seen: dict[str, int] = {}
    unique = []
    for rule in rules:
        count = seen.get(rule.id, 0) + 1
        seen[rule.id] = count
        unique.append(rule if count == 1 else rule.model_copy(update={"id": f"{rule.id}_{count}"}))
    return unique
