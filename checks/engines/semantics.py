"""Engine-neutral definitions: what "castable", "matches" and "the row kept" mean, written down once.

Every engine expresses these definitions in its own language (Polars expressions, DuckDB SQL,
pandas/pyarrow), so that all engines count the same rows. Nothing here computes over data; it only
produces regular expressions, strptime formats and small lookup tables. Regular expressions are
written for linear-time engines (Rust `regex` in Polars, RE2 in DuckDB and pyarrow): no
look-around, no back-references. Never evaluate them with Python's `re` row by row.

Castability (the `type` rule of a property with a `logicalType`):

- Only non-null values are judged; nulls are never type violations (`nullValues` counts them).
- Text values are judged **as delivered, not trimmed**: `" 12"` is not an integer. Silver casts
  without guessing, so a value the gate accepts must cast as it is.
- A text value is castable when it fully matches `Castability.text_pattern` and, for dates and
  timestamps, the calendar check below also succeeds.
- Native (non-text) columns follow `native_rule()`: e.g. integer columns are always castable to
  `integer`, float columns only where the value is integral.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from checks import formats
from checks.formats import UnsupportedDateFormat, parse_jdk
from checks.rules import STRING_FORMATS_ANY_VALUE, TYPE_OPTIONS, Rule

TEXT_LOGICAL_TYPES = ("string", "object", "array")
"""logicalTypes without a castability rule."""

INTEGER_PATTERN = r"[+-]?[0-9]+"
BOOLEAN_PATTERN = r"(?i:true|false|1|0)"


class UnsupportedDefinition(ValueError):
    """A contract asks for something the engines cannot judge identically (e.g. a date pattern letter)."""


def full_match(pattern: str) -> str:
    """Anchor a pattern so that it must match the whole value (ODCS `pattern` is a full match).

    For engines whose API only searches (Polars `str.contains`, pyarrow `match_substring_regex`).
    `$` in Rust regex and RE2 matches only at the very end of the text, never before a final newline.
    DuckDB has `regexp_full_match(value, pattern)` and takes the pattern as is.
    """
    return f"^(?:{pattern})$"


def number_pattern(decimal_separator: str = ".") -> str:
    """Optional sign, digits with the contract's decimal separator, optional exponent.

    Accepted: `12`, `-12`, `12.5`, `.5`, `1.5e3`, `1E-2` (with `,` as separator: `12,5`). Not
    accepted: thousands separators, `12.` (a separator must be followed by digits), `NaN`, `inf`.
    """
    sep = re.escape(decimal_separator)
    return rf"[+-]?(?:[0-9]+(?:{sep}[0-9]+)?|{sep}[0-9]+)(?:[eE][+-]?[0-9]+)?"


# -- dates and timestamps ------------------------------------------------------------------------

_JDK_FIELDS = {name: parse_jdk(name) for name in ("MM", "dd", "HH", "mm", "ss")}
DEFAULT_DATE_FORMAT = formats.DEFAULT_DATE_FORMAT
TIME_PREFIX = ("1970-01-01 ", "%Y-%m-%d ")
"""Parse text and format prepended to a time of day, so that every parser reads it on one date."""


@dataclass(frozen=True)
class TemporalFormat:
    """How a text value is judged castable to a date, timestamp or time.

    Castable = full match of `regex` (which already fixes the width and range of every field, so
    parser leniencies — leading blanks, one-digit months, second 60 — never matter) AND a
    successful strict parse of the parse text with `strptime`, which only adds the calendar check
    (no 30 February, 29 February only in leap years).
    The parse text is `parse_prefix` and then the whole value, or when `parse_slices` is set, the
    0-based `[start, end)` slices of the value joined by one space (fractions of seconds and zone
    offsets, which the regex has judged already, are left out). A time of day is parsed on
    1970-01-01 (`TIME_PREFIX`), so every engine compares times on the same date.
    """

    regex: str
    strptime: str
    parse_slices: tuple[tuple[int, int], ...] | None = None
    jdk_pattern: str = ""
    parse_prefix: str = ""

    def parse_text(self, value: str) -> str:
        """The text handed to strptime (reference implementation for tests and small inputs)."""
        if self.parse_slices is None:
            return self.parse_prefix + value
        return self.parse_prefix + " ".join(value[start:end] for start, end in self.parse_slices)


ISO_DATE = TemporalFormat(
    regex=parse_jdk(DEFAULT_DATE_FORMAT).regex, strptime="%Y-%m-%d", jdk_pattern=DEFAULT_DATE_FORMAT,
)
_ISO_TIME = (rf"{_JDK_FIELDS['HH'].regex}:{_JDK_FIELDS['mm'].regex}:{_JDK_FIELDS['ss'].regex}"
             r"(?:\.[0-9]{1,9})?")
ISO_TIMESTAMP = TemporalFormat(
    regex=rf"{ISO_DATE.regex}[T ]{_ISO_TIME}",
    strptime="%Y-%m-%d %H:%M:%S",
    parse_slices=((0, 10), (11, 19)),
    jdk_pattern="yyyy-MM-dd'T'HH:mm:ss[.S…] (or a blank for T)",
)
"""Default for timestamps without `logicalTypeOptions.format`: ISO 8601 local date-time with `T`
or a blank between date and time and an optional fraction of 1–9 digits; no zone offset."""
ISO_TIME = TemporalFormat(
    regex=_ISO_TIME, strptime=TIME_PREFIX[1] + "%H:%M:%S", parse_slices=((0, 8),),
    jdk_pattern="HH:mm:ss[.S…]", parse_prefix=TIME_PREFIX[0],
)
"""Default for times without `logicalTypeOptions.format`: ISO 8601 local time, optional fraction."""


def temporal_format(logical_type: str, jdk_pattern: str | None) -> TemporalFormat:
    """The castability definition of a date, timestamp or time property.

    `jdk_pattern` is the property's `logicalTypeOptions.format`, translated by `checks.formats`
    (the one translation the readers and the generator use too); a pattern it refuses raises
    `UnsupportedDefinition`, because the engines' parsers would disagree on it.
    """
    if not jdk_pattern:
        return {"timestamp": ISO_TIMESTAMP, "time": ISO_TIME}.get(logical_type, ISO_DATE)
    try:
        translated = parse_jdk(jdk_pattern)
    except UnsupportedDateFormat as exc:
        raise UnsupportedDefinition(str(exc)) from None
    if logical_type == "time":
        if translated.has_date:
            raise UnsupportedDefinition(f"time pattern {jdk_pattern!r} has date fields; use a timestamp")
        return TemporalFormat(regex=translated.regex, strptime=TIME_PREFIX[1] + translated.strptime,
                              parse_slices=translated.parse_slices, jdk_pattern=jdk_pattern,
                              parse_prefix=TIME_PREFIX[0])
    return TemporalFormat(regex=translated.regex, strptime=translated.strptime,
                          parse_slices=translated.parse_slices, jdk_pattern=jdk_pattern)


# -- castability per logicalType -----------------------------------------------------------------


class NativeKind(StrEnum):
    """The kind of a column's native (non-text) type, as each engine classifies its dtypes."""

    TEXT = "text"
    INTEGER = "integer"
    FLOAT = "float"
    DECIMAL = "decimal"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"
    TIME = "time"
    OTHER = "other"


