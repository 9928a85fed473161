"""Read a delivered batch (CSV/text, Parquet, JSON lines, Delta, Excel) for a gate, or refuse clearly.

Delimited text is read with every column as text (`String`), exactly as delivered: the gate judges
castability, so nothing is converted or guessed while reading. An empty field — quoted or not — is
null. Text in another encoding (`latin-1`, …) is decoded properly; bytes that are not valid in the
declared encoding are an error naming the file, the line and the byte offset, never replaced.
Parquet, JSON (lines, or one array of records) and Delta keep their native types; Excel cells are
read as text.

Every problem is a `DataReadError` whose message is one line naming the file (and the line where
there is one), redacted and bounded (`checks.errors.safe_message`). A wrong delimiter is not a read
error: the file reads as one column, and the gate's column-presence rule blocks it naming the
missing columns. The header of delimited text is read as RFC 4180 writes it (a quote inside a quoted
name is doubled: `"net ""sales"" "` is the column `net "sales" `); a header with the same name
twice is refused, never renamed. An unbalanced quote, a bad quote or a ragged line is reported
with its line number.

Sizes are bounded so a hostile file cannot take the machine: a header line over `MAX_LINE_BYTES`
(a 100 MB file without a line break) is refused after reading that much, and a batch is refused
when a field is over `MAX_FIELD_BYTES` or a row over `MAX_ROW_BYTES` (`check_sizes`: `read_batch`
applies it; the `check` command applies it to its scan); a workbook that unpacks to more than
`MAX_WORKBOOK_BYTES` (a zip bomb) is refused before it is read.

`open_batch` gives the batch as a lazy scan for inputs of any size, so every engine streams it;
`read_batch` is the same scan collected.
"""

from __future__ import annotations

import codecs
import csv
import glob
import json
import re
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, BinaryIO

import polars as pl

from checks.errors import one_line, safe_message

FORMATS = ("csv", "text", "parquet", "jsonl", "delta", "xlsx")
EXTENSIONS = {
    ".csv": "csv", ".txt": "text", ".tsv": "text", ".psv": "text", ".dat": "text",
    ".parquet": "parquet", ".pq": "parquet",
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl",
    ".xlsx": "xlsx", ".xlsm": "xlsx",
}
_SNIFF_BYTES = 64 * 1024
_DECODE_CHUNK = 16 * 1024 * 1024
TRANSCODED_PREFIX = "shelfguard-utf8-"
MAX_LINE_BYTES = 1 << 20
"""The longest header line of delimited text."""
MAX_FIELD_BYTES = 1 << 20
"""The longest value of one field (POS values are short; a megabyte is a hostile or broken file)."""
MAX_ROW_BYTES = 8 << 20
"""The longest row, all its fields together."""
MAX_COLUMNS = 10_000
"""The most columns of delimited text (POS files have tens)."""
MAX_WORKBOOK_BYTES = 256 << 20
"""The most an .xlsx workbook may unpack to (it is read in memory)."""
_GLOB = re.compile(r"[*?\[]")


class DataReadError(Exception):
    """A batch that cannot be read; `str()` is one line: `path[:line]: message`."""

    def __init__(self, path: Path | str, message: str, line: int | None = None):
        self.path = Path(path)
        self.message = message
        self.line = line
        where = f"{self.path}:{line}" if line else str(self.path)
        super().__init__(safe_message(f"{where}: {message}"))


def with_logical_names(batch: pl.DataFrame | pl.LazyFrame,
                       properties: Sequence[dict[str, Any]]) -> pl.DataFrame | pl.LazyFrame:
    """The batch with each column delivered under a property's `physicalName` renamed to the
    property's `name`, the name every rule, mapping and table uses. A column already delivered
    under the logical name is kept as it is (the physical one is then an extra column)."""
    renames = logical_names(batch.collect_schema().names(), properties)
    return batch.rename(renames) if renames else batch


