"""`--faults all`: every fault is injected where the report says, and shows the recorded effect."""

from __future__ import annotations

import re
from datetime import timedelta

import polars as pl
import pytest

from shelfguard.demo_data import FAULTS, FaultInjection, GenerationReport, generate, retailer_specs
from shelfguard.demo_data.faults import VARIANTS
from shelfguard.settings import DataHome
from tests.generator.readers import read_delivery, read_table

SPECS = retailer_specs()


def only(report: GenerationReport, fault: str, variant: str | None = None) -> FaultInjection:
    found = [i for i in report.injections_of(fault) if variant is None or i.variant == variant]
    assert found, f"{fault} not injected"
    return found[0]


def delivered_frame(home, report: GenerationReport, injection: FaultInjection) -> pl.DataFrame:
    spec = SPECS[injection.retailer]
    if spec.channel == "database":
        table = read_table(home, spec.code, injection.location.split("#")[1])
        obj = next(o for o in spec.objects if o.name == injection.object)
        date_columns = obj.columns_mapped_to("sale_date", "week_end_date")
        return table.filter(pl.col(date_columns[0].name) == injection.period) if date_columns else table
    delivery = next(d for d in report.deliveries if d.location == injection.location)
    return read_delivery(home, spec, delivery)


def test_every_fault_form_is_injected(faulty_run):
    _, report = faulty_run
    assert report.not_injected == {}
    assert report.faults_requested == list(FAULTS)
    assert {(i.fault, i.variant) for i in report.injections} == {(v.fault, v.name) for v in VARIANTS}
    for injection in report.injections:
        if injection.variant != "withheld":
            location = injection.second_location or injection.location
            faulty = [d for d in report.deliveries if d.location == location]
            assert any(injection.fault in d.faults for d in faulty), injection


def test_nulls_in_a_required_column(faulty_run):
    home, report = faulty_run
    injection = only(report, "nulls")
    frame = delivered_frame(home, report, injection)
    assert frame[injection.column].null_count() == injection.rows_affected >= 1


def test_invalid_codes_break_the_code_pattern(faulty_run):
    home, report = faulty_run
    injection = only(report, "invalid_codes")
    column = next(
        c for o in SPECS[injection.retailer].objects for c in o.columns if c.name == injection.column
    )
    values = delivered_frame(home, report, injection)[injection.column].drop_nulls().to_list()
    assert sum(not re.fullmatch(column.pattern, str(v)) for v in values) == injection.rows_affected >= 1


def test_negative_units_where_the_contract_forbids_them(faulty_run):
    home, report = faulty_run
    injection = only(report, "negative_units")
    column = next(
        c for o in SPECS[injection.retailer].objects for c in o.columns if c.name == injection.column
    )
    assert not re.fullmatch(column.pattern, "-1"), "target retailer rejects negative units"
    values = delivered_frame(home, report, injection)[injection.column].cast(pl.Float64)
    assert (values < 0).sum() == injection.rows_affected >= 1


def test_duplicate_keys(faulty_run):
    home, report = faulty_run
    injection = only(report, "duplicate_keys")
    obj = next(o for o in SPECS[injection.retailer].objects if o.name == injection.object)
    frame = delivered_frame(home, report, injection)
    assert (
        frame.height - frame.select(list(obj.duplicate_key)).unique().height == injection.rows_affected >= 1
    )


def test_missing_and_renamed_columns(faulty_run):
    home, report = faulty_run
    missing = only(report, "missing_column")
    assert missing.column not in delivered_frame(home, report, missing).columns
    renamed = only(report, "renamed_column")
    columns = delivered_frame(home, report, renamed).columns
    assert renamed.column not in columns and renamed.renamed_to in columns


def test_wrong_delimiter_gives_one_column(faulty_run):
    home, report = faulty_run
    injection = only(report, "wrong_delimiter")
    assert delivered_frame(home, report, injection).width == 1


def test_wrong_encoding_does_not_decode_as_the_contract_says(faulty_run):
    home, report = faulty_run
    injection = only(report, "wrong_encoding")
    spec = SPECS[injection.retailer]
    data = (home / injection.location).read_bytes()
    assert data[:2] == b"\xff\xfe"
    if spec.encoding.replace("-", "").lower() == "utf8":
        with pytest.raises(UnicodeDecodeError):
            data.decode(spec.encoding)
    first_line = data.decode(spec.encoding, errors="replace").splitlines()[0]
    assert first_line.split(spec.delimiter)[0] != SPECS[injection.retailer].objects[0].columns[0].name


def test_truncated_files(faulty_run):
    home, report = faulty_run
    text = only(report, "truncated_file", "text")
    data = (home / text.location).read_bytes()
    header = int(SPECS[text.retailer].format in ("csv", "text"))
    assert not data.endswith(b"\n") and data.count(b"\n") == text.rows_affected + header
    binary = only(report, "truncated_file", "binary")
    spec = SPECS[binary.retailer]
    delivery = next(d for d in report.deliveries if d.location == binary.location)
    with pytest.raises(Exception, match=r"(?i)parquet|zip|file|specification"):
        read_delivery(home, spec, delivery)


def test_empty_file(faulty_run):
    home, report = faulty_run
    injection = only(report, "empty_file")
    assert (home / injection.location).stat().st_size == 0


def test_redelivered_and_restated_files_share_the_period(faulty_run):
    home, report = faulty_run
    for fault in ("redelivered_file", "restated_file"):
        injection = only(report, fault)
        obj = next(o for o in SPECS[injection.retailer].objects if o.name == injection.object)
        first, second = home / injection.location, home / injection.second_location
        assert first != second and first.parent == second.parent
        assert obj.period_pattern.fullmatch(first.name).group("period") == obj.period_pattern.fullmatch(
            second.name
        ).group("period")
        assert second.stat().st_mtime > first.stat().st_mtime
        same = first.read_bytes() == second.read_bytes()
        assert same is (fault == "redelivered_file")
    restated = only(report, "restated_file")
    spec = SPECS[restated.retailer]
    by_location = {d.location: d for d in report.deliveries}
    before = read_delivery(home, spec, by_location[restated.location])
    after = read_delivery(home, spec, by_location[restated.second_location])
    units = next(o for o in spec.objects if o.name == restated.object).columns_mapped_to("units_sold")[0].name
    assert (before[units] != after[units]).sum() == restated.rows_affected >= 1


def test_late_delivery_withheld_and_arrived_late(faulty_run):
    home, report = faulty_run
    withheld = report.injections_of("late_delivery")
    missing = [i for i in withheld if i.variant == "withheld"]
    assert missing and all(not (home / i.location).exists() for i in missing)
    code = missing[0].retailer
    assert max(d.period for d in report.deliveries_of(code)) < missing[0].period
    late = [i for i in withheld if i.variant == "arrived_late"]
    for injection in late:
        delivery = next(d for d in report.deliveries if d.location == injection.location)
        assert delivery.delivered_at - delivery.due_by == timedelta(hours=3)
        assert (home / injection.location).stat().st_mtime == delivery.delivered_at.timestamp()


def test_a_single_fault_goes_to_the_same_retailer_as_with_all(faulty_run, tmp_path):
    _, report = faulty_run
    alone = generate(DataHome(tmp_path), faults=["negative_units"])
    assert [(i.retailer, i.object, i.column) for i in alone.injections] == [
        (i.retailer, i.object, i.column) for i in report.injections_of("negative_units")
    ]
