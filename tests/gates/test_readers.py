"""Reading deliveries: text as delivered, encodings decoded properly, clear one-line errors."""

from __future__ import annotations

import tempfile
from pathlib import Path

import polars as pl
import pytest
from deltalake import write_deltalake

from checks import readers
from checks.contract import format_hints
from checks.readers import DataReadError, detect_format, open_batch, read_batch
from tests.gates.helpers import contract, prop


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_csv_is_all_text_and_empty_fields_are_null(tmp_path: Path) -> None:
    path = write(tmp_path / "a.csv", b'id,qty,note\n001,3,""\n002,,x\n')
    frame = read_batch(path)
    assert frame.schema == pl.Schema({"id": pl.String, "qty": pl.String, "note": pl.String})
    assert frame.to_dicts() == [{"id": "001", "qty": "3", "note": None},
                                {"id": "002", "qty": None, "note": "x"}]


def test_latin1_semicolon_file_with_contract_hints(tmp_path: Path) -> None:
    path = write(tmp_path / "abverkauf.csv", "Ort;Umsatz\nMünchen;12,49\n".encode("latin-1"))
    hints = format_hints(contract(tmp_path, [prop("Ort")], server_hints={
        "delimiter": ";", "encoding": "latin-1", "decimalSeparator": ","}))
    assert hints == {"format": "csv", "delimiter": ";", "encoding": "latin-1", "decimal_separator": ",",
                     "sheet": None, "header": True}
    assert read_batch(path, **hints).to_dicts() == [{"Ort": "München", "Umsatz": "12,49"}]


def test_wrong_encoding_names_file_line_and_offset(tmp_path: Path) -> None:
    path = write(tmp_path / "sales.csv", b"a,b\n1,2\n3,caf\xe9\n")
    with pytest.raises(DataReadError) as error:
        read_batch(path)
    assert str(error.value) == (f"{path}:3: not valid utf-8 text: byte 0xe9 at byte offset 13 "
                                "(invalid continuation byte)")
    with pytest.raises(DataReadError, match=r":3: not valid utf-8"):
        read_batch(path, encoding="utf-8")
    with pytest.raises(DataReadError, match=r"sales.csv:3: not valid shift_jis"):
        read_batch(write(tmp_path / "sales.csv", b"a,b\n1,2\n3,\x81\x20\n"), encoding="shift_jis")


