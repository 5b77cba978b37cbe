"""V2G window logic in the site's time zone: recurring, across midnight, one-off, overlap, DST."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from core.windows import Window, allowed_steps, contains, step_ranges

AMS = "Europe/Amsterdam"


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(AMS))


WEEKDAY_EVENING = Window("17:00", "21:00", weekdays="01234")
FRIDAY_NIGHT = Window("22:00", "02:00", weekdays="4")  # crosses midnight into Saturday
ONE_OFF_DAYS = Window("00:00", "00:00", weekdays="", date_from=date(2026, 12, 24), date_to=date(2026, 12, 26))
ONE_OFF_EVENING = Window("18:00", "20:00", weekdays="", date_from=date(2026, 12, 31))

# (window, local time, inside?) — 2026-11-27 is a Friday.
CASES = [
    (WEEKDAY_EVENING, "2026-11-27 17:00", True),  # start is inclusive
    (WEEKDAY_EVENING, "2026-11-27 20:59", True),
    (WEEKDAY_EVENING, "2026-11-27 21:00", False),  # end is exclusive
    (WEEKDAY_EVENING, "2026-11-28 18:00", False),  # Saturday
    (FRIDAY_NIGHT, "2026-11-27 23:30", True),
    (FRIDAY_NIGHT, "2026-11-28 01:59", True),  # Saturday morning belongs to Friday's window
    (FRIDAY_NIGHT, "2026-11-28 02:00", False),
    (FRIDAY_NIGHT, "2026-11-27 01:00", False),  # Friday early morning belongs to Thursday: not allowed
    (FRIDAY_NIGHT, "2026-11-28 23:00", False),  # Saturday evening
    (ONE_OFF_DAYS, "2026-12-24 00:00", True),
    (ONE_OFF_DAYS, "2026-12-26 23:59", True),
    (ONE_OFF_DAYS, "2026-12-27 00:00", False),
    (ONE_OFF_EVENING, "2026-12-31 19:00", True),
    (ONE_OFF_EVENING, "2026-12-30 19:00", False),
]


@pytest.mark.parametrize(("window", "at", "inside"), CASES)
def test_window_contains(window, at, inside):
    assert contains(window, local(at), AMS) is inside


def test_window_keeps_local_clock_times_across_dst_change():
    # 2026-03-29: clocks go 02:00 -> 03:00 in Amsterdam (UTC+1 -> UTC+2). 17:00 local is 16:00 UTC
    # the day before and 15:00 UTC on the day itself.
    window = Window("17:00", "21:00", weekdays="0123456")
    assert contains(window, datetime.fromisoformat("2026-03-28T16:00:00+00:00"), AMS)
    assert contains(window, datetime.fromisoformat("2026-03-29T15:00:00+00:00"), AMS)
    assert not contains(window, datetime.fromisoformat("2026-03-29T14:59:00+00:00"), AMS)


def test_horizon_steps_over_dst_day_have_the_right_count():
    # Night window 22:00-06:00 over the spring-forward night: the local night is one hour shorter,
    # so 7 hours = 28 quarter-hour steps are allowed, not 32.
    window = Window("22:00", "06:00")
    start = datetime.fromisoformat("2026-03-28T12:00:00+00:00")
    flags = allowed_steps([window], start=start, steps=96, step_minutes=15, timezone=AMS)
    assert sum(flags) == 28


def test_overlapping_windows_union():
    a, b = Window("17:00", "19:00"), Window("18:00", "21:00")
    start = local("2026-11-27 16:00")
    flags = allowed_steps([a, b], start=start, steps=24, step_minutes=15, timezone=AMS)
    # 17:00-21:00 local is steps 4..19 from 16:00.
    assert step_ranges(flags) == [[4, 20]]


def test_no_window_allows_nothing():
    assert allowed_steps([], start=local("2026-11-27 16:00"), steps=8, step_minutes=15, timezone=AMS) == [False] * 8


def test_step_ranges_of_runs():
    assert step_ranges([False, True, True, False, True]) == [[1, 3], [4, 5]]
    assert step_ranges([]) == []