class NativeRule(StrEnum):
    """Which non-null native values are castable."""

    TEXT = "text"
    """Judge the text with `Castability.text_pattern` (and the calendar check)."""
    ALWAYS = "always"
    NEVER = "never"
    INTEGRAL = "integral"
    """Castable where the value is finite and has no fractional part."""
    ZERO_OR_ONE = "zero_or_one"
    """Castable where the value is 0 or 1."""


_NATIVE_RULES: dict[str, dict[NativeKind, NativeRule]] = {
    "integer": {NativeKind.INTEGER: NativeRule.ALWAYS, NativeKind.FLOAT: NativeRule.INTEGRAL,
                NativeKind.DECIMAL: NativeRule.INTEGRAL},
    "number": {NativeKind.INTEGER: NativeRule.ALWAYS, NativeKind.FLOAT: NativeRule.ALWAYS,
               NativeKind.DECIMAL: NativeRule.ALWAYS},
    "boolean": {NativeKind.BOOLEAN: NativeRule.ALWAYS, NativeKind.INTEGER: NativeRule.ZERO_OR_ONE},
    "date": {NativeKind.DATE: NativeRule.ALWAYS, NativeKind.DATETIME: NativeRule.ALWAYS},
    "timestamp": {NativeKind.DATE: NativeRule.ALWAYS, NativeKind.DATETIME: NativeRule.ALWAYS},
    "time": {NativeKind.TIME: NativeRule.ALWAYS},
}