def test_other_encodings_are_decoded_in_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A small decode chunk: characters straddle chunk boundaries and read whole; a byte that is not
    valid far into the file is named by its line and offset; the UTF-8 copy is gone afterwards."""
    monkeypatch.setattr(readers, "_DECODE_CHUNK", 5)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    rows = [("Köln", "1"), ("Zürich", "2"), ("Malmö", "3")]
    latin1 = write(tmp_path / "latin1.csv", "".join(f"{a};{b}\n" for a, b in [("Ort", "n"), *rows])
                   .encode("latin-1"))
    assert read_batch(latin1, delimiter=";", encoding="latin-1").rows() == rows
    japanese = write(tmp_path / "sjis.csv", "店舗,数\n東京本店,1\n大阪,2\n".encode("shift_jis"))
    with open_batch(japanese, encoding="shift_jis") as batch:
        assert [p.name for p in (tmp_path / "tmp").iterdir()][0].startswith(readers.TRANSCODED_PREFIX)
        assert batch.collect().rows() == [("東京本店", "1"), ("大阪", "2")]
    assert list((tmp_path / "tmp").iterdir()) == []
    invalid = write(tmp_path / "cp1252.csv", b"a,b\n1,caf\xe9\n2,ok\n3,\x81x\n")
    with pytest.raises(DataReadError) as error:
        read_batch(invalid, encoding="cp1252")
    assert str(error.value) == (f"{invalid}:4: not valid cp1252 text: byte 0x81 at byte offset 18 "
                                "(character maps to <undefined>)")
    assert list((tmp_path / "tmp").iterdir()) == []


def test_binary_data_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "sales.csv", b"PK\x03\x04\x14\x00\x00\x00binary")
    with pytest.raises(DataReadError, match=r"sales.csv:1: binary data"):
        read_batch(path)
    with pytest.raises(DataReadError, match="binary data"), open_batch(path):
        pass


def test_wrong_delimiter_is_one_column_not_an_error(tmp_path: Path) -> None:
    path = write(tmp_path / "sales.csv", b"a;b\n1;2\n")
    assert read_batch(path).columns == ["a;b"]


def test_ragged_line_is_named(tmp_path: Path) -> None:
    path = write(tmp_path / "sales.csv", b"a,b\n1,2\n3,4,5\n")
    with pytest.raises(DataReadError, match=r"sales.csv:3: a line has more fields than the header"):
        read_batch(path)


def test_missing_empty_and_unknown(tmp_path: Path) -> None:
    with pytest.raises(DataReadError, match="no such file"):
        read_batch(tmp_path / "nope.csv")
    with pytest.raises(DataReadError, match="empty file"):
        read_batch(write(tmp_path / "empty.csv", b""))
    with pytest.raises(DataReadError, match="unknown data format '.bin'"):
        read_batch(write(tmp_path / "x.bin", b"a\n1\n"))
    with pytest.raises(DataReadError, match="unknown encoding"):
        read_batch(write(tmp_path / "x.csv", b"a\n1\n"), encoding="klingon")
    (tmp_path / "nothing").mkdir()
    with pytest.raises(DataReadError, match="holds no files"):
        read_batch(tmp_path / "nothing")
    with pytest.raises(DataReadError, match="no file matches"):
        read_batch(tmp_path / "*.parquet")


def test_parquet_jsonl_delta_keep_native_types(tmp_path: Path) -> None:
    frame = pl.DataFrame({"id": ["a", "b"], "qty": [1, None]})
    frame.write_parquet(tmp_path / "x.parquet")
    frame.write_ndjson(tmp_path / "x.jsonl")
    write_deltalake(tmp_path / "delta", frame.to_arrow())
    for path in (tmp_path / "x.parquet", tmp_path / "x.jsonl", tmp_path / "delta"):
        assert read_batch(path).equals(frame), path
    assert detect_format(tmp_path / "delta") == "delta"


def test_truncated_and_fake_parquet(tmp_path: Path) -> None:
    pl.DataFrame({"id": list(range(1000))}).write_parquet(tmp_path / "x.parquet")
    data = (tmp_path / "x.parquet").read_bytes()
    truncated = write(tmp_path / "truncated.parquet", data[: len(data) // 2])
    with pytest.raises(DataReadError, match=r"truncated.parquet: truncated Parquet file"):
        read_batch(truncated)
    with pytest.raises(DataReadError, match="not a Parquet file"), \
            open_batch(write(tmp_path / "fake.parquet", b"id\n1\n")):
        pass


def test_excel_cells_are_text(tmp_path: Path) -> None:
    path = tmp_path / "semana.xlsx"
    pl.DataFrame({"sku": ["001", "002"], "unidades": [3, 4]}).write_excel(path, worksheet="ventas")
    frame = read_batch(path, sheet="ventas")
    assert frame.schema == pl.Schema({"sku": pl.String, "unidades": pl.String})
    assert frame.to_dicts() == [{"sku": "001", "unidades": "3"}, {"sku": "002", "unidades": "4"}]
    with pytest.raises(DataReadError, match="not an .xlsx workbook"):
        read_batch(write(tmp_path / "fake.xlsx", b"a,b\n"))


def test_header_less_file_takes_the_contract_names(tmp_path: Path) -> None:
    path = write(tmp_path / "x.txt", b"1|a\n2|b\n")
    frame = read_batch(path, delimiter="|", header=False, column_names=["n", "s"])
    assert frame.to_dicts() == [{"n": "1", "s": "a"}, {"n": "2", "s": "b"}]


def test_json_array_of_records(tmp_path: Path) -> None:
    path = write(tmp_path / "page.json", b'[{"id": "a", "qty": 1}, {"id": "b", "qty": null}]')
    expected = pl.DataFrame({"id": ["a", "b"], "qty": [1, None]})
    assert read_batch(path).equals(expected)


def _with_servers(path: Path, servers: list[dict]) -> Path:
    import json

    document = json.loads(path.read_text())
    document["servers"] = servers
    path.write_text(json.dumps(document))
    return path


def test_each_server_has_its_own_hints_and_server_keys_are_hints(tmp_path: Path) -> None:
    """`delimiter`/`encoding` on a local server (datacontract-cli's form) are accepted and read;
    a key the schema does not know is still an error."""
    from checks.contract import ContractError, load_contract
    from tests.gates.helpers import contract_file

    path = _with_servers(contract_file(tmp_path, [prop("a")]), [
        {"server": "one", "type": "local", "path": "a", "format": "csv"},
        {"server": "two", "type": "local", "path": "b/*.csv", "format": "csv", "delimiter": ";",
         "encoding": "latin-1",
         "customProperties": [{"property": "decimalSeparator", "value": ","}]}])
    loaded = load_contract(path)
    assert (format_hints(loaded)["delimiter"], format_hints(loaded)["encoding"]) == (",", "utf-8")
    second = format_hints(loaded, "two")
    assert (second["delimiter"], second["encoding"], second["decimal_separator"]) == (";", "latin-1", ",")
    _with_servers(path, [{"server": "one", "type": "local", "path": "a", "format": "csv", "delimeter": ";"}])
    with pytest.raises(ContractError, match="delimeter"):
        load_contract(path)


def test_glob_and_folder_of_files_are_one_batch(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    write(folder / "b.csv", b"store,units\ns2,7\n")
    write(folder / "a.csv", b"units,store\n5,s1\n")            # other column order: matched by name
    write(folder / ".hidden.csv", b"junk\n")
    for batch in (folder / "*.csv", folder, tmp_path / "**" / "*.csv"):
        frame = read_batch(batch)
        assert frame.select("store", "units").rows() == [("s1", "5"), ("s2", "7")], batch
    assert detect_format(folder) == "csv"


def test_files_of_one_batch_must_agree(tmp_path: Path) -> None:
    write(tmp_path / "a.csv", b"store,units\ns1,5\n")
    write(tmp_path / "b.csv", b"store\ns2\n")
    with pytest.raises(DataReadError, match=r"b.csv: its columns differ from those of a.csv "
                                            r"\(missing units\)"):
        read_batch(tmp_path)
    (tmp_path / "b.csv").unlink()
    write(tmp_path / "notes.txt", b"store,units\n")
    with pytest.raises(DataReadError, match="notes.txt: not a .csv file"):
        read_batch(tmp_path)


def test_ragged_line_in_the_second_file_of_a_glob_is_located(tmp_path: Path) -> None:
    write(tmp_path / "a.csv", b"store,units\ns1,5\n")
    write(tmp_path / "b.csv", b"store,units\ns2,7\ns3,8,9\n")
    with pytest.raises(DataReadError) as raised:
        read_batch(tmp_path / "*.csv")
    assert str(raised.value).startswith(f"{tmp_path / 'b.csv'}:3: a line has more fields")


def test_json_documents_beside_json_lines(tmp_path: Path) -> None:
    one = write(tmp_path / "one.json", b'{\n  "store": "s1",\n  "units": 5\n}\n')
    many = write(tmp_path / "many.json", b'[{"store": "s1", "units": 5}, {"store": "s2", "units": 7}]')
    lines = write(tmp_path / "lines.json", b'{"store": "s1", "units": 5}\n{"store": "s2", "units": 7}\n')
    single_line = write(tmp_path / "single.json", b'{"store": "s1", "units": 5}')
    assert read_batch(one).rows() == [("s1", 5)]
    assert read_batch(many).rows() == [("s1", 5), ("s2", 7)]
    assert read_batch(lines).rows() == [("s1", 5), ("s2", 7)]
    assert read_batch(single_line).rows() == [("s1", 5)]
