"""Walker of the schema: objects, their delivery settings and keys, and each property's type, type
options, nullability, uniqueness, mapping to canonical and physical name. Renamed objects and
columns are paired first, so that they are reported once and their rules still line up."""

from __future__ import annotations

import copy
from collections.abc import Callable, Hashable
from typing import Any

from checks.contract import Contract, custom_properties, properties_of
from checks.diff.access import walk_classification, walk_measure_masking
from checks.diff.quality import QUALITY_KINDS, walk_rules
from checks.diff.recorder import Recorder, keys, listed
from checks.diff.values import TYPE_OPTION_GROUPS, compare_type_options
from checks.rules import Rule, RuleKind, compile_rules

OBJECT_PROPERTIES = {
    "filePattern": "delivery_changed:file_pattern",
    "periodPattern": "delivery_changed:period_pattern",
    "refresh": "delivery_changed:refresh",
    "watermark": "delivery_changed:watermark",
    "endpoint": "delivery_changed:endpoint",
}
"""Object customProperties and their catalogue rows; any other is not covered."""
WIDENINGS = frozenset({("integer", "number"), ("date", "timestamp")})
"""logicalType pairs (narrower, wider): every value of the first is castable to the second."""
UNCHECKED_TYPES = (None, "string", "object", "array")
"""Types the gate does not check (compile_rules makes no type rule for them): any value passes."""
NOT_TYPE_OPTION_RULES = frozenset(
    {
        RuleKind.COLUMNS_PRESENT,
        RuleKind.EXTRA_COLUMNS,
        RuleKind.REQUIRED,
        RuleKind.UNIQUE,
        RuleKind.PRIMARY_KEY,
    }
)
"""Schema-implied rule kinds that are not about a column's type or type options."""
TYPE_OPTION_DIRECTIONS = {
    "tightened": "type_options_tightened",
    "loosened": "type_options_loosened",
    "changed": "type_options_changed",
}
PROPERTY_WALKED = (
    "name",
    "logicalType",
    "logicalTypeOptions",
    "physicalType",
    "physicalName",
    "required",
    "unique",
    "primaryKey",
    "primaryKeyPosition",
    "partitioned",
    "partitionKeyPosition",
    "classification",
    "customProperties",
    "quality",
    "relationships",
)


def walk_objects(rec: Recorder, base: Contract, head: Contract) -> None:
    old_objects = {o["name"]: o for o in base.objects}
    new_objects = {o["name"]: o for o in head.objects}
    removed = [n for n in old_objects if n not in new_objects]
    added = [n for n in new_objects if n not in old_objects]
    object_renames = _renames(
        removed,
        added,
        lambda n: _object_signature(old_objects[n]),
        lambda n: _object_signature(new_objects[n]),
    )
    pairs = [(n, n) for n in new_objects if n in old_objects] + list(object_renames.items())
    property_renames = {new: _property_renames(old_objects[old], new_objects[new]) for old, new in pairs}
    renamed_base = _renamed(base, object_renames, property_renames)
    for old, new in object_renames.items():
        rec.saw("object_renamed", obj=new, field="schema.name", before=old, after=new)
    for name in removed:
        if name not in object_renames:
            rules = [r.id for r in compile_rules(base, name)]
            rec.saw("object_removed", obj=name, field="schema", before=name, rules=rules)
    for name in added:
        if name not in object_renames.values():
            rec.saw("object_added", obj=name, field="schema", after=name)
    for old, new in pairs:
        _object(rec, renamed_base, head, new, old_objects[old], new_objects[new], property_renames[new])