def logical_names(columns: Sequence[str], properties: Sequence[dict[str, Any]]) -> dict[str, str]:
    """Delivered column -> property name, for the columns `with_logical_names` renames."""
    present = set(columns)
    return {p["physicalName"]: p["name"] for p in properties
            if p.get("physicalName") and p["physicalName"] != p["name"]
            and p["physicalName"] in present and p["name"] not in present}


IN_PLACE = ("parquet", "delta")
"""Formats whose files `arrow_dataset` opens for queries in place."""


def arrow_dataset(path: Path | str, format: str, *, version: int | None = None) -> Any | None:
    """The batch's files as a pyarrow dataset that a query reads in place (only the columns and
    row groups it needs): a Parquet file, glob or folder of them, or a Delta table (at `version`,
    the one `open_batch` scanned); None for other formats, whose rows must be parsed first."""
    if format == "parquet":
        import pyarrow.dataset as ds

        return ds.dataset([str(file) for file in batch_files(path)], format="parquet")
    if format == "delta":
        from deltalake import DeltaTable

        return DeltaTable(str(path), version=version).to_pyarrow_dataset()
    return None


def delta_version(path: Path | str) -> int:
    """The version of a Delta table now: what `open_batch(version=...)` and `arrow_dataset` read,
    so that both see the same rows while the table is being written to."""
    from deltalake import DeltaTable

    return DeltaTable(str(path)).version()


def batch_files(path: Path | str) -> list[Path]:
    """The files of one batch: the file itself; a Delta table folder; every file matching a glob
    (`data/*.csv`, `**` for subfolders), or every file of a folder that is not a Delta table, sorted
    by name (hidden files left out). `DataReadError` when a glob or folder has no file."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        return [path]
    if path.is_dir():
        if (path / "_delta_log").is_dir():
            return [path]
        files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
        if not files:
            raise DataReadError(path, "the folder holds no files")
        return files
    if not _GLOB.search(str(path)):
        raise DataReadError(path, "no such file or folder")
    files = sorted(Path(p) for p in glob.glob(str(path), recursive=True) if Path(p).is_file())
    if not files:
        raise DataReadError(path, "no file matches this pattern")
    return files


def detect_format(path: Path | str, declared: str | None = None) -> str:
    """The format of a batch: a Delta folder, else the file extension (of the first file of a glob
    or folder), else what the contract declares."""
    path = batch_files(path)[0]
    if path.is_dir():
        return "delta"
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

    Same arguments and meaning as `open_batch`."""
    options = {"format": format, "delimiter": delimiter, "encoding": encoding, "sheet": sheet,
               "header": header, "column_names": column_names}
    with open_batch(path, **options) as batch:
        try:
            frame = batch.collect()
        except Exception as exc:  # polars, and the libraries underneath, raise their own types
            raise explain_scan_error(path, exc, format=format or detect_format(path), delimiter=delimiter,
                                     encoding=encoding) from None
    check_sizes(path, frame)
    return frame


@contextmanager
def open_batch(
    path: Path | str,
    *,
    format: str | None = None,
    delimiter: str = ",",
    encoding: str = "utf-8",
    decimal_separator: str = ".",
    sheet: str | None = None,
    header: bool = True,
    column_names: Sequence[str] | None = None,
    version: int | None = None,
) -> Iterator[pl.LazyFrame]:
    """The batch as a lazy scan, valid inside the `with` block; `DataReadError` when it cannot be read.

    `format`: csv, text (delimited text), parquet, jsonl, delta or xlsx; detected from the path when
    None. `decimal_separator` is accepted so that
    `open_batch(path, **checks.contract.format_hints(contract))` works; reading keeps values as
    text, and the gate applies it when judging numbers. `column_names` names the columns of a file
    without a header line (`header=False`). `version`: the version of a Delta table to read
    (default: the latest).

    Delimited text, JSON lines, Parquet and Delta are scanned: header and footer are checked now,
    the rows when the scan is collected (errors found then are `polars` errors that
    `explain_scan_error` turns into a `DataReadError`). Text in another encoding than UTF-8 is first
    decoded chunk by chunk into a temporary UTF-8 copy, removed when the block ends, so a file of
    any size takes bounded memory. Excel workbooks and JSON documents (one object or an array of
    them) are read in memory.

    A glob (`data/*.csv`) or a folder of files is one batch (`batch_files`): the files' rows in
    the files' order, each file read as above. They must have the same columns (in any order).
    """
    files = batch_files(path)
    with ExitStack() as cleanup:
        frames = [_open_file(file, format, delimiter, encoding, sheet, header, column_names, cleanup, version)
                  for file in files]
        yield frames[0] if len(frames) == 1 else _one_batch(files, frames)


