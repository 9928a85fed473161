"""File names for deliveries, built from an object's `filePattern` glob and `periodPattern` regex.

The contract does not say how a period is written in a name, so candidates (20250324, 2025-03-24,
202503, …; the store or region as it is, or slugged) are tried until one matches both the glob and
the regex and the regex's `period` group contains the date. A second name for the same period (a
re-delivery or a restatement) is found the same way: a version suffix such as `_v2` inserted where
the regex still yields the same period.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from fnmatch import fnmatchcase
from itertools import permutations

from shelfguard.demo_data.periods import Period
from shelfguard.demo_data.spec import ObjectSpec

DAY_FORMATS = ("%Y%m%d", "%Y-%m-%d", "%Y_%m_%d", "%d%m%Y", "%d-%m-%Y", "%d_%m_%Y", "%d.%m.%Y", "%Y.%m.%d",
               "%m%d%Y", "%m-%d-%Y", "%m_%d_%Y")
DATE_FORMATS = {
    "day": DAY_FORMATS,
    "week": (*DAY_FORMATS, "%G-W%V", "%GW%V", "%G%V"),
    "month": ("%Y%m", "%Y-%m", "%Y_%m", "%m%Y", "%m-%Y", "%m_%Y", "%m.%Y", *DAY_FORMATS),
}
"""How a period's date may be written in a file name, tried in order (the first that fits the object's
patterns wins): every order of year, month and day with `-`, `_`, `.` or nothing between."""
VERSION_SUFFIXES = ("_v{n}", "-v{n}", "_{n}", ".v{n}")
KEY_SEPARATORS = ("_", "-", "")


def file_name(obj: ObjectSpec, period: Period, key: str | None) -> str:
    """The delivery's file name; ValueError when no candidate fits the object's patterns."""
    assert obj.file_pattern is not None
    for date_text in (period.anchor.strftime(fmt) for fmt in DATE_FORMATS[period.kind]):
        for key_text in key_variants(key):
            for name in _fill(obj.file_pattern, date_text, key_text):
                if _fits(obj, name, date_text, key_text):
                    return name
    raise ValueError(
        f"no file name for period {period.label}{f' and {key}' if key else ''} matches "
        f"filePattern {obj.file_pattern!r} and periodPattern "
        f"{obj.period_pattern.pattern if obj.period_pattern else None!r}"
    )


def alternate_name(obj: ObjectSpec, name: str, version: int) -> str | None:
    """Another name with the same period per the periodPattern (None when the patterns allow none)."""
    assert obj.file_pattern is not None
    if obj.period_pattern is None:
        return None
    original = obj.period_pattern.fullmatch(name)
    if original is None:
        return None
    for suffix in (template.format(n=version) for template in VERSION_SUFFIXES):
        for position in range(len(name), -1, -1):
            candidate = name[:position] + suffix + name[position:]
            match = obj.period_pattern.fullmatch(candidate)
            if (
                match
                and match.group("period") == original.group("period")
                and fnmatchcase(candidate, obj.file_pattern)
            ):
                return candidate
    return None


def key_variants(key: str | None) -> list[str | None]:
    """A store or region as it may appear in a file name."""
    if key is None:
        return [None]
    ascii_key = unicodedata.normalize("NFKD", key).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^0-9A-Za-z]+", "_", ascii_key).strip("_")
    variants = [key, slug, slug.lower(), slug.upper(), slug.replace("_", ""), slug.replace("_", "").lower()]
    return list(dict.fromkeys(variants))


def _fill(glob: str, date_text: str, key_text: str | None) -> Iterator[str]:
    stars = glob.count("*")
    if key_text is None:
        groups: list[tuple[str, ...]] = [(date_text,)]
    else:
        groups = [(key_text, date_text), (date_text, key_text)]
    for group in groups:
        if stars == len(group):
            for order in permutations(group):
                yield _replace_stars(glob, order)
        elif stars == 1:
            for separator in KEY_SEPARATORS:
                yield _replace_stars(glob, (separator.join(group),))


def _replace_stars(glob: str, parts: tuple[str, ...]) -> str:
    pieces = glob.split("*")
    return pieces[0] + "".join(part + piece for part, piece in zip(parts, pieces[1:], strict=True))


def _fits(obj: ObjectSpec, name: str, date_text: str, key_text: str | None) -> bool:
    assert obj.file_pattern is not None
    if not fnmatchcase(name, obj.file_pattern) or (key_text is not None and key_text not in name):
        return False
    if obj.period_pattern is None:
        return True
    match = obj.period_pattern.fullmatch(name)
    return match is not None and date_text in match.group("period")