@dataclass(frozen=True)
class Castability:
    """What makes a value castable to one property's logicalType."""

    logical_type: str
    text_pattern: str
    """Full-match regex for text values (not trimmed)."""
    temporal: TemporalFormat | None = None
    """For date/timestamp: the calendar check on top of `text_pattern` (== `temporal.regex`)."""

    def native_rule(self, kind: NativeKind) -> NativeRule:
        """How non-text columns of this kind are judged; anything not listed is never castable."""
        if kind == NativeKind.TEXT:
            return NativeRule.TEXT
        return _NATIVE_RULES[self.logical_type].get(kind, NativeRule.NEVER)


def castability(logical_type: str, type_format: str | None = None,
                decimal_separator: str = ".") -> Castability:
    """The castability definition of a `type` rule; raises `UnsupportedDefinition` when none exists."""
    if logical_type == "integer":
        return Castability(logical_type, INTEGER_PATTERN)
    if logical_type == "number":
        return Castability(logical_type, number_pattern(decimal_separator))
    if logical_type == "boolean":
        return Castability(logical_type, BOOLEAN_PATTERN)
    if logical_type in ("date", "timestamp", "time"):
        temporal = temporal_format(logical_type, type_format)
        return Castability(logical_type, temporal.regex, temporal)
    raise UnsupportedDefinition(f"no castability rule for logicalType {logical_type!r}")


# -- comparing values with the contract's literals -----------------------------------------------