def _object(
    rec: Recorder,
    base: Contract,
    head: Contract,
    name: str,
    old: dict[str, Any],
    new: dict[str, Any],
    renames: dict[str, str],
) -> None:
    base_rules, head_rules = compile_rules(base, name), compile_rules(head, name)
    rec.custom(
        custom_properties(old.get("customProperties")),
        custom_properties(new.get("customProperties")),
        OBJECT_PROPERTIES,
        obj=name,
    )
    rec.compare("delivery_changed:object_physical_name", old, new, "physicalName", obj=name)
    old_props = {renames.get(p["name"], p["name"]): p for p in properties_of(old)}
    new_props = {p["name"]: p for p in properties_of(new)}
    present = f"{name}_columns_present"
    for old_name, new_name in renames.items():
        physical = _delivered_name(new_props[new_name])
        kept = physical == _delivered_name(old_props[new_name]) and physical != new_name
        rec.saw(
            "property_renamed:physical_name_kept" if kept else "property_renamed",
            obj=name,
            prop=new_name,
            field="name",
            before=old_name,
            after=new_name,
            rules=[] if kept else [present],
            old=old_name if kept else _delivered_name(old_props[new_name]),
            new=physical,
            physical=physical,
        )
    for prop_name in keys(old_props, new_props):
        old_prop, new_prop = old_props.get(prop_name), new_props.get(prop_name)
        if new_prop is None:
            rec.saw(
                "property_removed",
                obj=name,
                prop=prop_name,
                field="properties",
                before=_property_view(old_prop),
                rules=_rule_ids(base_rules, prop_name),
            )
        elif old_prop is None:
            rec.saw(
                "property_added",
                obj=name,
                prop=prop_name,
                field="properties",
                after=_property_view(new_prop),
                rules=[present, *_rule_ids(head_rules, prop_name)],
            )
        else:
            _property(rec, name, prop_name, old_prop, new_prop, head_rules)
    _primary_key(rec, name, list(old_props.values()), list(new_props.values()), head_rules)
    changed_columns = {n for n in keys(old_props, new_props) if n not in old_props or n not in new_props}
    walk_rules(rec, name, base_rules, head_rules, changed_columns)
    rec.rest(old, new, ("name", "properties", "quality", "customProperties", "physicalName"), obj=name)


def _property(
    rec: Recorder, obj: str, name: str, old: dict[str, Any], new: dict[str, Any], rules: list[Rule]
) -> None:
    _logical_type(rec, obj, name, old, new, rules)
    _type_options(rec, obj, name, old, new, rules)
    if _delivered_name(old) != _delivered_name(new) and old.get("name") == new.get("name"):
        rec.saw(
            "delivery_changed:physical_name",
            obj=obj,
            prop=name,
            field="physicalName",
            before=old.get("physicalName"),
            after=new.get("physicalName"),
            rules=[f"{obj}_columns_present"],
            old=_delivered_name(old),
            new=_delivered_name(new),
        )
    rec.compare("documentation_changed:physical_type", old, new, "physicalType", obj=obj, prop=name)
    _nullability(rec, obj, name, old, new, rules)
    if bool(old.get("unique")) != bool(new.get("unique")):
        rec.saw(
            "unique_changed:added" if new.get("unique") else "unique_changed:removed",
            obj=obj,
            prop=name,
            field="unique",
            before=bool(old.get("unique")),
            after=bool(new.get("unique")),
            rules=_rule_ids(rules, name, RuleKind.UNIQUE),
        )
    for key in ("partitioned", "partitionKeyPosition"):
        rec.compare("layout_changed", old, new, key, obj=obj, prop=name)
    walk_classification(rec, obj, name, old, new)
    _mapping(rec, obj, name, old, new)
    rec.rest(old, new, PROPERTY_WALKED, obj=obj, prop=name)


def _logical_type(
    rec: Recorder, obj: str, name: str, old: dict[str, Any], new: dict[str, Any], rules: list[Rule]
) -> None:
    before, after = old.get("logicalType"), new.get("logicalType")
    if before == after:
        return
    where = {
        "obj": obj,
        "prop": name,
        "field": "logicalType",
        "before": before,
        "after": after,
        "rules": _rule_ids(rules, name, RuleKind.TYPE),
    }
    relation = _type_relation(before, after)
    if relation == "narrowed":
        rec.saw("type_narrowed", **where, old=before or "anything", new=after)
    elif relation == "changed":
        rec.saw("type_changed", **where, old=before or "unchecked", new=after or "unchecked")
    else:
        targets = _targets(new)
        fits = [rec.canonical_types.get(t, "?") for t in targets]
        if targets and all(_type_relation(after, t) in ("same", "widened") for t in fits):
            variant = "within_canonical"
        else:
            variant = "beyond_canonical" if targets else "unmapped"
        rec.saw(f"type_widened:{variant}", **where, old=before, new=after, targets=", ".join(targets))


