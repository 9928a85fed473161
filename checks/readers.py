"""Read a delivered batch (CSV/text, Parquet, JSON lines, Delta, Excel) for a gate, or refuse clearly.

Delimited text is read with every column as text (`String`), exactly as delivered: the gate judges
castability, so nothing is converted or guessed while reading. An empty field — quoted or not — is
null. Text in another encoding (`latin-1`, …) is decoded properly; bytes that are not valid in the
declared encoding are an error naming the file, the line and the byte offset, never replaced.
Parquet, JSON (lines, or one array of records) and Delta keep their native types; Excel cells are
read as text.

Every problem is a `DataReadError` whose message is one line naming the file (and the line where
there is one). A wrong delimiter is not a read error: the file reads as one column, and the gate's
column-presence rule blocks it naming the missing columns.

`scan_batch` is the same as a lazy scan for large inputs: UTF-8 CSV/text, Parquet, JSON lines and
Delta are scanned, not loaded, so the default (pandera) engine streams them.
"""

from __future__ import annotations

import codecs
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl

from checks.errors import one_line

FORMATS = ("csv", "text", "parquet", "jsonl", "delta", "xlsx")
EXTENSIONS = {
    ".csv": "csv", ".txt": "text", ".tsv": "text", ".psv": "text", ".dat": "text",
    ".parquet": "parquet", ".pq": "parquet",
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl",
    ".xlsx": "xlsx", ".xlsm": "xlsx",
}
_SERVER_FORMATS = {"csv": "csv", "text": "text", "parquet": "parquet", "jsonl": "jsonl", "json": "jsonl",
                   "ndjson": "jsonl", "delta": "delta", "xlsx": "xlsx", "excel": "xlsx"}
_SNIFF_BYTES = 64 * 1024
_DECODE_CHUNK = 16 * 1024 * 1024


class DataReadError(Exception):
    """A batch that cannot be read; `str()` is one line: `path[:line]: message`."""

    def __init__(self, path: Path | str, message: str, line: int | None = None):
        self.path = Path(path)
        self.message = message
        self.line = line
        where = f"{self.path}:{line}" if line else str(self.path)
        super().__init__(f"{where}: {message}")


def format_hints(contract: Any) -> dict[str, Any]:
    """How the contract's (single) server delivers files, as keyword arguments of `read_batch`.

    From the server's `format` and its customProperties `delimiter`, `encoding`, `decimalSeparator`,
    `sheet` and `header` (docs/onboarding.md); defaults where the contract says nothing.
    """
    from checks.contract import custom_properties

    server = contract.servers[0] if contract.servers else {}
    custom = custom_properties(server.get("customProperties"))
    header = custom.get("header", True)
    return {
        "format": _SERVER_FORMATS.get(str(server.get("format", "")).lower()),
        "delimiter": str(custom.get("delimiter") or ","),
        "encoding": str(custom.get("encoding") or "utf-8"),
        "decimal_separator": str(custom.get("decimalSeparator") or "."),
        "sheet": custom.get("sheet"),
        "header": header not in (False, "false", "False", 0),
    }


def detect_format(path: Path | str, declared: str | None = None) -> str:
    """The format of a batch: a Delta folder, else the file extension, else what the contract declares."""
    path = Path(path)
    if path.is_dir():
        if (path / "_delta_log").is_dir():
            return "delta"
        raise DataReadError(path, "is a folder but not a Delta table (no _delta_log)")
    found = EXTENSIONS.get(path.suffix.lower()) or declared
    if found not in FORMATS:
        raise DataReadError(path, f"unknown data format {path.suffix or '(no extension)'!r}; "
                                  f"expected one of {', '.join(EXTENSIONS)} or a Delta folder")
    return found


def read_batch(
    path: Path | str,
    *,
    format: str | None = None,
    delimiter: str = ",",
    encoding: str = "utf-8",
    decimal_separator: str = ".",
    sheet: str | None = None,
    header: bool = True,
    column_names: Sequence[str] | None = None,
) -> pl.DataFrame:
    """Read a whole batch into memory; raise `DataReadError` with a one-line reason when it cannot be read.

    `format`: csv, text (delimited text), parquet, jsonl, delta or xlsx; detected from the path when
    None. `decimal_separator` is accepted so that `read_batch(path, **format_hints(contract))` works;
    reading keeps values as text, and the gate applies it when judging numbers. `column_names` names
    the columns of a file without a header line (`header=False`).
    """
    path = Path(path)
    kind = _checked(path, format, encoding)
    try:
        if kind in ("csv", "text"):
            return _read_delimited(path, delimiter, encoding, header, column_names)
        if kind == "jsonl":
            source = path if _is_utf8(encoding) else io.BytesIO(_transcoded(path, encoding))
            if _is_json_array(path):
                return pl.read_json(source, infer_schema_length=None)
            return pl.read_ndjson(source, infer_schema_length=None)
        if kind == "parquet":
            _check_parquet(path)
            return pl.read_parquet(path)
        if kind == "delta":
            return pl.read_delta(str(path))
        return _read_excel(path, sheet, header)
    except DataReadError:
        raise
    except (pl.exceptions.PolarsError, OSError, ValueError) as exc:
        raise _read_error(path, exc, kind, encoding, delimiter) from None
    except Exception as exc:  # libraries underneath (deltalake, fastexcel) raise their own types
        raise DataReadError(path, f"cannot read as {kind}: {one_line(exc)}") from None