def text_form(value: Any) -> str | None:
    """The text a contract literal (validValues, missingValues) is compared as.

    Values in the batch are compared by their text form too, so a CSV `"1"` equals a YAML `1`.
    Text forms are defined for text (as is), integers (`-12`), booleans (`true`/`false`) and dates
    (`2024-01-31`); engines agree on those. Floats and timestamps have engine-specific text forms:
    do not put `validValues`, `pattern` or relationships on such columns.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def text_values(values: list[Any]) -> tuple[list[str], bool]:
    """A literal list as (text forms without null, whether null is listed)."""
    texts = [text_form(v) for v in values]
    return [t for t in texts if t is not None], any(t is None for t in texts)


# -- duplicates: which row is kept ---------------------------------------------------------------

KEPT_ROW = (
    "Within each group of equal keys (nulls equal to each other) one row is kept and the others are "
    "the violating rows. With `Rule.keep_latest_by` set, the kept row has the latest value of that "
    "column: native dates/timestamps as they are, text parsed with the column's castability "
    "definition (`castability(order.logical_type, order.type_format)`; uncastable text and nulls "
    "are oldest; other columns are compared by their native value). Ties, and rules without "
    "`keep_latest_by` (or whose column is missing from the batch), keep the first row in delivery "
    "order (lowest ROW_NUMBER)."
)


# -- logicalTypeOptions --------------------------------------------------------------------------

_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_IPV4 = rf"{_OCTET}(?:\.{_OCTET}){{3}}"
_H16 = r"[0-9A-Fa-f]{1,4}"
_IPV6 = "|".join((
    rf"(?:{_H16}:){{7}}{_H16}",
    rf"(?:{_H16}:){{1,7}}:",
    rf"(?:{_H16}:){{1,6}}:{_H16}",
    rf"(?:{_H16}:){{1,5}}(?::{_H16}){{1,2}}",
    rf"(?:{_H16}:){{1,4}}(?::{_H16}){{1,3}}",
    rf"(?:{_H16}:){{1,3}}(?::{_H16}){{1,4}}",
    rf"(?:{_H16}:){{1,2}}(?::{_H16}){{1,5}}",
    rf"{_H16}:(?::{_H16}){{1,6}}",
    rf":(?:(?::{_H16}){{1,7}}|:)",
    rf"(?:{_H16}:){{6}}{_IPV4}",
    rf"(?:{_H16}:){{1,5}}:{_IPV4}",
    rf"::(?:{_H16}:){{0,5}}{_IPV4}",
))
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
STRING_FORMATS: dict[str, tuple[str, int | None]] = {
    # format -> (full-match regex, maximum length or None)
    "email": (r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@" + rf"{_LABEL}(?:\.{_LABEL})*", None),
    "uuid": (r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}", None),
    "uri": (r"[A-Za-z][A-Za-z0-9+.-]*:[^\s\x00-\x1f\x7f]*", None),
    "hostname": (rf"{_LABEL}(?:\.{_LABEL})*", 253),
    "ipv4": (_IPV4, None),
    "ipv6": (_IPV6, None),
    "byte": (r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?", None),
}
"""What a string `format` means, as a full match (and a length limit): `email` is HTML's valid
e-mail address, `uuid` RFC 4122's text form (any version, either case), `uri` an RFC 3986 scheme,
a colon and no blank or control character, `hostname` RFC 1123 labels of at most 63 characters,
253 in all, `ipv4` dotted decimal without leading zeros, `ipv6` RFC 4291's text forms (no zone
index), `byte` RFC 4648 base64 with padding."""

INTEGER_FORMATS: dict[str, tuple[int, int]] = {
    **{f"i{bits}": (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) for bits in (8, 16, 32, 64, 128)},
    **{f"u{bits}": (0, 2 ** bits - 1) for bits in (8, 16, 32, 64, 128)},
}
FLOAT_FORMATS: dict[str, float] = {"f32": 3.4028234663852886e38, "f64": 1.7976931348623157e308}
"""Largest finite magnitude of each float format (the value must lie within it; its precision is
not judged)."""
INT128_MIN, INT128_MAX = -(2 ** 127), 2 ** 127 - 1
"""Integer values are compared exactly as 128-bit integers; a value beyond them (39 digits and
more) counts as below every lower and above every upper bound (so `u128` holds up to 2^127 − 1)."""
MULTIPLE_TOLERANCE = 1e-9
"""A number is a multiple of `m` when value / m is within 1e-9 × max(1, |value / m|) of an integer
(64-bit floats: `0.07` is a multiple of `0.01`)."""


class OptionCheck(StrEnum):
    """What one logicalTypeOption checks on each non-null value."""

    LENGTH = "length"
    """Characters of the value's text form within [low, high]."""
    PATTERN = "pattern"
    """The text form fully matches `pattern` (and has at most `high` characters when set)."""
    RANGE = "range"
    """The value (of a value castable to the logicalType) within the bounds."""
    MULTIPLE = "multiple"
    """The value is a multiple of `multiple`."""
    ITEMS = "items"
    """Items of an array within [low, high]."""
    UNIQUE_ITEMS = "uniqueItems"
    """No two items of an array are equal (null items equal each other)."""
    PROPERTIES = "properties"
    """Non-null fields of an object within [low, high]."""
    REQUIRED = "required"
    """Every field in `fields` exists and is not null."""