def _open_file(path: Path, format: str | None, delimiter: str, encoding: str, sheet: str | None,
               header: bool, column_names: Sequence[str] | None, cleanup: ExitStack,
               version: int | None = None) -> pl.LazyFrame:
    """One file (or Delta table) of a batch as a lazy scan; temporary copies end with `cleanup`."""
    kind = _checked(path, format, encoding)
    try:
        source = path
        if kind in ("csv", "text"):
            _check_delimiter(path, delimiter)
        if kind in ("csv", "text", "jsonl") and not _is_utf8(encoding):
            workdir = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix=TRANSCODED_PREFIX)))
            source = workdir / f"utf8{path.suffix}"
            with source.open("wb") as utf8:
                _decode(path, encoding, utf8)
        if kind in ("csv", "text") and header:
            column_names = _header_names(path, source, delimiter)
        frame = _scan(source, kind, delimiter, header, column_names, sheet, version)
        frame.collect_schema()
    except DataReadError:
        raise
    except (pl.exceptions.PolarsError, OSError, ValueError) as exc:
        raise _read_error(path, exc, kind, encoding, delimiter) from None
    except Exception as exc:  # libraries underneath (deltalake, fastexcel) raise their own types
        raise DataReadError(path, f"cannot read as {kind}: {one_line(exc)}") from None
    return frame


def _one_batch(files: Sequence[Path], frames: Sequence[pl.LazyFrame]) -> pl.LazyFrame:
    """The files' rows as one batch; a file whose columns differ from the first one's is refused
    (its rows would otherwise hold nulls the retailer never sent)."""
    expected = frames[0].collect_schema().names()
    for file, frame in zip(files[1:], frames[1:], strict=True):
        if file.suffix.lower() != files[0].suffix.lower():
            kind = files[0].suffix or "extension-less"
            raise DataReadError(file, f"not a {kind} file like {files[0].name}; the files of one batch "
                                      "have one format")
        found = frame.collect_schema().names()
        if set(found) != set(expected):
            missing = [c for c in expected if c not in found]
            extra = [c for c in found if c not in expected]
            detail = "; ".join(part for part in (f"missing {', '.join(missing)}" if missing else "",
                                                 f"extra {', '.join(extra)}" if extra else "") if part)
            raise DataReadError(file, f"its columns differ from those of {files[0].name} ({detail}); "
                                      "the files of one batch must have the same columns")
    return pl.concat(frames, how="diagonal_relaxed")


def _scan(source: Path, kind: str, delimiter: str, header: bool, column_names: Sequence[str] | None,
          sheet: str | None, version: int | None = None) -> pl.LazyFrame:
    """`source` is UTF-8 where it is text."""
    if kind in ("csv", "text"):
        return pl.scan_csv(source, separator=delimiter, has_header=header, infer_schema=False,
                           null_values=[""], new_columns=_new_columns(header, column_names),
                           raise_if_empty=True)
    if kind == "jsonl":
        if is_json_document(source):
            return pl.read_json(source, infer_schema_length=None).lazy()
        return pl.scan_ndjson(source, infer_schema_length=None)
    if kind == "parquet":
        _check_parquet(source)
        return pl.scan_parquet(source)
    if kind == "delta":
        return pl.scan_delta(str(source), version=version)
    return _read_excel(source, sheet, header).lazy()


