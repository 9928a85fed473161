"""Values that match a contract's `pattern`, and GS1 codes.

Ids such as `KB[0-9]{3}` or `T[0-9]{4}` are written as the pattern demands, numbered in its last
run of digits (`KB001`, `KB002`, …), so a contract's format rule holds for every generated id.
"""

from __future__ import annotations

import re
from re import _constants as sre_constants
from re import _parser as sre_parse


def sequence_from_pattern(pattern: str, number: int) -> str:
    """The `number`-th value matching `pattern` (its last digit run holds the number, zero-padded).

    Raises ValueError for patterns the generator cannot fill (back references, look-arounds) or
    when the number does not fit.
    """
    template = _merge_digit_runs(_template(sre_parse.parse(pattern)))
    runs = [i for i, part in enumerate(template) if isinstance(part, tuple)]
    values: list[str] = []
    for i, part in enumerate(template):
        if isinstance(part, str):
            values.append(part)
            continue
        low, high = part[1], part[2]
        text = str(number) if runs and i == runs[-1] else ""
        if len(text) > high:
            raise ValueError(f"{number} does not fit the digits of pattern {pattern!r}")
        values.append(text.zfill(low))
    value = "".join(values)
    if not re.fullmatch(pattern, value):
        raise ValueError(f"cannot generate a value for pattern {pattern!r}")
    return value


def _template(items: sre_parse.SubPattern) -> list[str | tuple[str, int, int]]:
    """Literal text and ("digits", min, max) runs describing the first alternative of a pattern."""
    out: list[str | tuple[str, int, int]] = []
    for op, arg in items:
        if op is sre_constants.LITERAL:
            out.append(chr(arg))
        elif op is sre_constants.IN or op is sre_constants.ANY:
            out.append(("digits", 1, 1) if _is_digit_class(op, arg) else _first_char(op, arg))
        elif op in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT):
            low, high, sub = arg
            inner = _template(sub)
            if len(inner) == 1 and isinstance(inner[0], tuple):
                out.append(
                    ("digits", low, sre_constants.MAXREPEAT if high == sre_constants.MAXREPEAT else high)
                )
            else:
                out.extend(inner * low)
        elif op is sre_constants.SUBPATTERN:
            out.extend(_template(arg[-1]))
        elif op is sre_constants.BRANCH:
            out.extend(_template(arg[1][0]))
        elif op is sre_constants.AT:
            continue
        else:
            raise ValueError(f"pattern element {op} is not supported")
    return out


def _is_digit_class(op: object, arg: list[tuple[object, object]]) -> bool:
    if op is sre_constants.ANY:
        return False
    return all(
        (kind is sre_constants.RANGE and 48 <= value[0] <= value[1] <= 57)
        or (kind is sre_constants.CATEGORY and value is sre_constants.CATEGORY_DIGIT)
        or (kind is sre_constants.LITERAL and 48 <= value <= 57)
        for kind, value in arg
    )


def _first_char(op: object, arg: list[tuple[object, object]]) -> str:
    if op is sre_constants.ANY:
        return "x"
    kind, value = arg[0]
    if kind is sre_constants.RANGE:
        return chr(value[0])
    if kind is sre_constants.LITERAL:
        return chr(value)
    if kind is sre_constants.CATEGORY:
        return {sre_constants.CATEGORY_WORD: "a", sre_constants.CATEGORY_SPACE: " "}.get(value, "0")
    raise ValueError(f"character class {arg} is not supported")


def _merge_digit_runs(template: list[str | tuple[str, int, int]]) -> list[str | tuple[str, int, int]]:
    merged: list[str | tuple[str, int, int]] = []
    for part in template:
        if isinstance(part, tuple) and merged and isinstance(merged[-1], tuple):
            previous = merged.pop()
            assert isinstance(previous, tuple)
            merged.append(("digits", previous[1] + part[1], previous[2] + part[2]))
        else:
            merged.append(part)
    return merged


def gs1_check_digit(body: str) -> str:
    """The GS1 (GTIN/GLN) check digit of the digits before it."""
    total = sum(int(digit) * (3 if i % 2 == 0 else 1) for i, digit in enumerate(reversed(body)))
    return str((10 - total % 10) % 10)


def gs1_code(prefix: str, number: int, length: int = 13) -> str:
    """A GS1 code of `length` digits: prefix, the number zero-padded, and a valid check digit."""
    body = prefix + str(number).zfill(length - 1 - len(prefix))
    if len(body) != length - 1:
        raise ValueError(f"{number} does not fit a {length}-digit code with prefix {prefix}")
    return body + gs1_check_digit(body)