class ValueDomain(StrEnum):
    """How the values of a RANGE or MULTIPLE check are compared."""

    INTEGER = "integer"
    """Exactly, as 128-bit integers (INT128_MIN/INT128_MAX); bounds are integers, inclusive."""
    NUMBER = "number"
    """As 64-bit floats, the text read with the contract's decimal separator."""
    TEMPORAL = "temporal"
    """As timestamps (microseconds, no zone); dates at midnight."""


@dataclass(frozen=True)
class TypeOption:
    """One `logicalTypeOptions` entry as a row-level check. Null values never violate it; for
    integer, number, date, timestamp and time only values castable to the type are judged (the
    others are counted by the `<property>_type` rule)."""

    name: str
    value: Any
    check: OptionCheck
    castability: Castability | None = None
    domain: ValueDomain | None = None
    low: Any = None
    high: Any = None
    low_inclusive: bool = True
    high_inclusive: bool = True
    pattern: str | None = None
    multiple: float | int | None = None
    fields: tuple[str, ...] = ()


def rule_type_option(rule: Rule, decimal_separator: str = ".") -> TypeOption:
    """The check of a `typeOption` rule (checks.rules)."""
    return type_option(rule.logical_type or "", rule.arguments["option"], rule.arguments["value"],
                       rule.type_format, decimal_separator)


def type_option(logical_type: str, name: str, value: Any, type_format: str | None = None,
                decimal_separator: str = ".") -> TypeOption:
    """The check of one logicalTypeOption; `UnsupportedDefinition` says why there is none."""
    if name not in TYPE_OPTIONS.get(logical_type, ()):
        raise UnsupportedDefinition(f"logicalTypeOptions.{name} is not an option of "
                                    f"logicalType {logical_type!r}")
    if logical_type == "string":
        return _string_option(name, value)
    if logical_type in ("array", "object"):
        return _collection_option(logical_type, name, value)
    cast = castability(logical_type, type_format, decimal_separator)
    if logical_type in ("integer", "number"):
        return _numeric_option(cast, name, value)
    if type_format and parse_jdk(type_format).has_offset:
        raise UnsupportedDefinition(f"logicalTypeOptions.{name}: values in {type_format!r} carry a zone "
                                    "offset, which the gates judge by its form only, so bounds cannot be "
                                    "compared")
    bound = parse_temporal_bound(logical_type, type_format, value, name)
    return _bounded(name, value, cast, ValueDomain.TEMPORAL, bound)


def _string_option(name: str, value: Any) -> TypeOption:
    if name in ("minLength", "maxLength"):
        length = _non_negative_integer(name, value)
        bounds = {"low": length} if name == "minLength" else {"high": length}
        return TypeOption(name, value, OptionCheck.LENGTH, **bounds)
    if name == "pattern":
        if not isinstance(value, str):
            raise UnsupportedDefinition("logicalTypeOptions.pattern must be a string")
        return TypeOption(name, value, OptionCheck.PATTERN, pattern=value)
    if value not in STRING_FORMATS:
        known = ", ".join([*STRING_FORMATS, *STRING_FORMATS_ANY_VALUE])
        raise UnsupportedDefinition(f"string format {value!r} has no definition the gates can check "
                                    f"(known: {known})")
    pattern, longest = STRING_FORMATS[value]
    return TypeOption(name, value, OptionCheck.PATTERN, pattern=pattern, high=longest)


def _collection_option(logical_type: str, name: str, value: Any) -> TypeOption:
    if name == "uniqueItems":
        if not isinstance(value, bool):
            raise UnsupportedDefinition("logicalTypeOptions.uniqueItems must be true or false")
        return TypeOption(name, value, OptionCheck.UNIQUE_ITEMS)
    if name == "required":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise UnsupportedDefinition("logicalTypeOptions.required must be a list of property names")
        return TypeOption(name, value, OptionCheck.REQUIRED, fields=tuple(value))
    count = _non_negative_integer(name, value)
    check = OptionCheck.ITEMS if logical_type == "array" else OptionCheck.PROPERTIES
    bounds = {"low": count} if name.startswith("min") else {"high": count}
    return TypeOption(name, value, check, **bounds)