def scan_batch(
    path: Path | str,
    *,
    format: str | None = None,
    delimiter: str = ",",
    encoding: str = "utf-8",
    decimal_separator: str = ".",
    sheet: str | None = None,
    header: bool = True,
    column_names: Sequence[str] | None = None,
) -> pl.LazyFrame:
    """A lazy batch for large inputs; same arguments and meaning as `read_batch`.

    UTF-8 delimited text, Parquet, JSON lines and Delta are scanned (header/footer checked now, the
    rows when the gate runs; errors found then are `polars` errors that `explain_scan_error` turns
    into a `DataReadError`). Other encodings and Excel are read in memory and returned lazy.
    """
    path = Path(path)
    kind = _checked(path, format, encoding)
    try:
        if kind in ("csv", "text") and _is_utf8(encoding):
            _check_delimiter(path, delimiter)
            frame = pl.scan_csv(path, separator=delimiter, has_header=header, infer_schema=False,
                                null_values=[""], new_columns=_new_columns(header, column_names),
                                raise_if_empty=True)
        elif kind == "jsonl" and _is_utf8(encoding) and not _is_json_array(path):
            frame = pl.scan_ndjson(path, infer_schema_length=None)
        elif kind == "parquet":
            _check_parquet(path)
            frame = pl.scan_parquet(path)
        elif kind == "delta":
            frame = pl.scan_delta(str(path))
        else:
            return read_batch(path, format=kind, delimiter=delimiter, encoding=encoding, sheet=sheet,
                              header=header, column_names=column_names).lazy()
        frame.collect_schema()
        return frame
    except DataReadError:
        raise
    except (pl.exceptions.PolarsError, OSError, ValueError) as exc:
        raise _read_error(path, exc, kind, encoding, delimiter) from None
    except Exception as exc:
        raise DataReadError(path, f"cannot read as {kind}: {one_line(exc)}") from None


def explain_scan_error(path: Path | str, exc: Exception, *, format: str | None = None,
                       delimiter: str = ",", encoding: str = "utf-8") -> DataReadError:
    """A `DataReadError` for an error raised while a scanned batch was being read."""
    path = Path(path)
    kind = format or EXTENSIONS.get(path.suffix.lower(), "csv")
    return _read_error(path, exc, kind, encoding, delimiter)


def _checked(path: Path, format: str | None, encoding: str) -> str:
    if not path.exists():
        raise DataReadError(path, "no such file or folder")
    try:
        _codec_name(encoding)
    except ValueError as exc:
        raise DataReadError(path, str(exc)) from None
    kind = format or detect_format(path)
    if kind not in FORMATS:
        raise DataReadError(path, f"unknown data format {kind!r}; expected one of {', '.join(FORMATS)}")
    if kind == "delta":
        if not (path / "_delta_log").is_dir():
            raise DataReadError(path, "not a Delta table (no _delta_log folder)")
        return kind
    if path.is_dir():
        raise DataReadError(path, f"is a folder, expected a {kind} file")
    if kind in ("csv", "text", "jsonl"):
        _refuse_binary(path)
    return kind


def _is_utf8(encoding: str) -> bool:
    return _codec_name(encoding) == "utf-8"


def _codec_name(encoding: str) -> str:
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise ValueError(f"unknown encoding {encoding!r}") from None


def _refuse_binary(path: Path) -> None:
    """Text never contains NUL bytes (UTF-16 is not a delivery encoding we accept)."""
    with path.open("rb") as handle:
        head = handle.read(_SNIFF_BYTES)
    if b"\x00" in head:
        offset = head.index(b"\x00")
        raise DataReadError(path, f"binary data, not delimited text or JSON (NUL byte at offset {offset})",
                            line=head.count(b"\n", 0, offset) + 1)


