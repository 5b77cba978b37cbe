"""V2G windows: when discharge is allowed, in the site's local time.

A recurring window is a set of weekdays (Monday = 0) and a local start and end time; an end at or
before the start crosses midnight and belongs to the weekday it starts on (Fri 22:00-02:00 allows
Saturday 01:00). A one-off window covers local dates `date_from`..`date_to` inclusive, between the
same start and end times each day (or all day when start and end are both 00:00). Local times are
resolved in the site's time zone, so a window keeps its clock times across a daylight-saving change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Window:
    """One V2G window, as stored (see core.models.V2GWindow)."""

    start_time: str  # HH:MM local
    end_time: str
    weekdays: str = "0123456"
    date_from: date | None = None
    date_to: date | None = None

    @property
    def one_off(self) -> bool:
        return self.date_from is not None


def _clock(value: str) -> time:
    return datetime.strptime(value, "%H:%M").time()


def _day_allowed(window: Window, day: date) -> bool:
    if window.one_off:
        last = window.date_to or window.date_from
        return window.date_from <= day <= last
    return str(day.weekday()) in window.weekdays


def contains(window: Window, at: datetime, timezone: str) -> bool:
    """True when the instant `at` (aware) lies inside `window`, read in `timezone`."""
    local = at.astimezone(ZoneInfo(timezone))
    start, end = _clock(window.start_time), _clock(window.end_time)
    now_t = local.time().replace(tzinfo=None)
    today, yesterday = local.date(), local.date() - timedelta(days=1)
    if window.one_off and start == end == time(0):
        return _day_allowed(window, today)
    if start < end:
        return _day_allowed(window, today) and start <= now_t < end
    # Crosses midnight: the evening part belongs to today, the early-morning part to yesterday.
    return (_day_allowed(window, today) and now_t >= start) or (_day_allowed(window, yesterday) and now_t < end)


def allowed_steps(
    windows: list[Window], *, start: datetime, steps: int, step_minutes: int, timezone: str
) -> list[bool]:
    """For each step of a horizon, whether any window allows discharge over the step's middle."""
    half = timedelta(minutes=step_minutes / 2)
    return [
        any(contains(w, start + timedelta(minutes=step_minutes * k) + half, timezone) for w in windows)
        for k in range(steps)
    ]


def step_ranges(flags: list[bool]) -> list[list[int]]:
    """[[start_step, end_step], ...] of the runs of True in `flags` (the scenario format's v2g_windows)."""
    ranges, begin = [], None
    for k, flag in enumerate([*flags, False]):
        if flag and begin is None:
            begin = k
        elif not flag and begin is not None:
            ranges.append([begin, k])
            begin = None
    return ranges