def explain_scan_error(path: Path | str, exc: Exception, *, format: str | None = None,
                       delimiter: str = ",", encoding: str = "utf-8") -> DataReadError:
    """A `DataReadError` for an error raised while a scanned batch was being read; for a batch of
    several files, naming the file (and line) at fault where it can be found."""
    path = Path(path)
    try:
        files = batch_files(path)
    except DataReadError as missing:
        return missing
    kind = format or EXTENSIONS.get(files[0].suffix.lower(), "csv")
    if len(files) == 1:
        return _read_error(files[0], exc, kind, encoding, delimiter)
    for file in files:
        located = _located(file, kind, encoding, delimiter)
        if located is not None:
            return located
    return DataReadError(path, f"cannot read as {kind}: {one_line(exc)}")


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


def is_json_document(path: Path) -> bool:
    """A `.json` file holding one JSON document — an array of records (an API page) or one object,
    also over several lines — rather than one record per line (JSON lines)."""
    with path.open("rb") as handle:
        head = handle.read(_SNIFF_BYTES).lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"["):
        return True
    first_line = head.split(b"\n", 1)[0]
    try:
        json.loads(first_line)
    except ValueError:
        return head.startswith(b"{")  # a record that does not end on its first line: one document
    return False


def _check_delimiter(path: Path, delimiter: str) -> None:
    if len(delimiter.encode("utf-8")) != 1:
        raise DataReadError(path, f"the delimiter must be one single-byte character, not {delimiter!r}")


def _new_columns(header: bool, column_names: Sequence[str] | None) -> list[str] | None:
    """The names polars gives the columns: the header's as `_header_names` read them (polars keeps a
    header's doubled quotes), or the contract's for a file without a header line."""
    return list(column_names) if column_names else None


def _header_names(path: Path, source: Path, delimiter: str) -> list[str]:
    """The column names of delimited text, read as RFC 4180 writes them, from at most
    `MAX_LINE_BYTES` of `source` (UTF-8; `path` is the delivered file the errors name)."""
    with source.open("rb") as handle:
        head = handle.read(MAX_LINE_BYTES + 1)
    head = head.removeprefix(codecs.BOM_UTF8)
    end = head.find(b"\n")
    if end < 0 and len(head) > MAX_LINE_BYTES:
        raise DataReadError(path, f"the header line is longer than {MAX_LINE_BYTES:,} bytes (no line break: "
                                  "not delimited text with one record per line)", line=1)
    line = head if end < 0 else head[:end]
    try:
        text = line.decode("utf-8").removesuffix("\r")
    except UnicodeDecodeError as exc:
        raise DataReadError(path, f"not valid utf-8 text: byte 0x{line[exc.start]:02x} at byte offset "
                                  f"{exc.start} ({exc.reason})", line=1) from None
    try:
        names = next(csv.reader([text], delimiter=delimiter, strict=True), [])
    except csv.Error as exc:
        raise DataReadError(path, f"the header line has an unbalanced or misplaced quote ({exc})",
                            line=1) from None
    if len(names) > MAX_COLUMNS:
        raise DataReadError(path, f"the header has {len(names):,} columns; the limit is {MAX_COLUMNS:,}",
                            line=1)
    first: dict[str, int] = {}
    for number, name in enumerate(names, start=1):
        if name in first:
            raise DataReadError(path, f"column name {name!r} appears twice in the header (columns "
                                      f"{first[name]} and {number}); rename one", line=1)
        first[name] = number
    return names