def _type_options(
    rec: Recorder, obj: str, name: str, old: dict[str, Any], new: dict[str, Any], rules: list[Rule]
) -> None:
    """logicalTypeOptions as the sets of values they accept: per group of options that bound together."""
    options_old, options_new = old.get("logicalTypeOptions") or {}, new.get("logicalTypeOptions") or {}
    where = {"obj": obj, "prop": name, "rules": _type_rule_ids(rules, name)}
    if options_old.get("format") != options_new.get("format"):
        rec.saw(
            "type_format_changed",
            **where,
            field="logicalTypeOptions.format",
            before=options_old.get("format"),
            after=options_new.get("format"),
        )
    grouped = {key for group in TYPE_OPTION_GROUPS.values() for key in group}
    for group, members in TYPE_OPTION_GROUPS.items():
        changed = [k for k in members if options_old.get(k) != options_new.get(k)]
        if not changed:
            continue
        direction = compare_type_options(group, options_old, options_new)
        if direction == "same":
            continue
        before = {k: options_old[k] for k in members if k in options_old}
        after = {k: options_new[k] for k in members if k in options_new}
        single = len(members) == 1
        rec.saw(
            "type_options_changed" if group == "defaultTimezone" else TYPE_OPTION_DIRECTIONS[direction],
            **where,
            field="logicalTypeOptions." + "/".join(changed),
            before=(before.get(members[0]) if single else before or None),
            after=(after.get(members[0]) if single else after or None),
            options=group,
            details="; ".join(
                f"{k} {_shown(options_old.get(k))} → {_shown(options_new.get(k))}" for k in changed
            ),
        )
    others_old = {k: v for k, v in options_old.items() if k not in grouped and k != "format"}
    others_new = {k: v for k, v in options_new.items() if k not in grouped and k != "format"}
    rec.rest(others_old, others_new, (), obj=obj, prop=name, prefix="logicalTypeOptions.")


def _nullability(
    rec: Recorder, obj: str, name: str, old: dict[str, Any], new: dict[str, Any], rules: list[Rule]
) -> None:
    """`required` as enforced: a primary key column is never null either."""
    if bool(old.get("required")) == bool(new.get("required")):
        return
    before_not_null = bool(old.get("required") or old.get("primaryKey"))
    after_not_null = bool(new.get("required") or new.get("primaryKey"))
    where = {"obj": obj, "prop": name, "field": "required"}
    if before_not_null == after_not_null:
        rec.saw(
            "required_changed", **where, before=bool(old.get("required")), after=bool(new.get("required"))
        )
    elif after_not_null:
        rec.saw(
            "required_added",
            **where,
            before=False,
            after=True,
            rules=_rule_ids(rules, name, RuleKind.REQUIRED),
        )
    else:
        rec.saw("required_removed", **where, before=True, after=False)


def _mapping(rec: Recorder, obj: str, name: str, old: dict[str, Any], new: dict[str, Any]) -> None:
    """Mapping to canonical, its transform, antitrust masking; other property customProperties are not
    covered (onViolation belongs to the rules)."""
    custom_old = custom_properties(old.get("customProperties"))
    custom_new = custom_properties(new.get("customProperties"))
    targets_old, targets_new = _targets(old), _targets(new)
    if targets_old != targets_new:
        lost = [t for t in targets_old if t not in targets_new]
        gained = [t for t in targets_new if t not in targets_old]
        rec.saw(
            "mapping_changed:lost" if lost else "mapping_changed:gained",
            obj=obj,
            prop=name,
            field="customProperties.canonical",
            before=targets_old,
            after=targets_new,
            lost=", ".join(lost),
            gained=(f"; now feeds {', '.join(gained)}" if gained else "") if lost else ", ".join(gained),
        )
    rec.compare(
        "mapping_changed:transform",
        custom_old,
        custom_new,
        "transform",
        obj=obj,
        prop=name,
        field="customProperties.transform",
        targets=", ".join(targets_new) or "silver",
    )
    walk_measure_masking(rec, obj, name, custom_old, custom_new)
    rec.custom(
        custom_old,
        custom_new,
        {},
        handled=("canonical", "transform", "antitrustMasked", "onViolation"),
        obj=obj,
        prop=name,
    )


def _primary_key(
    rec: Recorder, obj: str, old: list[dict[str, Any]], new: list[dict[str, Any]], rules: list[Rule]
) -> None:
    before, after = _key_columns(old), _key_columns(new)
    if before == after:
        return
    variant = "added" if not before else "removed" if not after else "changed"
    rec.saw(
        f"primary_key_changed:{variant}",
        obj=obj,
        field="primaryKey",
        before=before,
        after=after,
        rules=[r.id for r in rules if r.kind == RuleKind.PRIMARY_KEY],
    )


# --- helpers ---------------------------------------------------------------------------------------------


def _delivered_name(prop: dict[str, Any]) -> str:
    """The column name deliveries carry: its physicalName, else its name."""
    return str(prop.get("physicalName") or prop["name"])