def _is_json_array(path: Path) -> bool:
    """A `.json` file holding one array of records (an API page) rather than one record per line."""
    with path.open("rb") as handle:
        return handle.read(_SNIFF_BYTES).lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"[")


def _check_delimiter(path: Path, delimiter: str) -> None:
    if len(delimiter.encode("utf-8")) != 1:
        raise DataReadError(path, f"the delimiter must be one single-byte character, not {delimiter!r}")


def _new_columns(header: bool, column_names: Sequence[str] | None) -> list[str] | None:
    return None if header or not column_names else list(column_names)


def _read_delimited(path: Path, delimiter: str, encoding: str, header: bool,
                    column_names: Sequence[str] | None) -> pl.DataFrame:
    _check_delimiter(path, delimiter)
    source: Path | io.BytesIO = path if _is_utf8(encoding) else io.BytesIO(_transcoded(path, encoding))
    return pl.read_csv(source, separator=delimiter, has_header=header, infer_schema=False, null_values=[""],
                       new_columns=_new_columns(header, column_names), raise_if_empty=True)


def _transcoded(path: Path, encoding: str) -> bytes:
    """The file's text re-encoded as UTF-8, or a DataReadError at the first byte that does not decode."""
    data = path.read_bytes()
    try:
        return data.decode(_codec_name(encoding)).encode("utf-8")
    except UnicodeDecodeError as exc:
        raise _decode_error(path, data, exc, encoding) from None


def _decode_error(path: Path, data: bytes, exc: UnicodeDecodeError, encoding: str,
                  base: int = 0, lines_before: int = 0) -> DataReadError:
    """`data` starts at byte `base` of the file, after `lines_before` newlines."""
    line = lines_before + data.count(b"\n", 0, exc.start) + 1
    return DataReadError(path, f"not valid {encoding} text: byte 0x{data[exc.start]:02x} at byte offset "
                               f"{base + exc.start} ({exc.reason})", line=line)


def _utf8_error(path: Path) -> DataReadError | None:
    """Where a file stops being UTF-8, found by decoding it in chunks (only after a read failed)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    base, lines = 0, 0
    with path.open("rb") as handle:
        while chunk := handle.read(_DECODE_CHUNK):
            pending = decoder.getstate()[0]
            buffer = pending + chunk
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                located = UnicodeDecodeError(exc.encoding, buffer, exc.start, exc.end, exc.reason)
                return _decode_error(path, buffer, located, "utf-8", base - len(pending), lines)
            base += len(chunk)
            lines += chunk.count(b"\n")
    return None


def _ragged_line(path: Path, delimiter: str, encoding: str) -> int | None:
    """The first line with more fields than the header (polars does not say which)."""
    import csv

    with path.open(encoding=_codec_name(encoding), newline="") as handle:
        rows = csv.reader(handle, delimiter=delimiter)
        width = len(next(rows, []))
        for row in rows:
            if len(row) > width:
                return rows.line_num
    return None


def _check_parquet(path: Path) -> None:
    size = path.stat().st_size
    with path.open("rb") as handle:
        start = handle.read(4)
        handle.seek(max(size - 4, 0))
        end = handle.read(4)
    if start != b"PAR1":
        raise DataReadError(path, "not a Parquet file (it does not start with PAR1)")
    if size < 12 or end != b"PAR1":
        raise DataReadError(path, "truncated Parquet file (no footer)")


def _read_excel(path: Path, sheet: str | None, header: bool) -> pl.DataFrame:
    with path.open("rb") as handle:
        if handle.read(4) != b"PK\x03\x04":
            raise DataReadError(path, "not an .xlsx workbook (not a zip container)")
    options: dict[str, Any] = {"sheet_name": sheet} if sheet else {"sheet_id": 1}
    return pl.read_excel(path, engine="calamine", has_header=header, infer_schema_length=0,
                         drop_empty_rows=False, drop_empty_cols=False, raise_if_empty=False, **options)


def _read_error(path: Path, exc: Exception, kind: str, encoding: str, delimiter: str) -> DataReadError:
    text = one_line(exc)
    if kind in ("csv", "text", "jsonl") and "utf-8" in text.lower() and _is_utf8(encoding):
        located = _utf8_error(path)
        if located:
            return located
    if kind in ("csv", "text") and "more fields" in text:
        return DataReadError(path, f"a line has more fields than the header (delimiter {delimiter!r})",
                             line=_ragged_line(path, delimiter, encoding))
    if isinstance(exc, pl.exceptions.NoDataError):
        return DataReadError(path, "empty file (no header line)")
    return DataReadError(path, f"cannot read as {kind}: {text}")
