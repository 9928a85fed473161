"""The generic pieces: JDK date formats, values from patterns, file names from patterns, periods."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal

import pytest

from checks.formats import jdk_to_strftime
from shelfguard.demo_data.naming import alternate_name, file_name
from shelfguard.demo_data.patterns import gs1_check_digit, sequence_from_pattern
from shelfguard.demo_data.periods import periods
from shelfguard.demo_data.render import retailer_rows
from shelfguard.demo_data.spec import ColumnSpec, ObjectSpec


@pytest.mark.parametrize(
    ("jdk", "expected", "text"),
    [
        ("dd.MM.yyyy", "%d.%m.%Y", "24.03.2025"),
        ("MM/dd/yyyy", "%m/%d/%Y", "03/24/2025"),
        ("yyyy-MM-dd HH:mm:ss", "%Y-%m-%d %H:%M:%S", "2025-03-24 07:05:09"),
        ("yyyy-MM-dd'T'HH:mm:ss", "%Y-%m-%dT%H:%M:%S", "2025-03-24T07:05:09"),
        ("yyyyMMdd", "%Y%m%d", "20250324"),
        ("dd/MM/yyyy HH:mm", "%d/%m/%Y %H:%M", "24/03/2025 07:05"),
        ("'day' d 'of' M, ''yyyy", "day %-d of %-m, '%Y", "day 24 of 3, '2025"),
        ("dd MMM yyyy hh:mm a", "%d %b %Y %I:%M %p", "24 Mar 2025 07:05 AM"),
    ],
)
def test_jdk_patterns_become_strftime(jdk, expected, text):
    assert jdk_to_strftime(jdk) == expected
    assert datetime(2025, 3, 24, 7, 5, 9).strftime(expected) == text


def test_unsupported_jdk_letters_are_named():
    """One translation for the generator, the readers and the gates (checks.formats): letters the
    parsers disagree on are refused everywhere; a fraction the generator cannot write is named."""
    for pattern, letters in (("dd.MM.yy", "'yy'"), ("EEE dd.MM.yyyy", "'EEE'"), ("h:mm a", "'h'")):
        with pytest.raises(ValueError, match=letters):
            jdk_to_strftime(pattern)
    with pytest.raises(ValueError, match="cannot be written"):
        jdk_to_strftime("HH:mm:ss.SSS")


@pytest.mark.parametrize(
    ("pattern", "number", "expected"),
    [
        ("KB[0-9]{3}", 7, "KB007"),
        ("T\\d{4}", 101, "T0101"),
        ("S[0-9]{7}", 1001, "S0001001"),
        ("[0-9]{8}|[0-9]{13}", 5, "00000005"),
        ("-?[0-9]+", 123, "123"),
        ("779[0-9]{10}", 1, "7790000000001"),
    ],
)
def test_sequence_from_pattern(pattern, number, expected):
    assert sequence_from_pattern(pattern, number) == expected
    assert re.fullmatch(pattern, expected)


def test_sequence_that_does_not_fit_is_an_error():
    with pytest.raises(ValueError):
        sequence_from_pattern("KB[0-9]{3}", 1000)


def test_gs1_check_digit():
    assert gs1_check_digit("400638133393") == "1"
    assert gs1_check_digit("03600029145") == "2"


def file_object(glob: str, regex: str | None) -> ObjectSpec:
    return ObjectSpec(
        name="o",
        index=0,
        physical_name="o",
        columns=(),
        grain="daily",
        refresh="incremental",
        file_pattern=glob,
        period_pattern=re.compile(regex) if regex else None,
        endpoint=None,
        watermark=None,
        duplicate_key=(),
    )


def test_file_names_follow_glob_and_period_pattern():
    day, week, month = (
        periods(cadence, date(2025, 3, 24), date(2025, 4, 6))[0] for cadence in ("daily", "weekly", "monthly")
    )
    assert (
        file_name(file_object("nwg_pos_*.csv", r"nwg_pos_(?P<period>\d{8})(_v\d+)?\.csv"), day, None)
        == "nwg_pos_20250324.csv"
    )
    assert (
        file_name(file_object("w_*.csv", r"w_(?P<period>\d{4}-\d{2}-\d{2})\.csv"), week, None)
        == "w_2025-03-30.csv"
    )
    assert file_name(file_object("h_*.jsonl", r"h_(?P<period>\d{6})\.jsonl"), month, None) == "h_202503.jsonl"
    assert (
        file_name(file_object("v_*_*.parquet", r"v_(?P<period>[a-z]+_\d{8})\.parquet"), day, "Île-de-France")
        == "v_iledefrance_20250324.parquet"
    )
    assert file_name(file_object("s_*.txt", None), day, None) == "s_20250324.txt"
    with pytest.raises(ValueError, match="no file name"):
        file_name(file_object("x_*.csv", r"x_(?P<period>[A-Z]{3})\.csv"), day, None)


def test_alternate_names_keep_the_period():
    versioned = file_object("nwg_pos_*.csv", r"nwg_pos_(?P<period>\d{8})(_v\d+)?\.csv")
    assert alternate_name(versioned, "nwg_pos_20250324.csv", 2) == "nwg_pos_20250324_v2.csv"
    assert alternate_name(file_object("s_*.txt", None), "s_20250324.txt", 2) is None
    assert alternate_name(file_object("a_*.csv", r"a_(?P<period>\d{8})\.csv"), "a_20250324.csv", 2) is None


def test_periods_are_clipped_to_the_range():
    weeks = periods("weekly", date(2025, 3, 26), date(2025, 4, 6))
    assert [w.label for w in weeks] == ["2025-W13", "2025-W14"]
    assert weeks[0].dates[0] == date(2025, 3, 26) and weeks[0].anchor == date(2025, 3, 30)
    months = periods("monthly", date(2025, 3, 24), date(2025, 4, 6))
    assert [(m.label, len(m.dates)) for m in months] == [("2025-03", 8), ("2025-04", 6)]


def column(name: str, logical_type: str = "string", canonical: tuple[str, ...] = (), **options) -> ColumnSpec:
    fields = {
        "physical_type": "",
        "required": False,
        "transform": None,
        "strftime": None,
        "pattern": None,
        "valid_values": None,
    }
    return ColumnSpec(name=name, logical_type=logical_type, canonical=canonical, **{**fields, **options})


def test_columns_render_canonical_values_inverse_transforms_and_extras():
    columns = (
        column("day", "date", ("daily_store_fact.sale_date",), strftime="%d.%m.%Y"),
        column("cents", "integer", ("daily_store_fact.net_sales",), transform="cents_to_units"),
        column("returns", "integer", ("daily_store_fact.units_sold",), transform="negate"),
        column("stamp", "timestamp", ("prod_dim.updated_at", "daily_store_fact.updated_at")),
        column("lane", valid_values=("A", "B")),
        column("code", pattern="Z[0-9]{2}"),
        column("weight", "number"),
    )
    obj = ObjectSpec(
        name="o",
        index=0,
        physical_name="o",
        columns=columns,
        grain="daily",
        refresh="incremental",
        file_pattern=None,
        period_pattern=None,
        endpoint=None,
        watermark=None,
        duplicate_key=(),
    )
    canonical = {
        "daily_store_fact.sale_date": date(2025, 3, 24),
        "daily_store_fact.net_sales": Decimal("12.34"),
        "daily_store_fact.units_sold": 3,
        "prod_dim.updated_at": datetime(2025, 1, 1),
        "daily_store_fact.updated_at": datetime(2025, 3, 25, 5, 30),
    }
    first, second = retailer_rows(obj, [canonical, canonical])
    assert first == {
        "day": "24.03.2025",
        "cents": 1234,
        "returns": -3,
        "stamp": datetime(2025, 3, 25, 5, 30),
        "lane": "A",
        "code": "Z01",
        "weight": Decimal(0),
    }
    assert (second["lane"], second["code"]) == ("B", "Z02")