def check_sizes(path: Path | str, batch: pl.DataFrame | pl.LazyFrame) -> None:
    """Refuse a batch with a text field over `MAX_FIELD_BYTES` or a row over `MAX_ROW_BYTES`, naming
    the column and the row; a LazyFrame is measured in one streaming pass (a second one finds the
    row when a limit is passed)."""
    names = [name for name, dtype in batch.collect_schema().items() if dtype == pl.String]
    if not names:
        return
    lengths = [pl.col(name).str.len_bytes().fill_null(0) for name in names]
    measures = {**{f"f{i}": length for i, length in enumerate(lengths)}, "row": pl.sum_horizontal(lengths)}
    largest = _collected(batch.select(*(m.max().alias(k) for k, m in measures.items()))).row(0, named=True)
    limits = {**{f"f{i}": MAX_FIELD_BYTES for i in range(len(names))}, "row": MAX_ROW_BYTES}
    over = next((k for k in measures if (largest[k] or 0) > limits[k]), None)
    if over is None:
        return
    row = _collected(batch.select(measures[over].arg_max())).item() + 1
    what = "one row" if over == "row" else "one field"
    subject = f"row {row:,}" if over == "row" else f"column {names[int(over[1:])]!r} of row {row:,}"
    raise DataReadError(path, f"{subject} is {largest[over]:,} bytes; the limit for {what} is "
                              f"{limits[over]:,}")


