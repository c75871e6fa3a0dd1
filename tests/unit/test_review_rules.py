"""Abnormal-session rules, table-tested with figures worked out by hand."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from chargepoints.rules.review import (
    ReasonCode,
    SessionFacts,
    review,
    started_offline,
    stop_missing,
    unknown_token,
    unknown_transaction,
)

T0 = datetime(2026, 11, 24, 10, tzinfo=UTC)
HOUR = timedelta(hours=1)
NORMAL = SessionFacts(
    started_at=T0,
    ended_at=T0 + HOUR,
    meter_start_wh=1_000,
    meter_stop_wh=8_000,
    register=((T0 + HOUR / 2, 4_500),),
    max_power_w=7_400,
)


def codes(facts: SessionFacts) -> list[ReasonCode]:
    return [reason.code for reason in review(facts)]


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        (NORMAL, []),
        # 0 Wh for an hour; the same within two minutes is an aborted plug-in.
        (replace(NORMAL, meter_stop_wh=1_000, register=()), [ReasonCode.NO_ENERGY]),
        (replace(NORMAL, ended_at=T0 + timedelta(minutes=2), meter_stop_wh=1_000, register=()), []),
        (
            replace(NORMAL, ended_at=T0 + timedelta(minutes=2, seconds=1), meter_stop_wh=1_000, register=()),
            [ReasonCode.NO_ENERGY],
        ),
        # 7.4 kW * 1 h * 1.1 = 8,140 Wh is the most; 8,140 passes, 8,141 does not.
        (replace(NORMAL, meter_stop_wh=9_140, register=()), []),
        (replace(NORMAL, meter_stop_wh=9_141, register=()), [ReasonCode.EXCESS_ENERGY]),
        (replace(NORMAL, meter_stop_wh=90_000, max_power_w=None), []),
        # A sample below an earlier one, or a stop below the start.
        (
            replace(NORMAL, register=((T0 + HOUR / 3, 5_000), (T0 + HOUR / 2, 4_900))),
            [ReasonCode.METER_BACKWARDS],
        ),
        (
            replace(NORMAL, register=((T0 + HOUR / 2, 4_900), (T0 + HOUR / 3, 5_000))),
            [ReasonCode.METER_BACKWARDS],
        ),
        (replace(NORMAL, register=((T0 + HOUR / 2, 900),)), [ReasonCode.METER_BACKWARDS]),
        (replace(NORMAL, meter_stop_wh=500, register=()), [ReasonCode.METER_BACKWARDS]),
        (
            replace(NORMAL, started_at=None, ended_at=None, meter_stop_wh=500, register=()),
            [ReasonCode.METER_BACKWARDS],
        ),
        # Offline start at 0 with a lifetime register at the stop: named instead of excess energy.
        (
            replace(NORMAL, offline=True, meter_start_wh=0, meter_stop_wh=4_200_000, register=()),
            [ReasonCode.OFFLINE_BASELINE],
        ),
        # Without a rating the ceiling is 350 kW: 1 h * 385 kWh with the margin.
        (
            replace(
                NORMAL, offline=True, meter_start_wh=0, meter_stop_wh=385_000, max_power_w=None, register=()
            ),
            [],
        ),
        (
            replace(
                NORMAL, offline=True, meter_start_wh=0, meter_stop_wh=385_001, max_power_w=None, register=()
            ),
            [ReasonCode.OFFLINE_BASELINE],
        ),
        # Online, the same figures are only too much energy for the EVSE.
        (replace(NORMAL, meter_start_wh=0, meter_stop_wh=4_200_000, register=()), [ReasonCode.EXCESS_ENERGY]),
        # Several at once come in a fixed order.
        (
            replace(NORMAL, meter_stop_wh=1_000, register=((T0 + HOUR / 2, 2_000),)),
            [
                ReasonCode.METER_BACKWARDS,
                ReasonCode.NO_ENERGY,
            ],
        ),
        # A running session is judged on what is known so far.
        (replace(NORMAL, ended_at=None), []),
    ],
)
def test_review(facts: SessionFacts, expected: list[ReasonCode]) -> None:
    assert codes(facts) == expected


def test_reasons_say_what_was_measured() -> None:
    (excess,) = review(replace(NORMAL, meter_stop_wh=43_000, register=()))
    assert (
        excess.text == "42,000 Wh in 1 h 00 min is more than the 7,400 W EVSE can deliver (8,140 Wh at most)"
    )
    (backwards,) = review(replace(NORMAL, register=((T0 + HOUR / 3, 5_000), (T0 + HOUR / 2, 4_900))))
    assert backwards.text == "meter ran backwards: 4,900 Wh at 2026-11-24T10:30:00Z after 5,000 Wh earlier"
    (empty,) = review(replace(NORMAL, ended_at=T0 + timedelta(minutes=45), meter_stop_wh=1_000, register=()))
    assert empty.text == "no energy delivered in 45 min"
    (baseline,) = review(
        replace(NORMAL, offline=True, meter_start_wh=0, meter_stop_wh=4_200_000, register=())
    )
    assert "4,200,000 Wh is more than 8,140 Wh possible in 1 h 00 min" in baseline.text


def test_start_reasons() -> None:
    assert unknown_token("Blocked").code is ReasonCode.UNKNOWN_TOKEN
    assert unknown_token("Blocked").text == "started with Blocked token"
    assert unknown_transaction(424242).code is ReasonCode.UNKNOWN_TRANSACTION
    assert "424242" in unknown_transaction(424242).text


def test_stop_missing_after_the_limit_only() -> None:
    limit = timedelta(hours=24)
    assert stop_missing(T0, T0 + limit, limit) is None
    reason = stop_missing(T0, T0 + limit + timedelta(hours=6), limit)
    assert reason is not None and reason.code is ReasonCode.STOP_MISSING
    assert (
        reason.text == "no stop received: nothing heard since 2026-11-24T10:00:00Z (30 h, limit 24 h 00 min)"
    )


def test_a_late_start_was_queued_offline() -> None:
    assert not started_offline(T0, T0 + timedelta(minutes=10))
    assert started_offline(T0, T0 + timedelta(minutes=10, seconds=1))
