"""The live cost kept reading by reading agrees with pricing the whole session at once."""

from decimal import Decimal
from zoneinfo import ZoneInfo

from tariffs.model import Interval, Reading, SessionUsage
from tariffs.pricing import RunningCost, price
from tests.unit.tariffs import a_tariff, at, band, half_hours, readings

SHANGHAI = ZoneInfo("Asia/Shanghai")
TWO_BANDS = a_tariff(
    band("valley", "00:00", "11:00", "0.30", "0.20"),
    band("peak", "11:00", "24:00", "1.00", "0.50"),
    time_fee_per_minute=Decimal("0.01"),
    session_fee=Decimal("1"),
    tax_rate=Decimal("0.13"),
)


def test_running_cost_matches_the_whole_session_priced_at_once() -> None:
    points = readings(
        SHANGHAI, ("2026-11-24 10:30", 1000), ("2026-11-24 10:50", 4000), ("2026-11-24 11:30", 9000)
    )
    running = RunningCost(TWO_BANDS, SHANGHAI, points[0].at)
    for point in points:
        running.add(point)

    live = running.price(points[-1].at)

    whole = price(
        TWO_BANDS,
        SessionUsage(points[0].at, points[-1].at, points, (Interval(points[0].at, points[-1].at),)),
        SHANGHAI,
    )
    assert live == whole
    # valley: 3 kWh, plus 10 of the 40 minutes of the 5 kWh step across 11:00; peak: the rest
    valley, peak = Decimal("4.25"), Decimal("3.75")
    assert live.subtotal == valley * Decimal("0.50") + peak * Decimal("1.50") + Decimal("0.60") + 1


def test_a_late_reading_is_left_to_the_record() -> None:
    start = at(SHANGHAI, "2026-11-24 10:00")
    running = RunningCost(a_tariff(*half_hours()), SHANGHAI, start)
    running.add(Reading(start, 0))
    running.add(Reading(at(SHANGHAI, "2026-11-24 10:20"), 2000))
    before = running.price(at(SHANGHAI, "2026-11-24 10:20"))

    running.add(Reading(at(SHANGHAI, "2026-11-24 10:10"), 1000))

    assert running.price(at(SHANGHAI, "2026-11-24 10:20")) == before
    assert before.total > 0
