"""Date and time formats of contracts: the one translation of JDK patterns (`logicalTypeOptions.format`).

ODCS writes formats the way Java's `DateTimeFormatter` does (`dd.MM.yyyy`). Everything that reads
or writes such a value uses `parse_jdk`: the gates' castability definition
(`checks.engines.semantics.temporal_format`: a regex plus a strict calendar parse), the readers that
turn text into dates (bronze/silver mapping, API pulls: `jdk_to_strptime`) and the demo generator
that writes them (`jdk_to_strftime`). A pattern letter is accepted only where Polars (chrono), DuckDB
and Python agree on it, so every engine and every reader means the same by a pattern.

Supported: `yyyy`/`uuuu`, `MMMM`/`MMM` (English month names, as JDK's English locale), `MM`, `M`,
`dd`, `d`, `HH`, `H`, `hh` with `a` (12-hour clock, `AM`/`PM`), `mm`, `ss`, fractions `S`…`SSSSSSSSS`,
zone offsets `Z` (`+0100`), `X`, `XX`, `XXX` (`Z` or `+01`, `+0100`, `+01:00`), `x`, `xx`, `xxx`
(the same without `Z`), quoted literals (`'T'`, `''` for a quote) and any other non-letter character.
Not supported, because the parsers disagree: two-digit years `yy` (JDK reads 2000–2099, chrono
1970–2069), day names `EEE` (chrono checks them against the date, DuckDB and Python do not),
one-digit `h`, `m`, `s`, and every other letter.

Fractions and offsets are judged by the regex only (their form and range); the calendar parse
reads the rest, so they need fixed-width fields before them (`yyyy-MM-dd HH:mm:ssZ` yes,
`d.M.yyyy HH:mmZ` no).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_DATE_FORMAT = "yyyy-MM-dd"
DEFAULT_TIMESTAMP_FORMAT = "yyyy-MM-dd HH:mm:ss"
DEFAULT_TIME_FORMAT = "HH:mm:ss"


class UnsupportedDateFormat(ValueError):
    """A JDK pattern the engines and readers cannot all read the same way; the message says why."""


_YEAR = r"(?:[1-9][0-9]{3}|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])"  # 0001..9999: every parser agrees
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December")
_OFFSET_HOURS = r"[+-](?:0[0-9]|1[0-8])"


@dataclass(frozen=True)
class _Field:
    regex: str
    """Exactly the text accepted."""
    parse: str | None
    """Directive of the gates' strict calendar parse (DuckDB, Polars); None: judged by the regex
    only, and left out of the parse text."""
    read: str | None
    """Directive for readers parsing with Polars; None: readers cannot parse it."""
    write: str | None
    """strftime directive for writing (generator); None: cannot be written."""
    width: int | None
    """Width in characters when fixed."""


_FIELDS: dict[str, _Field] = {
    "yyyy": _Field(_YEAR, "%Y", "%Y", "%Y", 4),
    "uuuu": _Field(_YEAR, "%Y", "%Y", "%Y", 4),
    "MMMM": _Field(f"(?:{'|'.join(_MONTHS)})", "%B", "%B", "%B", None),
    "MMM": _Field(f"(?:{'|'.join(m[:3] for m in _MONTHS)})", "%b", "%b", "%b", 3),
    "MM": _Field(r"(?:0[1-9]|1[0-2])", "%m", "%m", "%m", 2),
    "M": _Field(r"(?:0?[1-9]|1[0-2])", "%m", "%-m", "%-m", None),
    "dd": _Field(r"(?:0[1-9]|[12][0-9]|3[01])", "%d", "%d", "%d", 2),
    "d": _Field(r"(?:0?[1-9]|[12][0-9]|3[01])", "%d", "%-d", "%-d", None),
    "HH": _Field(r"(?:[01][0-9]|2[0-3])", "%H", "%H", "%H", 2),
    "H": _Field(r"(?:[01]?[0-9]|2[0-3])", "%H", "%-H", "%-H", None),
    "hh": _Field(r"(?:0[1-9]|1[0-2])", "%I", "%I", "%I", 2),
    "a": _Field(r"(?:AM|PM)", "%p", "%p", "%p", 2),
    "mm": _Field(r"[0-5][0-9]", "%M", "%M", "%M", 2),
    "ss": _Field(r"[0-5][0-9]", "%S", "%S", "%S", 2),
    "Z": _Field(rf"{_OFFSET_HOURS}[0-5][0-9]", None, "%z", "%z", 5),
    "ZZ": _Field(rf"{_OFFSET_HOURS}[0-5][0-9]", None, "%z", "%z", 5),
    "ZZZ": _Field(rf"{_OFFSET_HOURS}[0-5][0-9]", None, "%z", "%z", 5),
    "X": _Field(rf"(?:Z|{_OFFSET_HOURS}(?:[0-5][0-9])?)", None, "%#z", None, None),
    "XX": _Field(rf"(?:Z|{_OFFSET_HOURS}[0-5][0-9])", None, "%#z", None, None),
    "XXX": _Field(rf"(?:Z|{_OFFSET_HOURS}:[0-5][0-9])", None, "%#z", None, None),
    "x": _Field(rf"{_OFFSET_HOURS}(?:[0-5][0-9])?", None, "%#z", None, None),
    "xx": _Field(rf"{_OFFSET_HOURS}[0-5][0-9]", None, "%z", "%z", 5),
    "xxx": _Field(rf"{_OFFSET_HOURS}:[0-5][0-9]", None, "%:z", None, 6),
}
_OFFSETS = frozenset(k for k in _FIELDS if k[0] in "ZXx")
_TOKEN = re.compile(r"'(?:[^']|'')*'|([A-Za-z])\1*|.", re.DOTALL)


def _fraction(digits: int) -> _Field:
    read = f"%{digits}f" if digits in (3, 6, 9) else None
    return _Field(f"[0-9]{{{digits}}}", None, read, "%f" if digits == 6 else None, digits)


@dataclass(frozen=True)
class JdkPattern:
    """One JDK pattern, translated once for every use."""

    pattern: str
    regex: str
    """Full-match regex of exactly the accepted text (fixed widths and ranges of every field)."""
    strptime: str
    """The calendar parse's format, for the parse text (`parse_slices`)."""
    parse_slices: tuple[tuple[int, int], ...] | None
    """0-based `[start, end)` slices of the value joined by one space make the parse text; None: the
    whole value (no fraction or offset left out)."""
    strptime_read: str | None
    """For readers (Polars `str.to_datetime`/`to_date`); None: some letter cannot be read."""
    strftime: str | None
    """For writing; None: some letter cannot be written."""
    has_offset: bool
    has_date: bool
    has_time: bool