def _numeric_option(cast: Castability, name: str, value: Any) -> TypeOption:
    integer = cast.logical_type == "integer"
    domain = ValueDomain.INTEGER if integer else ValueDomain.NUMBER
    if name == "format":
        formats = INTEGER_FORMATS if integer else FLOAT_FORMATS
        if value not in formats:
            raise UnsupportedDefinition(f"{cast.logical_type} format {value!r} is not one of "
                                        f"{', '.join(formats)}")
        if integer:
            low, high = INTEGER_FORMATS[value]
            return TypeOption(name, value, OptionCheck.RANGE, cast, domain, low, min(high, INT128_MAX))
        largest = FLOAT_FORMATS[value]
        return TypeOption(name, value, OptionCheck.RANGE, cast, domain, -largest, largest)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise UnsupportedDefinition(f"logicalTypeOptions.{name} must be a finite number, not {value!r}")
    if name == "multipleOf":
        if value <= 0:
            raise UnsupportedDefinition("logicalTypeOptions.multipleOf must be greater than 0")
        exact = integer and float(value).is_integer()
        multiple = int(value) if exact else float(value)
        return TypeOption(name, value, OptionCheck.MULTIPLE, cast,
                          ValueDomain.INTEGER if exact else ValueDomain.NUMBER, multiple=multiple)
    if integer:  # integer bounds, inclusive: x > 2.5 is x >= 3
        bound = {"minimum": math.ceil(value), "exclusiveMinimum": math.floor(value) + 1,
                 "maximum": math.floor(value), "exclusiveMaximum": math.ceil(value) - 1}[name]
        return _bounded(name, value, cast, domain, max(INT128_MIN, min(INT128_MAX, bound)), inclusive=True)
    return _bounded(name, value, cast, domain, float(value))


def _bounded(name: str, value: Any, cast: Castability, domain: ValueDomain, bound: Any, *,
             inclusive: bool | None = None) -> TypeOption:
    lower = name in ("minimum", "exclusiveMinimum")
    closed = inclusive if inclusive is not None else not name.startswith("exclusive")
    if lower:
        return TypeOption(name, value, OptionCheck.RANGE, cast, domain, low=bound, low_inclusive=closed)
    return TypeOption(name, value, OptionCheck.RANGE, cast, domain, high=bound, high_inclusive=closed)


def not_carried(option: TypeOption, column: str, dtype: object, what: str) -> UnsupportedDefinition:
    """Array and object options on a column whose values are not arrays or objects (CSV text)."""
    return UnsupportedDefinition(f"{option.name}: column {column} holds {dtype} values, not {what}; "
                                 f"{what} are checked where the delivery format carries them "
                                 "(Parquet, JSON, Delta)")


def _non_negative_integer(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise UnsupportedDefinition(f"logicalTypeOptions.{name} must be a non-negative integer, "
                                    f"not {value!r}")
    return value


def parse_temporal_bound(logical_type: str, type_format: str | None, value: Any, name: str) -> datetime:
    """A date/timestamp/time bound (`minimum: "2024-01-01"`) as a timestamp: written in the
    property's own format, or in ISO 8601 (`2024-01-01`, `2024-01-01T10:00:00`); no zone offset."""
    text = str(value)
    try:
        temporal = castability(logical_type, type_format).temporal
    except UnsupportedDefinition:
        temporal = None
    if temporal is not None and re.fullmatch(temporal.regex, text):
        try:
            return datetime.strptime(temporal.parse_text(text), temporal.strptime)
        except ValueError:
            pass
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise UnsupportedDefinition(f"logicalTypeOptions.{name} {text!r} is neither in the property's "
                                    f"format nor an ISO 8601 date or timestamp") from None
    if parsed.tzinfo is not None:
        raise UnsupportedDefinition(f"logicalTypeOptions.{name} {text!r}: a bound with a zone offset "
                                    "cannot be compared with values without one")
    return parsed
