"""Constraints compared as the sets of values they accept.

Comparing sets, not the numbers written, gives every operator's direction at once: a threshold
`mustBeLessThan` tightens as its value falls, `mustBeGreaterThan` as it rises, `mustBeBetween` as it
narrows; a `logicalTypeOptions` range, length or item count tightens when its interval shrinks.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, time
from fractions import Fraction
from typing import Any

Interval = tuple[float, bool, float, bool]
"""(low, low included, high, high included)."""


def accepted_values(
    threshold: dict[str, Any], *, counts: bool = False, integers: bool = False
) -> list[Interval]:
    """The metric values an ODCS operator accepts, as disjoint intervals.

    Comparing these sets (not the numbers) gives every operator's direction at once: `mustBeLessThan`
    tightens as its value falls, `mustBeGreaterThan` as it rises, `mustBeBetween` as it narrows.
    `counts`: the metric is never negative; `integers`: it is a whole number of rows, so
    `mustBeLessThan: 1` and `mustBe: 0` accept the same.
    """
    ((operator, value),) = threshold.items()
    inf = math.inf
    if operator in ("mustBeBetween", "mustNotBeBetween"):
        low, high = (float(v) for v in value)
        intervals = (
            [(low, True, high, True)]
            if operator == "mustBeBetween"
            else [(-inf, False, low, False), (high, False, inf, False)]
        )
    else:
        v = float(value)
        intervals = {
            "mustBe": [(v, True, v, True)],
            "mustNotBe": [(-inf, False, v, False), (v, False, inf, False)],
            "mustBeGreaterThan": [(v, False, inf, False)],
            "mustBeGreaterOrEqualTo": [(v, True, inf, False)],
            "mustBeLessThan": [(-inf, False, v, False)],
            "mustBeLessOrEqualTo": [(-inf, False, v, True)],
        }[operator]
    if counts:
        intervals = [
            (0.0, True, high, high_in) if low < 0 else (low, low_in, high, high_in)
            for low, low_in, high, high_in in intervals
        ]
    if integers:
        intervals = [_whole(interval) for interval in intervals]
    return [i for i in intervals if not _empty(i)]


def compare_thresholds(
    before: dict[str, Any], after: dict[str, Any], *, counts: bool = False, integers: bool = False
) -> str:
    """same, tightened (`after` accepts a subset), loosened (a superset) or changed (neither)."""
    accepted_before = accepted_values(before, counts=counts, integers=integers)
    accepted_after = accepted_values(after, counts=counts, integers=integers)
    return direction(subset(accepted_after, accepted_before), subset(accepted_before, accepted_after))


def direction(narrower: bool, wider: bool) -> str:
    """same, tightened, loosened or changed: whether the new set lies in the old, the old in the new."""
    if narrower and wider:
        return "same"
    return "tightened" if narrower else "loosened" if wider else "changed"


def _whole(interval: Interval) -> Interval:
    low, low_in, high, high_in = interval
    if math.isfinite(low):
        low, low_in = (math.ceil(low) if low_in else math.floor(low) + 1), True
    if math.isfinite(high):
        high, high_in = (math.floor(high) if high_in else math.ceil(high) - 1), True
    return (low, low_in, high, high_in)


def _empty(interval: Interval) -> bool:
    low, low_in, high, high_in = interval
    return low > high or (low == high and not (low_in and high_in))


def _contains(outer: Interval, inner: Interval) -> bool:
    o_low, o_low_in, o_high, o_high_in = outer
    i_low, i_low_in, i_high, i_high_in = inner
    low_ok = o_low < i_low or (o_low == i_low and (o_low_in or not i_low_in))
    high_ok = i_high < o_high or (i_high == o_high and (o_high_in or not i_high_in))
    return low_ok and high_ok


def subset(inner: list[Interval], outer: list[Interval]) -> bool:
    """Each interval of `inner` lies in one of `outer` (they are disjoint with gaps, so that suffices)."""
    return all(any(_contains(o, i) for o in outer) for i in inner)


def alternatives(pattern: str) -> frozenset[str]:
    """The top-level alternatives of a regular expression (`[0-9]{8}|[0-9]{13}` → two), outside
    groups and character classes. A full match of `a|b` is a full match of `a` or of `b`, so fewer
    alternatives accept fewer values."""
    parts, current, depth, in_class, escaped = [], [], 0, False, False
    for char in pattern:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return frozenset(parts)


# --- logicalTypeOptions ----------------------------------------------------------------------------------

TYPE_OPTION_GROUPS: dict[str, tuple[str, ...]] = {
    "value range": ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"),
    "length": ("minLength", "maxLength"),
    "item count": ("minItems", "maxItems"),
    "property count": ("minProperties", "maxProperties"),
    "multipleOf": ("multipleOf",),
    "pattern": ("pattern",),
    "uniqueItems": ("uniqueItems",),
    "required keys": ("required",),
    "timezone": ("timezone",),
    "defaultTimezone": ("defaultTimezone",),
}
"""The `logicalTypeOptions` the review compares, grouped by what they bound together; `format` is
reported on its own (type_format_changed)."""


def compare_type_options(group: str, before: dict[str, Any], after: dict[str, Any]) -> str:
    """same, tightened, loosened or changed: how the values one group of options accepts moved."""
    if group == "value range":
        old, new = _value_range(before), _value_range(after)
        if old is None or new is None:
            return "changed"
        return direction(subset([new], [old]), subset([old], [new]))
    if group in ("length", "item count", "property count"):
        low_key, high_key = TYPE_OPTION_GROUPS[group]
        old, new = (
            (
                float(o.get(low_key) or 0),
                True,
                math.inf if o.get(high_key) is None else float(o[high_key]),
                True,
            )
            for o in (before, after)
        )
        return direction(subset([new], [old]), subset([old], [new]))
    (key,) = TYPE_OPTION_GROUPS[group]
    old, new = before.get(key), after.get(key)
    if group == "multipleOf":
        return _compare_multiples(old, new)
    if group == "pattern":
        if old is None or new is None:
            return "tightened" if old is None else "loosened"
        old_parts, new_parts = alternatives(str(old)), alternatives(str(new))
        return direction(new_parts <= old_parts, old_parts <= new_parts)
    if group in ("uniqueItems", "timezone"):
        return direction(bool(new) or not old, bool(old) or not new)
    if group == "required keys":
        old_keys, new_keys = set(old or []), set(new or [])
        return direction(new_keys >= old_keys, old_keys >= new_keys)
    return "changed"


def _compare_multiples(old: Any, new: Any) -> str:
    """Multiples of b are multiples of a when b is a multiple of a."""
    if old is None or new is None:
        return "tightened" if old is None else "loosened"
    a, b = Fraction(str(old)), Fraction(str(new))
    return direction(b % a == 0, a % b == 0)


def _value_range(options: dict[str, Any]) -> Interval | None:
    """The values a minimum/maximum pair accepts (v3.1 exclusive bounds are values, v3.0 ones flags);
    None when a bound is not a number, a date, a timestamp or a time."""
    low, low_in, high, high_in = -math.inf, False, math.inf, False
    minimum, maximum = options.get("minimum"), options.get("maximum")
    ex_min, ex_max = options.get("exclusiveMinimum"), options.get("exclusiveMaximum")
    bounds_low = [(minimum, ex_min is not True)] if minimum is not None else []
    bounds_high = [(maximum, ex_max is not True)] if maximum is not None else []
    if ex_min is not None and not isinstance(ex_min, bool):
        bounds_low.append((ex_min, False))
    if ex_max is not None and not isinstance(ex_max, bool):
        bounds_high.append((ex_max, False))
    for value, inclusive in bounds_low:
        number = _ordinal(value)
        if number is None:
            return None
        if number > low or (number == low and not inclusive):
            low, low_in = number, inclusive
    for value, inclusive in bounds_high:
        number = _ordinal(value)
        if number is None:
            return None
        if number < high or (number == high and not inclusive):
            high, high_in = number, inclusive
    return (low, low_in, high, high_in)


def _ordinal(value: Any) -> float | None:
    """A bound as a number on one axis: numbers as they are, ISO dates and timestamps as UTC seconds,
    times as seconds of the day."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip()
    for parse in (float, _timestamp, _time_of_day):
        try:
            return parse(text)
        except ValueError:
            continue
    return None


def _timestamp(text: str) -> float:
    moment = datetime.fromisoformat(text)
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _time_of_day(text: str) -> float:
    moment = time.fromisoformat(text)
    return moment.hour * 3600 + moment.minute * 60 + moment.second + moment.microsecond / 1e6