def _collected(frame: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    return frame if isinstance(frame, pl.DataFrame) else frame.collect(engine="streaming")

def check_decodes(path: Path, encoding: str) -> None:
    """A `DataReadError` naming the line of the first byte of the file that does not decode, for
    readers that would not say (Spark replaces such bytes with U+FFFD)."""
    _decode(path, encoding)


def _decode(path: Path, encoding: str, utf8: BinaryIO | None = None) -> None:
    """Decode the file chunk by chunk (a character may straddle two chunks), writing it re-encoded as
    UTF-8 to `utf8` when given; a `DataReadError` at the first byte that does not decode."""
    decoder = codecs.getincrementaldecoder(_codec_name(encoding))()
    base, lines = 0, 0
    with path.open("rb") as handle:
        while True:
            chunk = handle.read(_DECODE_CHUNK)
            try:
                text = decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                raise _decode_error(path, exc, encoding, base, base + len(chunk), lines) from None
            if utf8 is not None:
                utf8.write(text.encode("utf-8"))
            if not chunk:
                return
            base += len(chunk)
            lines += chunk.count(b"\n")


def _decode_error(path: Path, exc: UnicodeDecodeError, encoding: str, chunk_start: int, chunk_end: int,
                  lines_before: int) -> DataReadError:
    """The decoder failed in the chunk at bytes `[chunk_start, chunk_end)` of the file, after
    `lines_before` newlines; `exc.object` ends with that chunk and may begin with bytes of the chunk
    before, still pending in the decoder."""
    data = exc.object
    start = chunk_end - len(data)
    line = lines_before + data.count(b"\n", chunk_start - start, max(exc.start, chunk_start - start)) + 1
    return DataReadError(path, f"not valid {encoding} text: byte 0x{data[exc.start]:02x} at byte offset "
                               f"{start + exc.start} ({exc.reason})", line=line)


def _csv_problem(path: Path, delimiter: str, encoding: str) -> DataReadError | None:
    """The first structural problem of delimited text, with its line (polars does not say which):
    an unbalanced quote (the line its field opened on), a misplaced quote, a ragged line, a field
    over `MAX_FIELD_BYTES`, or a stray quote inside an unquoted field. None when there is none.
    Call only on text that decodes in `encoding`."""
    limit = csv.field_size_limit()
    csv.field_size_limit(MAX_FIELD_BYTES)
    start = 1
    try:
        with path.open(encoding=_codec_name(encoding), newline="") as handle:
            rows = csv.reader(handle, delimiter=delimiter, strict=True)
            width = len(next(rows, []))
            start = rows.line_num + 1
            for row in rows:
                if len(row) > width:
                    message = f"({len(row)}, the header {width}; delimiter {delimiter!r})"
                    return DataReadError(path, f"a line has more fields than the header {message}",
                                         line=rows.line_num)
                start = rows.line_num + 1
    except csv.Error as exc:
        if "unexpected end of data" in str(exc):
            return DataReadError(path, "unbalanced quote: the quoted field that opens on this line is never "
                                       "closed", line=start)
        if "field larger than field limit" in str(exc):
            return DataReadError(path, f"a field is longer than {MAX_FIELD_BYTES:,} bytes", line=start)
        return DataReadError(path, f"misplaced quote ({exc})", line=rows.line_num)
    except (OSError, UnicodeDecodeError, LookupError) as exc:
        return DataReadError(path, f"cannot read as delimited text: {one_line(exc)}")
    finally:
        csv.field_size_limit(limit)
    return _stray_quote(path, delimiter, encoding)


def _stray_quote(path: Path, delimiter: str, encoding: str) -> DataReadError | None:
    """A quote inside a field that does not start with one (`4"x`): Python's reader keeps it as
    text, polars refuses the file without saying where. Only lines holding a quote are walked."""
    quoted = False  # inside a quoted field that continues on the next line
    with path.open(encoding=_codec_name(encoding), newline="") as handle:
        for number, line in enumerate(handle, start=1):
            if not quoted and '"' not in line:
                continue
            at, start, index = None, True, 0
            while index < len(line):
                char = line[index]
                if quoted:
                    doubled = char == '"' and line[index + 1: index + 2] == '"'
                    quoted = char != '"' or doubled
                    index += 2 if doubled else 1
                    continue
                if char == '"' and not start:
                    at = index
                    break
                quoted, start = char == '"', char == delimiter
                index += 1
            if at is not None:
                return DataReadError(path, f"a quote inside an unquoted field (character {at + 1}); quote "
                                           "the whole field and double the quote", line=number)
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
    _check_unpacked_size(path)
    options: dict[str, Any] = {"sheet_name": sheet} if sheet else {"sheet_id": 1}
    return pl.read_excel(path, engine="calamine", has_header=header, infer_schema_length=0,
                         drop_empty_rows=False, drop_empty_cols=False, raise_if_empty=False, **options)


def _check_unpacked_size(path: Path) -> None:
    """Refuse a workbook that unpacks to more than `MAX_WORKBOOK_BYTES` (a zip bomb: a few MB that
    the Excel reader would expand into GBs of rows in memory)."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as workbook:
            unpacked = sum(entry.file_size for entry in workbook.infolist())
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataReadError(path, f"not an .xlsx workbook ({one_line(exc)})") from None
    if unpacked > MAX_WORKBOOK_BYTES:
        raise DataReadError(path, f"the workbook unpacks to {unpacked:,} bytes; the limit is "
                                  f"{MAX_WORKBOOK_BYTES:,} (deliver large extracts as CSV or Parquet)")


def _located(path: Path, kind: str, encoding: str, delimiter: str) -> DataReadError | None:
    """An encoding error or a CSV structure problem of this file, located at its line; None when
    the file has neither."""
    if kind in ("csv", "text", "jsonl") and _is_utf8(encoding) and path.is_file():
        try:
            _decode(path, "utf-8")
        except DataReadError as located:
            return located
    if kind in ("csv", "text") and path.is_file():
        return _csv_problem(path, delimiter, encoding)
    return None


def _read_error(path: Path, exc: Exception, kind: str, encoding: str, delimiter: str) -> DataReadError:
    """The most precise explanation of a read error: an encoding error or a CSV structure problem
    located at its line, else the library's first line."""
    located = _located(path, kind, encoding, delimiter)
    if located is not None:
        return located
    text = one_line(exc)
    if isinstance(exc, pl.exceptions.NoDataError):
        return DataReadError(path, "empty file (no header line)")
    return DataReadError(path, f"cannot read as {kind}: {text}")
