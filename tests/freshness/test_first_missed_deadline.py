"""Lateness counts from the first deadline the newest delivery missed, not from the latest one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from checks.sla import DeliveryStatus, Sla, evaluate


def test_a_retailer_silent_for_months_is_late_since_its_first_missed_deadline():
    sla = Sla(kind="freshness", value=1, unit="d", window=timedelta(days=1), schedule="0 6 * * *",
              timezone="UTC", cadence="daily")
    last = datetime(2025, 4, 6, 5, 0, tzinfo=UTC)  # meets 2025-04-06 06:00, not 2025-04-07 06:00
    now = datetime(2026, 12, 7, 14, 33, tzinfo=UTC)
    evaluation = evaluate(sla, last, now)
    assert evaluation.status is DeliveryStatus.LATE
    assert evaluation.expected_by == datetime(2025, 4, 7, 6, 0, tzinfo=UTC)
    assert evaluation.lateness_seconds == (now - evaluation.expected_by).total_seconds() > 600 * 86400
    on_time = evaluate(sla, last, datetime(2025, 4, 7, 5, 0, tzinfo=UTC))
    assert on_time.status is DeliveryStatus.ON_TIME
    late = evaluate(sla, last, datetime(2025, 4, 7, 8, 0, tzinfo=UTC))
    assert late.lateness_seconds == 2 * 3600
