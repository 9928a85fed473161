"""Walker of quality rules: each rule paired by id, judged by what it lets through before and after."""

from __future__ import annotations

from typing import Any

from checks.contract import HOLDS_DATA_BACK
from checks.diff.recorder import Recorder, keys, listed
from checks.diff.values import alternatives, compare_thresholds
from checks.rules import Rule, RuleKind

QUALITY_KINDS = frozenset(
    {RuleKind.LIBRARY, RuleKind.SQL, RuleKind.CUSTOM, RuleKind.TEXT, RuleKind.RELATIONSHIP}
)
"""Rule kinds written as rules in the contract; the others follow from property fields and are
reported as property changes."""
STRICTNESS = {"warn": 0, "quarantine": 1, "block": 2}
VALUE_SETS = {
    "validValues": ("valid_values", True),
    "missingValues": ("missing_values", False),
    "properties": ("duplicate_key", True),
}
"""Rule arguments that are sets: (change kind prefix, whether dropping a value makes the rule stricter)."""
ON_VIOLATION = {
    (0, 1): "on_violation_stricter:quarantine",
    (0, 2): "on_violation_stricter:block",
    (1, 2): "on_violation_stricter:quarantine_to_block",
    (2, 1): "on_violation_relaxed:quarantine",
    (2, 0): "on_violation_relaxed:warn",
    (1, 0): "on_violation_relaxed:warn",
}
RULE_ATTRIBUTES = (
    ("query", "its query"),
    ("engine", "its engine"),
    ("implementation", "its implementation"),
    ("references", "the referenced column"),
)
THRESHOLD_DIRECTIONS = {
    "same": "documentation_changed:same_threshold",
    "tightened": "threshold_tightened",
    "loosened": "threshold_loosened",
    "changed": "threshold_changed",
}


def walk_rules(
    rec: Recorder, obj: str, base_rules: list[Rule], head_rules: list[Rule], changed_columns: set[str]
) -> None:
    """Rules of a column added or removed are part of that column's change, not reported again."""
    old_by_id = {r.id: r for r in base_rules}
    new_by_id = {r.id: r for r in head_rules}
    for rule_id in keys(old_by_id, new_by_id):
        old, new = old_by_id.get(rule_id), new_by_id.get(rule_id)
        either = new or old
        if old and new:
            _rule(rec, obj, old, new)
        elif either.kind in QUALITY_KINDS and either.property not in changed_columns:
            _presence(rec, obj, old, new)


def enforced(rule: Rule) -> bool:
    """Whether a failure of the rule can hold data back (block or quarantine), not only report."""
    documentation = rule.kind in (RuleKind.TEXT, RuleKind.NOT_CHECKED)
    return not documentation and rule.on_violation in HOLDS_DATA_BACK


def _presence(rec: Recorder, obj: str, old: Rule | None, new: Rule | None) -> None:
    rule = new or old
    where = {"obj": obj, "prop": rule.property, "field": f"quality[{rule.id}]", "rules": [rule.id]}
    if not enforced(rule):
        key = "rule_added:reports_only" if new else "rule_removed:reports_only"
        rec.saw(key, **where, before=_rule_view(old), after=_rule_view(new))
    elif new:
        consequence = (
            "cut: violating rows go to quarantine, and too many block the delivery"
            if new.on_violation == "quarantine"
            else "blocked"
        )
        rec.saw("rule_added", **where, after=_rule_view(new), consequence=consequence)
    else:
        rec.saw("rule_removed", **where, before=_rule_view(old))


def _changed(
    rec: Recorder,
    obj: str,
    old: Rule,
    new: Rule,
    key: str,
    field: str,
    before: Any,
    after: Any,
    **details: Any,
) -> None:
    """A change to an existing rule; safe when the rule only reports before and after."""
    rec.saw(
        key,
        obj=obj,
        prop=new.property,
        field=f"quality[{new.id}].{field}",
        before=before,
        after=after,
        rules=[new.id],
        reports_only=not (enforced(old) or enforced(new)),
        **details,
    )


def _rule(rec: Recorder, obj: str, old: Rule, new: Rule) -> None:
    _on_violation(rec, obj, old, new)
    if new.kind not in QUALITY_KINDS:
        return
    if (old.kind, old.metric) != (new.kind, new.metric):
        before, after = f"{old.kind}:{old.metric}", f"{new.kind}:{new.metric}"
        _changed(rec, obj, old, new, "rule_changed", "metric", before, after, what="the metric it measures")
        return
    for attribute, what in RULE_ATTRIBUTES:
        before, after = getattr(old, attribute), getattr(new, attribute)
        if before != after:
            _changed(rec, obj, old, new, "rule_changed", attribute, before, after, what=what)
    _arguments(rec, obj, old, new)
    _threshold(rec, obj, old, new)
    if old.description != new.description:
        rec.saw(
            "documentation_changed",
            obj=obj,
            prop=new.property,
            field=f"quality[{new.id}].description",
            before=old.description,
            after=new.description,
        )


