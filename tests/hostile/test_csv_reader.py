"""Delimited text the reader refuses (or reads) precisely: a located one-line error, never an
uncaught exception, never a silently renamed column, never unbounded memory or messages."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from checks.errors import MAX_MESSAGE_CHARS, one_line
from checks.readers import (
    MAX_COLUMNS,
    MAX_FIELD_BYTES,
    MAX_ROW_BYTES,
    DataReadError,
    check_sizes,
    open_batch,
    read_batch,
)


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def refused(path: Path, **options) -> str:
    with pytest.raises(DataReadError) as caught:
        read_batch(path, **options)
    message = str(caught.value)
    assert "\n" not in message and len(message) <= MAX_MESSAGE_CHARS
    return message


def test_latin1_file_with_more_fields_than_its_header_is_a_located_encoding_error(tmp_path):
    """The reported stall: polars says "more fields" and the ragged-line finder hit a UnicodeDecodeError."""
    data = "Datum;Filiale;Änderung\n25.03.2025;1408;2,46\n".encode("latin-1")
    message = refused(write(tmp_path / "sales.csv", data))
    assert message.endswith("sales.csv:1: not valid utf-8 text: byte 0xc4 at byte offset 14 "
                            "(invalid continuation byte)")


def test_a_ragged_line_before_a_non_utf8_byte_is_the_located_encoding_error(tmp_path):
    data = "datum,filiale\n25.03.2025,1408,2,46\n25.03.2025,München\n".encode("latin-1")
    message = refused(write(tmp_path / "sales.csv", data))
    assert message.endswith("sales.csv:3: not valid utf-8 text: byte 0xfc at byte offset 47 "
                            "(invalid start byte)")


def test_the_same_file_reads_in_its_declared_encoding(tmp_path):
    data = "Datum;Filiale;Änderung\n25.03.2025;1408;2,46\n".encode("latin-1")
    frame = read_batch(write(tmp_path / "sales.csv", data), delimiter=";", encoding="latin-1")
    assert frame.columns == ["Datum", "Filiale", "Änderung"]


def test_unbalanced_quote_names_the_line_it_opens_on(tmp_path):
    message = refused(write(tmp_path / "s.csv", b'a,b\n1,2\n3,"4\n5,6\n7,8\n'))
    assert "s.csv:3: unbalanced quote" in message


def test_misplaced_quote_names_its_line(tmp_path):
    assert "s.csv:3: misplaced quote" in refused(write(tmp_path / "s.csv", b'a,b\n1,2\n3,"4"x\n5,6\n'))


def test_unbalanced_quote_in_the_header(tmp_path):
    assert "s.csv:1: the header line has an unbalanced" in refused(write(tmp_path / "s.csv", b'"a,b\n1,2\n'))


def test_duplicate_header_names_are_refused_not_renamed(tmp_path):
    message = refused(write(tmp_path / "s.csv", b"store,qty_sold,qty_sold\n1,2,3\n"))
    assert "s.csv:1: column name 'qty_sold' appears twice in the header (columns 2 and 3)" in message


def test_doubled_quotes_in_a_header_field_are_one_quote(tmp_path):
    frame = read_batch(write(tmp_path / "s.csv", b'"net ""sales""",b\n12.5,1\n'))
    assert frame.columns == ['net "sales"', "b"]
    assert frame.rows() == [("12.5", "1")]


def test_a_bom_and_crlf_header_read_clean(tmp_path):
    frame = read_batch(write(tmp_path / "s.csv", b"\xef\xbb\xbfa,b\r\n1,2\r\n"))
    assert frame.columns == ["a", "b"]


def test_a_file_without_a_line_break_is_refused_after_one_megabyte(tmp_path):
    message = refused(write(tmp_path / "s.csv", b"x," * (3 << 20)))
    assert "s.csv:1: the header line is longer than 1,048,576 bytes" in message


def test_a_huge_field_is_refused_naming_its_column_and_row(tmp_path):
    big = b"y" * (MAX_FIELD_BYTES + 1)
    message = refused(write(tmp_path / "s.csv", b"a,b\n1,2\n3," + big + b"\n"))
    assert f"column 'b' of row 2 is {MAX_FIELD_BYTES + 1:,} bytes" in message


def test_a_huge_row_is_refused(tmp_path):
    field = b"y" * (MAX_FIELD_BYTES // 2)
    width = MAX_ROW_BYTES // len(field) + 1
    header = ",".join(f"c{i}" for i in range(width)).encode()
    message = refused(write(tmp_path / "s.csv", header + b"\n" + b",".join([field] * width) + b"\n"))
    assert "row 1 is" in message and f"the limit for one row is {MAX_ROW_BYTES:,}" in message


def test_the_lazy_scan_is_bounded_too(tmp_path):
    path = write(tmp_path / "s.csv", b"a\n" + b"y" * (MAX_FIELD_BYTES + 1) + b"\n")
    with open_batch(path) as batch, pytest.raises(DataReadError, match="column 'a' of row 1"):
        check_sizes(path, batch)
    check_sizes(path, pl.DataFrame({"a": ["short"]}))


def test_library_messages_quoting_a_huge_input_are_bounded():
    message = one_line(ValueError("could not parse `" + "x" * 10_000_000 + "`"))
    assert len(message) <= MAX_MESSAGE_CHARS and message.endswith("more characters)")


def test_a_header_of_too_many_columns_is_refused(tmp_path):
    header = ",".join(f"c{i}" for i in range(MAX_COLUMNS + 1)).encode()
    message = refused(write(tmp_path / "s.csv", header + b"\n"))
    assert f"s.csv:1: the header has {MAX_COLUMNS + 1:,} columns" in message


def test_a_file_name_with_a_line_break_is_still_one_line(tmp_path):
    assert "bad\\nname.csv: empty file" in refused(write(tmp_path / "bad\nname.csv", b""))


def test_a_quote_inside_an_unquoted_field_names_its_line(tmp_path):
    message = refused(write(tmp_path / "s.csv", b'a,b\n1,"x, ""y"""\n3,4"x\n5,6\n'))
    assert "s.csv:3: a quote inside an unquoted field (character 4)" in message
