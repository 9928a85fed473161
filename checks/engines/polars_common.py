"""Helpers every engine shares over a Polars batch, in a module that does not import pandera (and
with it pandas): the Soda engine judges column types from the batch's Polars schema before copying
it into DuckDB, and checks patterns with the same linear-time engine as the pandera engine.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from checks.engines.base import ROW_NUMBER
from checks.engines.semantics import NativeKind, UnsupportedDefinition, full_match
from checks.rules import Rule, RuleKind


def native_kind(dtype: pl.DataType) -> NativeKind:
    """The semantics' kind of a Polars dtype."""
    if dtype in (pl.String, pl.Categorical, pl.Null) or isinstance(dtype, pl.Enum):
        return NativeKind.TEXT
    if dtype.is_integer():
        return NativeKind.INTEGER
    if dtype.is_float():
        return NativeKind.FLOAT
    if isinstance(dtype, pl.Decimal):
        return NativeKind.DECIMAL
    if dtype == pl.Boolean:
        return NativeKind.BOOLEAN
    if dtype == pl.Date:
        return NativeKind.DATE
    if isinstance(dtype, pl.Datetime):
        return NativeKind.DATETIME
    if dtype == pl.Time:
        return NativeKind.TIME
    return NativeKind.OTHER


def checked_pattern(pattern: str) -> str:
    """The anchored pattern, after making sure Polars' linear-time (Rust) regex engine accepts it,
    on its own too: `x)|(y` is only valid once wrapped, and would then not be a full match."""
    anchored = full_match(pattern)
    try:
        pl.Series([""]).str.contains(pattern)
        pl.Series([""]).str.contains(anchored)
    except pl.exceptions.PolarsError as exc:
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        reason = next((line for line in lines if line.startswith("error:")), lines[0] if lines else "invalid")
        raise UnsupportedDefinition(f"pattern {pattern!r} is not supported by the linear-time regex engine "
                                    f"({reason.removeprefix('error:').strip()})") from None
    return anchored


def schema_difference(rule: Rule, actual: Sequence[str]) -> tuple[int, str]:
    """Missing listed columns (columnsPresent) or unlisted delivered ones (extraColumns), as a count
    and a message."""
    if rule.kind == RuleKind.COLUMNS_PRESENT:
        gone = [c for c in rule.properties if c not in actual]
        return len(gone), f"missing columns: {', '.join(gone)}" if gone else "all listed columns present"
    extra = [c for c in actual if c != ROW_NUMBER and c not in rule.properties]
    if extra:
        return len(extra), f"columns not in the contract (kept): {', '.join(extra)}"
    return 0, "no extra columns"