def _on_violation(rec: Recorder, obj: str, old: Rule, new: Rule) -> None:
    if old.on_violation == new.on_violation or new.kind == RuleKind.TEXT:
        return
    before, after = STRICTNESS.get(old.on_violation, 2), STRICTNESS.get(new.on_violation, 2)
    if before == after:
        return
    field = f"quality[{new.id}].onViolation" if new.kind in QUALITY_KINDS else "customProperties.onViolation"
    rec.saw(
        ON_VIOLATION[(before, after)],
        obj=obj,
        prop=new.property,
        field=field,
        before=old.on_violation,
        after=new.on_violation,
        rules=[new.id],
    )


def _arguments(rec: Recorder, obj: str, old: Rule, new: Rule) -> None:
    for key in keys(old.arguments, new.arguments):
        before, after = old.arguments.get(key), new.arguments.get(key)
        if before == after:
            continue
        if key in VALUE_SETS and isinstance(before, list) and isinstance(after, list):
            _value_set(rec, obj, old, new, key, before, after)
        elif key == "pattern":
            _pattern(rec, obj, old, new, str(before), str(after))
        else:
            field = f"arguments.{key}"
            _changed(rec, obj, old, new, "rule_changed", field, before, after, what=f"argument {key}")


def _pattern(rec: Recorder, obj: str, old: Rule, new: Rule, before: str, after: str) -> None:
    """Patterns cannot be compared in general; dropping or adding whole alternatives (`a|b`) can."""
    old_parts, new_parts = alternatives(before), alternatives(after)
    key = (
        "pattern_narrowed"
        if new_parts < old_parts
        else "pattern_widened"
        if new_parts > old_parts
        else "pattern_changed"
    )
    gone, came = listed(sorted(old_parts - new_parts)), listed(sorted(new_parts - old_parts))
    _changed(rec, obj, old, new, key, "arguments.pattern", before, after, gone=gone, came=came)


def _value_set(
    rec: Recorder, obj: str, old: Rule, new: Rule, key: str, before: list[Any], after: list[Any]
) -> None:
    """validValues and missingValues narrow or widen; fewer duplicate-key columns find more duplicates."""
    prefix, stricter_if_gone = VALUE_SETS[key]
    gone = [v for v in before if v not in after]
    came = [v for v in after if v not in before]
    field = f"arguments.{key}"
    if not gone and not came:
        _changed(rec, obj, old, new, "documentation_changed:same_values", field, before, after)
        return
    direction = "changed" if gone and came else "tightened" if bool(gone) == stricter_if_gone else "loosened"
    if key == "validValues":
        direction = {"tightened": "narrowed", "loosened": "widened"}.get(direction, direction)
    details = {"gone": listed(gone), "came": listed(came), "columns": listed(after), "was": listed(before)}
    _changed(rec, obj, old, new, f"{prefix}_{direction}", field, before, after, **details)


def _threshold(rec: Recorder, obj: str, old: Rule, new: Rule) -> None:
    if (old.threshold, old.unit) == (new.threshold, new.unit):
        return
    before = _threshold_view(old) if old.threshold else old.threshold
    after = _threshold_view(new) if new.threshold else new.threshold
    if not old.threshold or not new.threshold:
        _changed(rec, obj, old, new, "threshold_changed:added_or_dropped", "threshold", before, after)
    elif old.unit != new.unit:
        details = {"unit": new.unit, "was_unit": old.unit, "crossing": _crossing(old, new)}
        _changed(rec, obj, old, new, "threshold_unit_changed", "threshold", before, after, **details)
    else:
        counts = new.kind == RuleKind.LIBRARY
        direction = compare_thresholds(
            old.threshold, new.threshold, counts=counts, integers=counts and new.unit == "rows"
        )
        _changed(rec, obj, old, new, THRESHOLD_DIRECTIONS[direction], "threshold", before, after)


def _crossing(old: Rule, new: Rule) -> str:
    """rows ↔ percent cannot be ordered in general; for upper bounds, say at which batch size they cross."""
    upper = ("mustBeLessThan", "mustBeLessOrEqualTo")
    ((op_old, value_old),) = old.threshold.items()
    ((op_new, value_new),) = new.threshold.items()
    if op_old not in upper or op_new not in upper or not value_old or not value_new:
        return ""
    rows, percent = (value_old, value_new) if old.unit == "rows" else (value_new, value_old)
    crossing = 100 * float(rows) / float(percent)
    if new.unit == "percent":
        return f"; stricter than before for batches under {crossing:,.0f} rows, looser above"
    return f"; stricter than before for batches over {crossing:,.0f} rows, looser below"


def _threshold_view(rule: Rule) -> str:
    ((operator, value),) = rule.threshold.items()
    unit = " %" if rule.unit == "percent" else (" rows" if rule.kind == RuleKind.LIBRARY else "")
    return f"{operator} {value}{unit}"


def _rule_view(rule: Rule | None) -> str | None:
    if rule is None:
        return None
    details = [rule.metric if rule.kind == RuleKind.LIBRARY else f"{rule.kind}"]
    for key in ("pattern", "validValues"):
        if key in rule.arguments:
            details.append(f"{key} {rule.arguments[key]}")
    if rule.threshold:
        details.append(_threshold_view(rule))
    details.append(f"({rule.on_violation})")
    return " ".join(details)
