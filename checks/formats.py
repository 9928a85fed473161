"""Date and time formats of contracts: JDK patterns (`logicalTypeOptions.format`) as strftime.

ODCS writes formats the way Java's `DateTimeFormatter` does (`dd.MM.yyyy`). Python's `strftime`
and Polars' `strptime` (chrono) both understand the `%` directives produced here, so the generator
that writes a file and the reader that parses it use one translation.
"""

from __future__ import annotations

import re

DEFAULT_DATE_FORMAT = "yyyy-MM-dd"
DEFAULT_TIMESTAMP_FORMAT = "yyyy-MM-dd HH:mm:ss"

# JDK pattern letter run -> strftime directive. Single letters are the non-padded forms, which
# glibc strftime and chrono both accept as `%-x`.
_DIRECTIVES = {
    "yyyy": "%Y",
    "uuuu": "%Y",
    "yy": "%y",
    "uu": "%y",
    "MMMM": "%B",
    "MMM": "%b",
    "MM": "%m",
    "M": "%-m",
    "dd": "%d",
    "d": "%-d",
    "HH": "%H",
    "H": "%-H",
    "hh": "%I",
    "h": "%-I",
    "mm": "%M",
    "m": "%-M",
    "ss": "%S",
    "s": "%-S",
    "a": "%p",
    "EEEE": "%A",
    "EEE": "%a",
}
_TOKEN = re.compile(r"'([^']*)'|([A-Za-z])\2*|(.)", re.DOTALL)


def jdk_to_strftime(pattern: str) -> str:
    """Translate a JDK date/time pattern to a strftime format; ValueError names what is unsupported."""
    parts: list[str] = []
    for match in _TOKEN.finditer(pattern):
        quoted, letter, other = match.group(1), match.group(2), match.group(3)
        if quoted is not None:
            parts.append(quoted.replace("%", "%%") if quoted else "'")
        elif letter is not None:
            run = match.group(0)
            if run not in _DIRECTIVES:
                raise ValueError(f"unsupported pattern letters {run!r} in date format {pattern!r}")
            parts.append(_DIRECTIVES[run])
        else:
            parts.append("%%" if other == "%" else other)
    return "".join(parts)