def parse_jdk(pattern: str) -> JdkPattern:
    """Translate a JDK date/time pattern; `UnsupportedDateFormat` names the letters it cannot take."""
    regex: list[str] = []
    parse: list[str] = []
    read: list[str | None] = []
    write: list[str | None] = []
    slices: list[tuple[int, int]] = []
    position: int | None = 0
    start: int | None = 0  # start of the slice being read, None while inside left-out text
    left_out = False
    letters: list[str] = []

    def literal(text: str) -> None:
        nonlocal position
        regex.append(re.escape(text))
        read.append(text.replace("%", "%%"))
        write.append(text.replace("%", "%%"))
        if start is not None:
            parse.append(text.replace("%", "%%"))
        if position is not None:
            position += len(text)

    for match in _TOKEN.finditer(pattern):
        token = match.group(0)
        if token.startswith("'"):
            literal(token[1:-1].replace("''", "'") if len(token) > 2 else "'")
            continue
        if not match.group(1):
            literal(token)
            continue
        field = _fraction(len(token)) if set(token) == {"S"} and len(token) <= 9 else _FIELDS.get(token)
        if field is None:
            raise UnsupportedDateFormat(
                f"date pattern {pattern!r}: {token!r} is not supported (supported: "
                f"{' '.join(k for k in _FIELDS if k not in _OFFSETS)}, S… fractions, offsets "
                "Z X XX XXX x xx xxx, quoted literals and punctuation)")
        letters.append(token)
        regex.append(field.regex)
        read.append(field.read)
        write.append(field.write)
        if field.parse is None:  # judged by the regex only: close the slice read so far
            if position is None:
                raise UnsupportedDateFormat(f"date pattern {pattern!r}: {token!r} follows a field of "
                                            "varying width (M, d, H, MMMM); write MM, dd, HH before it")
            if start is not None and position > start:
                slices.append((start, position))
            start, left_out = None, True
            position = None if field.width is None else position + field.width
        else:
            if start is None:
                if position is None:
                    raise UnsupportedDateFormat(f"date pattern {pattern!r}: {token!r} follows an offset "
                                                "of varying width; put the offset last")
                start = position
                if parse:
                    parse.append(" ")
            parse.append(field.parse)
            position = None if field.width is None or position is None else position + field.width
    if left_out and start is not None:
        if position is None:
            raise UnsupportedDateFormat(f"date pattern {pattern!r}: a fraction or offset must come after "
                                        "fields of fixed width only")
        slices.append((start, position))
    if ("hh" in letters) != ("a" in letters):
        raise UnsupportedDateFormat(f"date pattern {pattern!r}: hh (12-hour clock) and a (AM/PM) go together")
    return JdkPattern(
        pattern=pattern, regex="".join(regex), strptime="".join(parse),
        parse_slices=tuple(slices) if left_out else None,
        strptime_read=None if None in read else "".join(str(r) for r in read),
        strftime=None if None in write else "".join(str(w) for w in write),
        has_offset=any(t in _OFFSETS for t in letters),
        has_date=any(t[0] in "yuMd" for t in letters),
        has_time=any(t[0] in "Hhms" for t in letters),
    )


def jdk_to_strftime(pattern: str) -> str:
    """The strftime format that writes values in a JDK pattern (glibc `%-d` for one-digit fields)."""
    translated = parse_jdk(pattern)
    if translated.strftime is None:
        raise UnsupportedDateFormat(f"date pattern {pattern!r} cannot be written (fractions other than "
                                    "SSSSSS, offsets other than Z, xx)")
    return translated.strftime


def jdk_to_strptime(pattern: str) -> str:
    """The Polars (chrono) format that reads values in a JDK pattern; with an offset (`has_offset`)
    it reads zone-aware values."""
    translated = parse_jdk(pattern)
    if translated.strptime_read is None:
        raise UnsupportedDateFormat(f"date pattern {pattern!r} cannot be read (fractions other than "
                                    "SSS, SSSSSS, SSSSSSSSS)")
    return translated.strptime_read