def _targets(prop: dict[str, Any]) -> list[str]:
    targets = custom_properties(prop.get("customProperties")).get("canonical") or []
    return [str(t) for t in ([targets] if isinstance(targets, str) else targets)]


def _type_relation(before: str | None, after: str | None) -> str:
    """same, widened (every old value still passes), narrowed, or changed."""
    if before == after or (before in UNCHECKED_TYPES and after in UNCHECKED_TYPES):
        return "same"
    if after in UNCHECKED_TYPES or (before, after) in WIDENINGS:
        return "widened"
    if before in UNCHECKED_TYPES or (after, before) in WIDENINGS:
        return "narrowed"
    return "changed"


def _key_columns(props: list[dict[str, Any]]) -> list[str]:
    key = [p for p in props if p.get("primaryKey")]
    return [p["name"] for p in sorted(key, key=lambda p: p.get("primaryKeyPosition", -1))]


def _rule_ids(rules: list[Rule], prop: str, kind: RuleKind | None = None) -> list[str]:
    return [r.id for r in rules if r.property == prop and (kind is None or r.kind == kind)]


def _type_rule_ids(rules: list[Rule], prop: str) -> list[str]:
    """The schema-implied rules that check a column's type and type options."""
    return [
        r.id
        for r in rules
        if r.property == prop and r.kind not in QUALITY_KINDS and r.kind not in NOT_TYPE_OPTION_RULES
    ]


def _shown(value: Any) -> str:
    if isinstance(value, list):
        return listed(value)
    return "unset" if value is None else str(value)


def _renames(
    removed: list[str],
    added: list[str],
    old_signature: Callable[[str], Hashable],
    new_signature: Callable[[str], Hashable],
) -> dict[str, str]:
    """Pair a removed and an added name when exactly one of each shares a signature."""
    by_old: dict[Hashable, list[str]] = {}
    by_new: dict[Hashable, list[str]] = {}
    for name in removed:
        by_old.setdefault(old_signature(name), []).append(name)
    for name in added:
        by_new.setdefault(new_signature(name), []).append(name)
    return {
        olds[0]: by_new[sig][0]
        for sig, olds in by_old.items()
        if sig is not None and len(olds) == 1 and len(by_new.get(sig, [])) == 1
    }


def _object_signature(obj: dict[str, Any]) -> Hashable:
    columns = tuple(sorted((p["name"], p.get("logicalType")) for p in properties_of(obj)))
    return columns or None


def _property_signature(prop: dict[str, Any]) -> Hashable:
    """A renamed column keeps its mapping to canonical and its type (unmapped: its whole description)."""
    targets = tuple(sorted(_targets(prop)))
    if targets:
        return ("mapped", targets, prop.get("logicalType"))
    return ("unmapped", prop.get("logicalType"), prop.get("physicalType"), prop.get("description"))


def _property_renames(old: dict[str, Any], new: dict[str, Any]) -> dict[str, str]:
    old_props = {p["name"]: p for p in properties_of(old)}
    new_props = {p["name"]: p for p in properties_of(new)}
    removed = [n for n in old_props if n not in new_props]
    added = [n for n in new_props if n not in old_props]
    return _renames(
        removed,
        added,
        lambda n: _property_signature(old_props[n]),
        lambda n: _property_signature(new_props[n]),
    )


def _renamed(base: Contract, objects: dict[str, str], properties: dict[str, dict[str, str]]) -> Contract:
    """The base contract with renamed objects and columns under their new names, so that rules (and
    their generated ids) line up with the head's."""
    document = copy.deepcopy(base.document)
    for obj in document.get("schema") or []:
        obj["name"] = objects.get(obj["name"], obj["name"])
        renames = properties.get(obj["name"], {})
        for prop in properties_of(obj):
            prop["name"] = renames.get(prop["name"], prop["name"])
        for quality in [
            *(obj.get("quality") or []),
            *(q for p in properties_of(obj) for q in p.get("quality") or []),
        ]:
            columns = (quality.get("arguments") or {}).get("properties")
            if isinstance(columns, list):
                quality["arguments"]["properties"] = [renames.get(c, c) for c in columns]
    return Contract(path=base.path, document=document, positions=base.positions, model=base.model)


def _property_view(prop: dict[str, Any]) -> str:
    parts = [str(prop.get("logicalType") or "unchecked")]
    parts += [flag for flag in ("required", "unique", "primaryKey") if prop.get(flag)]
    targets = _targets(prop)
    if targets:
        parts.append("→ " + ", ".join(targets))
    return ", ".join(parts)
